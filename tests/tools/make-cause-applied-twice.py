#!/usr/bin/env python3
"""Build testdata/fixtures/cause-applied-twice.tar.gz: a real etcd 3.5.2
member SIGKILLed during an online defrag under put load, then restarted and
stopped (etcd issue 14733: 3.5.0-3.5.5's defrag commit did not save
consistent_index, so the restart replays entries whose writes the db
already holds, and applies them twice). Nothing is planted.

    tests/tools/make-cause-applied-twice.py ETCD_3.5.2_DIR DUMP_DB OUT.tar.gz [TRIES]

The kill is repeated (a fresh member each time) until the restarted
member's own answer shows it: `etcdctl get` reports version 2 for a key the
load wrote once (every load key is written once). truth/: killed.verify.json
(dump-db verify on the killed data dir, before the restart), get.json
(etcdctl get --prefix /load/ -w json after the restart), status.json,
load.json (the keys the writers had acknowledged)."""
import base64, http.client, json, os, random, shutil, signal, socket, subprocess, sys, tarfile, tempfile, threading, time

B, DUMP_DB, OUT = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
TRIES = int(sys.argv[4]) if len(sys.argv) > 4 else 20
ETCD, CTL = B + "/etcd", B + "/etcdctl"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def put(c, k, v):
    body = json.dumps({"key": base64.b64encode(k.encode()).decode(), "value": base64.b64encode(v.encode()).decode()})
    c.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"}); c.getresponse().read()


def load(port, stop, tid, acked):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); i = 0
    while not stop.is_set():
        k = f"/load/t{tid}/{i:06d}"
        try:
            put(c, k, f"v-{tid}-{i}"); acked.append(k)
        except Exception:
            if stop.is_set(): return
            time.sleep(0.01); c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        i += 1


def start(d, cp, pp):
    args = [ETCD, "--name", "m1", "--data-dir", d, "--listen-client-urls", f"http://127.0.0.1:{cp}",
            "--advertise-client-urls", f"http://127.0.0.1:{cp}", "--listen-peer-urls", f"http://127.0.0.1:{pp}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{pp}", "--initial-cluster", f"m1=http://127.0.0.1:{pp}",
            "--log-level", "error"]
    p = subprocess.Popen(args, stdout=open(d + ".log", "a"), stderr=subprocess.STDOUT)
    for _ in range(150):
        try:
            c = http.client.HTTPConnection("127.0.0.1", cp, timeout=1); c.request("GET", "/health")
            if c.getresponse().status == 200: return p
        except Exception: time.sleep(0.1)
    return p


def ctl(cp, *a):
    return subprocess.run([CTL, "--endpoints", f"127.0.0.1:{cp}", "-w", "json", *a], capture_output=True, text=True,
                          timeout=60).stdout


work = tempfile.mkdtemp(prefix="kvf-cause-twice-")
for t in range(TRIES):
    base = f"{work}/try{t}"; os.makedirs(base)
    d = base + "/m1"; cp, pp = free_port(), free_port()
    p = start(d, cp, pp)
    c = http.client.HTTPConnection("127.0.0.1", cp, timeout=5)
    for i in range(6000): put(c, f"/fill/{i:06d}", "x" * 4000)   # a db the defrag takes a while over
    stop, acked = threading.Event(), []
    th = [threading.Thread(target=load, args=(cp, stop, i, acked)) for i in range(6)]
    for x in th: x.start()
    time.sleep(0.5)
    df = subprocess.Popen([CTL, "--endpoints", f"127.0.0.1:{cp}", "defrag", "--command-timeout=60s"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.05 + random.random() * 0.4)
    os.kill(p.pid, signal.SIGKILL); p.wait(); stop.set()
    for x in th: x.join()
    df.wait()
    killed = subprocess.run([DUMP_DB, "-o", "json", "verify", d], capture_output=True, text=True).stdout
    p = start(d, cp, pp)
    get = json.loads(ctl(cp, "get", "--prefix", "/load/"))
    status = json.loads(ctl(cp, "endpoint", "status"))
    p.send_signal(signal.SIGTERM); p.wait()
    twice = [kv for kv in get.get("kvs", []) if int(kv.get("version", 1)) > 1]
    print(f"try {t}: keys at version > 1 per etcd: {len(twice)}", flush=True)
    if not twice:
        shutil.rmtree(base); continue
    fx = f"{work}/cause-applied-twice"
    os.makedirs(fx + "/truth")
    shutil.move(d, fx + "/node1")
    for name, doc in (("killed.verify.json", json.loads(killed)), ("get.json", get), ("status.json", status),
                      ("load.json", {"acked": acked})):
        with open(f"{fx}/truth/{name}", "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
    with tarfile.open(OUT, "w:gz") as tf:
        tf.add(fx, arcname="cause-applied-twice")
    print(OUT, "keys applied twice per etcd:", len(twice))
    break
else:
    print("no try hit the window"); sys.exit(1)
shutil.rmtree(work)
