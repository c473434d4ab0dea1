#!/usr/bin/env python3
"""diff-db --report: the HTML incident report, rendered by headless Chromium.

For the bundled incident (incident-authskew), a healthy cluster (healthy),
two lag-only cases (stale-member: a member stopped while writes went on;
evidence/copies: `cp -a` of members under load), and lost writes
(cause-lost-writes, a real 3.5.2 cluster), each a real etcd's files:
- one run of `diff-db -o json --report R.html` gives the JSON and the page
  from the same analysis; its JSON must equal a run without --report;
- `tidy -errors -q` finds no error or warning in the page; it is < 2 MB and
  names no outside resource (no src= or href=);
- Chromium (Debian's, headless, a private profile in a temp dir, every host
  name unresolvable) lays the page out: --dump-dom gives the DOM after the
  script ran, --screenshot a PNG kept under the build dir (meson-logs/
  report-screenshots, CI artefacts). The PNG is not one colour, its
  background light; with the dark scheme the background is dark; printed
  (--print-to-pdf), every page is A4;
- the script ran under the page's Content-Security-Policy (its hash is
  right): it un-hides the "expand all" button;
- the SVG timeline has one lane per member, in order; the refused marks of a
  member count each entry the JSON says it refused (distinct WAL indexes of
  divergent_keys[].wal[] with fate rejected_auth_revision), the not-yet
  marks each entry it has not applied, a missing mark sits at a lost_writes
  verdict's first divergent index; the first divergent entry of each member
  equals its verdicts' first_divergent_index; the numbers in the page (divergent
  keys, keys present per member, each member's first divergent entry,
  consistent_index and revision per member) equal the JSON's;
- the inputs table's SHA-256 of every file equals hashlib's of that file;
- where the replicas diverged, the recovery commands carry the real member
  ids (the JSON's member_id).

usage: report.py DIFF_DB FIXTURES_DIR SCREENSHOT_DIR
"""
import base64
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from html.parser import HTMLParser
from pathlib import Path

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


