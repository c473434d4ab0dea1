#!/usr/bin/env python3
"""The cause fixtures (testdata/fixtures/cause-*.tar.gz, made on real etcd
by tests/live/make_cause_fixtures.py) against etcd's own answers:

- every tarball unpacked (tests/unpack-fixtures.sh) into cause-<name>/ with
  a truth.json naming its cause, its etcd version and its member dirs;
- every member dir read by `dump-db status` and `dump-wal --verify` with the
  exit truth.json expects (0, or the damage exit where the case damaged it);
- for every member etcd answered about (and that was not damaged): dump-db's
  revision and live key count equal etcd's (endpoint status / get
  --consistency=s), and dump-db's HashKV equals `endpoint hashkv` at every
  revision etcd was asked (0: the member's head); the WAL's metadata names
  the member id and cluster id etcd reported.

This checks the fixtures, not an analysis: a fixture whose files do not say
what etcd said fails here.

usage: cause_fixtures.py DUMP_WAL DUMP_DB FIXTURES_DIR TESTDATA_DIR
"""
import json
import subprocess
import sys
from pathlib import Path

DUMP_WAL, DUMP_DB, FX, TD = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
failures = []
checked = 0


def check(cond, what):
    global checked
    checked += 1
    if not cond:
        failures.append(what)
    return cond


def run(*argv):
    return subprocess.run([*map(str, argv)], capture_output=True, text=True, errors="replace", timeout=300)


def db_json(*args):
    p = run(DUMP_DB, "-o", "json", *args)
    try:
        return p.returncode, json.loads(p.stdout) if p.stdout.strip() else None, p.stderr
    except ValueError:
        return p.returncode, None, p.stderr


def hexint(x):
    try:
        return int(x, 16)
    except (TypeError, ValueError):
        return x


def e_ids(m):
    e = m.get("etcd") or {}
    return "member_id" in e and "cluster_id" in e


def check_member(case, root, name, m):
    d = root / m["dir"]
    where = f"{case}/{m['dir']}"
    if not check(d.is_dir(), f"{where}: member dir missing"):
        return
    expect = m.get("expect", {})
    rc, st, err = db_json("status", d)
    want = expect.get("dump_db_status", 0)
    check(rc in (want if isinstance(want, list) else [want]),
          f"{where}: dump-db status exit {rc}, want {expect.get('dump_db_status', 0)}: {err.strip()[:300]}")
    p = run(DUMP_WAL, "--verify", d)
    check(p.returncode == expect.get("dump_wal_verify", 0),
          f"{where}: dump-wal --verify exit {p.returncode}, want {expect.get('dump_wal_verify', 0)}: "
          f"{(p.stderr or p.stdout).strip()[-300:]}")
    if p.returncode == 0 and e_ids(m):
        # the member's own id and its cluster's, from the WAL's metadata record
        q = run(DUMP_WAL, "--summary", "-o", "json", d)
        try:
            meta = json.loads(q.stdout).get("metadata") or {}
        except ValueError:
            meta = {}
        for k, ek in (("node_id", "member_id"), ("cluster_id", "cluster_id")):
            # compared as numbers: the rendering of ids (leading zeros) is issue 14's
            check(hexint(meta.get(k)) == hexint(m["etcd"][ek]),
                  f"{where}: WAL metadata {k} {meta.get(k)}, etcd said {ek} {m['etcd'][ek]}")
    if "dump_db_check" in expect:
        p = run(DUMP_DB, "check", d)
        check(p.returncode == expect["dump_db_check"],
              f"{where}: dump-db check exit {p.returncode}, want {expect['dump_db_check']}")
    e = m.get("etcd")
    if not e or m.get("damaged") or st is None:
        return
    if "revision" in e:
        check(st.get("revision") == e["revision"],
              f"{where}: dump-db revision {st.get('revision')}, etcd said {e['revision']} ({e['source']})")
    if "keys" in e:
        live = (st.get("keys") or {}).get("live")
        check(live == e["keys"], f"{where}: dump-db live keys {live}, etcd get said {e['keys']} ({e['source']})")
    for rev, h in e.get("hashkv", {}).items():
        if "hash" not in h:
            continue  # etcd refused that revision; its words are in the answers
        args = ["hashkv", d] if rev == "0" else ["hashkv", "--rev", rev, d]
        rc, hk, err = db_json(*args)
        if not check(rc == 0 and hk, f"{where}: dump-db hashkv --rev {rev}: exit {rc}: {err.strip()[:200]}"):
            continue
        check(hk["hash"] == h["hash"],
              f"{where}: dump-db hashkv at {rev}: {hk['hash']}, etcd said {h['hash']} ({e['source']})")
        check(hk["compact_revision"] == h["compact_revision"],
              f"{where}: dump-db hashkv at {rev}: compact_revision {hk['compact_revision']}, "
              f"etcd said {h['compact_revision']}")


def main():
    tars = sorted((TD / "fixtures").glob("cause-*.tar.gz"))
    check(tars, "no testdata/fixtures/cause-*.tar.gz")
    for t in tars:
        case = t.name[:-len(".tar.gz")]
        root = FX / case
        tf = root / "truth.json"
        if not check(tf.is_file(), f"{case}: not unpacked (no {tf}); is it in tests/meson.build?"):
            continue
        truth = json.loads(tf.read_text())
        check(truth.get("case") and truth.get("cause") and truth.get("etcd_version"),
              f"{case}: truth.json lacks case/cause/etcd_version")
        check(truth.get("members"), f"{case}: truth.json names no member dir")
        for name, m in truth.get("members", {}).items():
            check_member(case, root, name, m)
        for a in truth.get("affected", []):
            check(a.get("member") in {m["dir"] for m in truth["members"].values()} or
                  a.get("member") in truth["members"], f"{case}: affected member {a.get('member')} not a member dir")
        print(f"{case}: {len(truth.get('members', {}))} member dirs, etcd {truth.get('etcd_version')}")
    print(f"{checked} checks, {len(failures)} failed")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