class Dom(HTMLParser):
    """Every element with its attributes and its text (enough for data-
    attributes and a few texts; no tree needed)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.els, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "a": dict(attrs), "text": ""}
        self.els.append(el)
        if tag not in ("meta", "link", "br", "input", "img", "line", "path", "rect", "circle", "polyline"):
            self.stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self.els.append({"tag": tag, "a": dict(attrs), "text": ""})

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        for el in self.stack:
            el["text"] += data

    def find(self, tag=None, cls=None, **attrs):
        out = []
        for el in self.els:
            if tag and el["tag"] != tag:
                continue
            if cls and cls not in (el["a"].get("class") or "").split():
                continue
            if all(el["a"].get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(el)
        return out


def png_colours(path, limit=4):
    """Distinct pixel values of an 8-bit RGB(A) PNG (Chromium's), up to
    limit, and the top-left pixel (the page background)."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), f"PNG type {ctype}/{depth}"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    seen = set()
    corner = None
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        if corner is None:
            corner = tuple(line[:3])
        if y % 7 == 0:   # a sample of rows is plenty to tell blank from drawn
            for x in range(0, w, 3):
                seen.add(bytes(line[x * bpp:x * bpp + 3]))
            if len(seen) >= limit:
                break
    return len(seen), corner


def chromium(html, png, profile, dark_png=None, pdf=None):
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1200,2400", "--hide-scrollbars"]
    url = Path(html).resolve().as_uri()
    dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    shot = subprocess.run(base + [f"--screenshot={png}", url], capture_output=True, text=True, timeout=120)
    # the reader's dark scheme (blink's PreferredColorScheme: 0 is dark), and print
    subprocess.run(base + ["--blink-settings=preferredColorScheme=0", f"--screenshot={dark_png}", url],
                   capture_output=True, text=True, timeout=120)
    subprocess.run(base + ["--no-pdf-header-footer", f"--print-to-pdf={pdf}", url],
                   capture_output=True, text=True, timeout=120)
    return dom, shot


def b64text(v):
    return base64.b64decode(v["base64"]).decode(errors="replace") if isinstance(v, dict) else v


def expected(d):
    """What the page must show, from the JSON alone."""
    names = [n["name"] for n in d["nodes"]]
    refused = {n: set() for n in names}
    notyet = {n: set() for n in names}
    first = {n: 0 for n in names}
    for k in d["divergent_keys"]:
        for w in k["wal"]:
            some_applied = "applied" in w["fate"].values()
            for n, f in w["fate"].items():
                if f == "rejected_auth_revision":
                    refused[n].add(w["index"])
                elif f == "not_yet_applied":
                    notyet[n].add(w["index"])
                else:
                    continue
                if some_applied and (not first[n] or w["index"] < first[n]):
                    first[n] = w["index"]
    # the member's own WAL check: entries its consistent_index covers that
    # left no revision, or whose effect repeats (the verdicts name the first)
    for v in d.get("verdicts", []):
        n, f = v.get("member"), v.get("first_divergent_index")
        if v["kind"] in ("lost_writes", "applied_twice") and n in first and f and (not first[n] or f < first[n]):
            first[n] = f
    present = {n: sum(1 for k in d["divergent_keys"] if k["present"][n]) for n in names}
    return names, refused, notyet, first, present


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def one(diff_db, name, nodes, outdir, tmp, extra=()):
    html = tmp / f"{name}.html"
    p = subprocess.run([diff_db, "-o", "json", *extra, "--report", str(html), *map(str, nodes)],
                       capture_output=True, text=True, timeout=300)
    plain = subprocess.run([diff_db, "-o", "json", *extra, *map(str, nodes)], capture_output=True, text=True,
                           timeout=300)
    if not check(p.returncode in (0, 1) and html.exists(), f"{name}: diff-db --report exit {p.returncode}: {p.stderr}"):
        return
    check(p.stdout == plain.stdout, f"{name}: --report changed the JSON output")
    d = json.loads(p.stdout)
    size = html.stat().st_size
    check(size < 2_000_000, f"{name}: report is {size} bytes")
    page = html.read_text()
    check(" src=" not in page and " href=" not in page, f"{name}: the page refers to an outside resource")
    t = subprocess.run(["tidy", "-errors", "-q", str(html)], capture_output=True, text=True, timeout=60)
    check(t.returncode == 0, f"{name}: tidy -errors: exit {t.returncode}: {t.stderr.strip()[:500]}")

    png, dark, pdf = outdir / f"{name}.png", outdir / f"{name}-dark.png", outdir / f"{name}.pdf"
    dom_run, shot = chromium(html, png, tmp / f"profile-{name}", dark, pdf)
    if not check(dom_run.returncode == 0 and "<svg" in dom_run.stdout,
                 f"{name}: chromium --dump-dom: exit {dom_run.returncode}: {dom_run.stderr[-500:]}"):
        return
    (outdir / f"{name}.dom.html").write_text(dom_run.stdout)
    shutil.copy(html, outdir / f"{name}.html")
    if check(shot.returncode == 0 and png.exists(), f"{name}: chromium --screenshot: exit {shot.returncode}: {shot.stderr[-500:]}"):
        n, corner = png_colours(png)
        check(n >= 3, f"{name}: the screenshot is blank (fewer than 3 colours)")
        check(min(corner) > 200, f"{name}: light scheme background {corner}")
    if check(dark.exists(), f"{name}: no dark-scheme screenshot"):
        n, corner = png_colours(dark)
        check(n >= 3 and max(corner) < 60, f"{name}: dark scheme: {n} colours, background {corner}")
    if check(pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-", f"{name}: no PDF from print"):
        boxes = re.findall(rb"/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]", pdf.read_bytes())
        # A4 is 595.28 x 841.89 points
        check(boxes and all(abs(float(w) - 595) < 2 and abs(float(h) - 842) < 2 for w, h in boxes),
              f"{name}: printed pages are not A4: {boxes[:3]}")

    dom = Dom()
    dom.feed(dom_run.stdout)
    names, refused, notyet, first, present = expected(d)
    # the script ran, under the CSP's hash
    btn = dom.find("button", id="expand")
    if d["divergent_keys"]:
        check(btn and "hidden" not in btn[0]["a"], f"{name}: the inline script did not run (CSP hash?)")
    scripts = [e["text"] for e in dom.find("script")]
    csp = [e["a"]["content"] for e in dom.find("meta") if e["a"].get("http-equiv") == "Content-Security-Policy"]
    if check(len(scripts) == 1 and csp, f"{name}: {len(scripts)} scripts, CSP {csp}"):
        h = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
        check(f"'sha256-{h}'" in csp[0], f"{name}: the CSP does not allow the page's script by its hash")

    lanes = dom.find("g", cls="lane")
    check([l["a"].get("data-name") for l in lanes] == names, f"{name}: lanes {[l['a'].get('data-name') for l in lanes]}, members {names}")
    for i, n in enumerate(names):
        got = sum(int(m["a"]["data-count"]) for m in dom.find("g", cls="mk-refused", data_member=str(i)))
        check(got == len(refused[n]), f"{name}: {n}: {got} refused marks, JSON has {len(refused[n])} refused entries")
        got = sum(int(m["a"]["data-count"]) for m in dom.find("g", cls="mk-notyet", data_member=str(i)))
        check(got == len(notyet[n]), f"{name}: {n}: {got} not-yet marks, JSON has {len(notyet[n])} unapplied entries")
        fd = dom.find("g", cls="first-divergent", data_member=str(i))
        if first[n]:
            check(len(fd) == 1 and fd[0]["a"]["data-index"] == str(first[n]),
                  f"{name}: {n}: first divergent mark {[f['a'] for f in fd]}, JSON says {first[n]}")
        else:
            check(not fd, f"{name}: {n}: a first divergent mark, the JSON has none")
        cell = dom.find("td", data_name="first_divergent_index")
        check(len(cell) == len(names) and cell[i]["a"].get("data-v") == str(first[n]),
              f"{name}: {n}: first divergent entry cell {cell[i]['a'] if i < len(cell) else None}, JSON {first[n]}")
        # the verdict list's own first divergent index for the member (causes' verify)
        for v in d.get("verdicts", []):
            if v.get("member") == n and v.get("first_divergent_index") and first[n]:
                check(v["first_divergent_index"] == first[n],
                      f"{name}: {n}: verdict {v['kind']} says first divergent entry {v['first_divergent_index']}, "
                      f"the page {first[n]}")
        # the member's own WAL check: a missing mark for every entry its
        # consistent_index covers that left no revision, a twice mark for
        # every effect applied twice (not only the few the JSON details)
        own = d["nodes"][i].get("own_wal_check")
        if own:
            for cls, key in (("mk-missing", "missing"), ("mk-twice", "applied_twice")):
                got = sum(int(m["a"]["data-count"]) for m in dom.find("g", cls=cls, data_member=str(i)))
                check(got == own[key], f"{name}: {n}: {got} {cls} marks, its own WAL check counts {own[key]}")
        # lost writes: the member's own WAL check found an entry its
        # consistent_index covers with no revision: a missing mark there
        for v in d.get("verdicts", []):
            if v.get("member") == n and v["kind"] == "lost_writes" and v.get("first_divergent_index"):
                mm = [m["a"]["data-index"] for m in dom.find("g", cls="mk-missing", data_member=str(i))]
                check(str(v["first_divergent_index"]) in mm,
                      f"{name}: {n}: lost writes from entry {v['first_divergent_index']}, missing marks at {mm}")
        kp = dom.find("span", cls="keys-present", data_member=str(i))
        if d["divergent_keys"]:
            check(kp and kp[0]["text"] == str(present[n]), f"{name}: {n}: keys present {kp and kp[0]['text']}, JSON {present[n]}")
        row = dom.find("tr", data_member=str(i))
        if check(row, f"{name}: no members row for {n}"):
            pass
    cells = [e for e in dom.find("td") if "data-v" in e["a"]]
    nd = dom.find(id="n-divergent")
    check(nd and nd[0]["a"].get("data-value") == str(len(d["divergent_keys"])),
          f"{name}: divergent keys {nd and nd[0]['a']}, JSON {len(d['divergent_keys'])}")
    # members table: consistent_index and revision, in order
    table = dom_run.stdout.split('id="members-table"', 1)[-1].split("</table>", 1)[0]
    mt = Dom()
    mt.feed("<table " + table + "</table>")
    rows = [r for r in mt.find("tr") if "data-member" in r["a"]]
    for r, n in zip(rows, d["nodes"]):
        vals = r["text"]
        check(str(n["consistent_index"]) in vals and str(n["revision"]) in vals,
              f"{name}: members row {vals!r} lacks {n['name']}'s consistent_index/revision")
    check(len(rows) == len(names), f"{name}: {len(rows)} member rows")
    # inputs: every file's SHA-256
    inputs = dom_run.stdout.split('id="inputs"', 1)[-1].split("</table>", 1)[0]
    it = Dom()
    it.feed("<table " + inputs + "</table>")
    files = 0
    for r in it.find("tr")[1:]:
        codes = [c["text"] for c in it.els[it.els.index(r):] if c["tag"] == "code"][:2]
        if len(codes) < 2:
            continue
        path, sha = codes
        files += 1
        want = file_sha256(path)
        check(sha == want, f"{name}: SHA-256 of {path}: page {sha}, hashlib {want}")
    dbs = sum(1 for n in d["nodes"])
    check(files > dbs if any(n["wal"] for n in d["nodes"]) else files == dbs, f"{name}: {files} input files listed")
    # recovery commands carry the real member ids
    if d["verdict"]["differ"]:
        pre = dom.find("pre", id="recovery-commands")
        if check(pre, f"{name}: no recovery commands"):
            ref = next(n for n in d["nodes"] if n["name"] == d["verdict"]["most_complete_node"])
            if ref["member_id"]:
                check(ref["member_id"].lower().lstrip("0") in pre[0]["text"],
                      f"{name}: the recovery commands do not name {ref['name']}'s id {ref['member_id']}")
            # and its endpoint as etcd's own `member list` gave it (taken
            # from the live cluster when the fixture was made): from the db,
            # or, where etcd kept it only in the v2 store (3.4, 3.5.2), from
            # the WAL's publish request
            root = Path(nodes[0]).parent
            for ml in (root / "answers" / "final" / "members.json", root / "truth" / "final" / "members.json"):
                if not ml.exists() or not ref["member_id"]:
                    continue
                want = {m["ID"]: m.get("clientURLs", []) for m in json.loads(ml.read_text())["members"]}
                urls = want.get(int(ref["member_id"], 16), [])
                if check(urls, f"{name}: {ml} has no client URL for {ref['name']}"):
                    check(urls[0] in pre[0]["text"],
                          f"{name}: the recovery commands lack {ref['name']}'s client URL {urls[0]} (member list)")
                check("client URL of" not in pre[0]["text"],
                      f"{name}: a recovery command holds a placeholder for a client URL")
                break
    print(f"{name}: {size} bytes, {len(lanes)} lanes, refused {[len(refused[n]) for n in names]}, "
          f"not yet {[len(notyet[n]) for n in names]}, first divergent {[first[n] for n in names]}, {files} files hashed")


def main():
    # report.py DIFF_DB FIXTURES OUTDIR: every case below (meson test report)
    # report.py DIFF_DB --case NAME OUTDIR NODE...: the same checks on one
    #   comparison of the caller's (bench/report.sh: the large case, whose
    #   1.4 GB of data is not in the repository)
    diff_db = sys.argv[1]
    single = sys.argv[2] == "--case"
    outdir = Path(sys.argv[4] if single else sys.argv[3])
    outdir.mkdir(parents=True, exist_ok=True)
    for tool in ("chromium", "tidy"):
        check(shutil.which(tool), f"{tool} is not installed (quickstart's TEST_PACKAGES has it)")
    if failures:
        return
    if single:
        with tempfile.TemporaryDirectory() as t:
            one(diff_db, sys.argv[3], [Path(n) for n in sys.argv[5:]], outdir, Path(t))
        return
    fx = Path(sys.argv[2])
    cases = [
        ("incident", sorted((fx / "incident-authskew").glob("node*"))),
        ("healthy", sorted((fx / "healthy").glob("node*"))),
        ("stale-member", sorted((fx / "stale-member").glob("node*"))),
        ("copies-under-load", sorted((fx / "evidence" / "copies").glob("node*"))),
        ("lost-writes", sorted((fx / "cause-lost-writes").glob("node*"))),
    ]
    with tempfile.TemporaryDirectory() as t:
        for name, nodes in cases:
            one(diff_db, name, nodes, outdir, Path(t))
        # every member checked against its own WAL (--verify): cluster B
        # was made with etcdctl snapshot restore, so each db holds A's
        # history below the log's first write; the page's marks must equal
        # the checks' counts (none missing: the log is paired from where its
        # first write is found)
        one(diff_db, "zombie-verified", sorted((fx / "detect-zombie").glob("node*")), outdir, Path(t), ("--verify",))
        # A copy of a member beside it (evidence as it arrives: the same
        # member copied twice): its files hold the same bytes, so the page
        # gives them the first's digest without hashing them again. The
        # inputs table is checked against hashlib file by file as above;
        # here the page must say how many bytes were found equal: the
        # copy's whole db and WAL.
        h = fx / "healthy"
        copy = Path(t) / "copy" / "node1-copy"
        shutil.copytree(h / "node1", copy, symlinks=True)
        one(diff_db, "healthy-with-a-copy", [h / "node1", copy, h / "node2"], outdir, Path(t))
        page = (outdir / "healthy-with-a-copy.html").read_text()
        equal = sum(f.stat().st_size for f in copy.rglob("*") if f.is_file() and
                    (f.name == "db" or f.suffix == ".wal"))
        check(f"({equal} of those bytes are files equal byte for byte" in page,
              f"healthy-with-a-copy: the page does not say that {equal} bytes equal node1's")


if __name__ == "__main__":
    main()
    for f in failures:
        print("FAIL:", f)
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)
