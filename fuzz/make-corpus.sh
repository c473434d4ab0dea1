#!/bin/sh
# Regenerates the seed corpora fuzz/corpus/<harness>/ from the real etcd
# fixtures, unpacked by a build (BUILD/tests/fixtures) and bolt2lmdb
# (BUILD/tests/bolt2lmdb). Every seed is bytes a real etcd (or a real
# Kubernetes API server) wrote, cut small so that the fuzzers mutate them
# quickly; a few crafted seeds name themselves synthetic-*. Reproducers of
# bugs the fuzzers found (crash-*) are kept: they are not regenerated.
#
# usage: fuzz/make-corpus.sh [BUILD_DIR]   (default: build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
fx=$build/tests/fixtures
[ -d "$fx/healthy" ] || { echo "make-corpus: no fixtures in $fx (run ninja -C $build first)" >&2; exit 1; }
[ -x "$build/tests/bolt2lmdb" ] || { echo "make-corpus: no $build/tests/bolt2lmdb" >&2; exit 1; }
corpus=$here/corpus
for h in wal raft bolt lmdb k8s; do
	mkdir -p "$corpus/$h"
	find "$corpus/$h" -type f ! -name 'crash-*' -delete
done

# WAL: the first frames of real segments, cut on a frame boundary, then a
# few zero bytes (the preallocated tail etcd leaves after the last record);
# the damaged fixtures cut the same way; etcd's own TestNew.wal whole.
python3 - "$fx" "$corpus" <<'PY'
import gzip, os, struct, sys
fx, corpus = sys.argv[1], sys.argv[2]

def frames(seg):
	"""(offset, frame length, walpb.Record bytes) up to the end of records"""
	data = open(seg, 'rb').read()
	off = 0
	while off + 8 <= len(data):
		word = struct.unpack_from('<Q', data, off)[0]
		if word == 0:
			break
		n = word & ((1 << 56) - 1)
		pad = (word >> 56) & 7 if word >> 63 else 0
		if off + 8 + n + pad > len(data):
			break
		yield off, 8 + n + pad, data[off + 8:off + 8 + n]
		off += 8 + n + pad

def prefix(seg, budget):
	data = open(seg, 'rb').read()
	end = 0
	for off, flen, _ in frames(seg):
		if off + flen > budget:
			break
		end = off + flen
	return data[:end] + b'\0' * 64

def put(h, name, b):
	open(os.path.join(corpus, h, name), 'wb').write(b)

w = lambda *p: os.path.join(fx, *p, 'member', 'wal')
seg0 = '0000000000000000-0000000000000000.wal'
put('wal', 'healthy-node1-head', prefix(os.path.join(w('healthy', 'node1'), seg0), 2048))
put('wal', 'healthy-node1-32k', prefix(os.path.join(w('healthy', 'node1'), seg0), 32768))
put('wal', 'authskew-node1-32k', prefix(os.path.join(w('incident-authskew', 'node1'), seg0), 32768))
put('wal', 'stale-node2-16k', prefix(os.path.join(w('stale-member', 'node2'), seg0), 16384))
put('wal', 'multiseg-seg1-16k',
    prefix(os.path.join(w('multiseg', 'node1'), '0000000000000001-000000000000e269.wal'), 16384))
put('wal', 'damage-flipped-32k', prefix(os.path.join(fx, 'wal-damage', 'flipped', seg0), 32768))
# the truncated fixture ends mid-frame: keep its real end (no zero tail)
t = open(os.path.join(fx, 'wal-damage', 'truncated', seg0), 'rb').read()
put('wal', 'damage-truncated-tail', t[-16384:] if len(t) > 16384 else t)
put('wal', 'peer-etcd-TestNew', open(os.path.join(fx, 'peer-etcd', 'TestNew.wal'), 'rb').read())
# etcd 3.5 (v2 SYNC requests, auth_status, hashed passwords) and 3.6
# (cluster_member_attr_set, cluster_version_set) WALs
put('wal', 'etcd35-node1-32k', prefix(os.path.join(w('etcd-3.5', 'node1'), seg0), 32768))
put('wal', 'etcd36-node1-16k', prefix(os.path.join(w('etcd-3.6', 'node1'), seg0), 16384))
put('wal', 'healthy-node1-head.gz',
    gzip.compress(prefix(os.path.join(w('healthy', 'node1'), seg0), 4096), mtime=0))

# raft: the payloads of real records, one per kind of request: raftpb.Entry
# bytes (entry-*), the request inside (data-*), hard states, metadata,
# snapshot records; and a real .snap file.
def fields(b):
	"""protobuf fields: (number, wire type, value)"""
	i = 0
	while i < len(b):
		key = 0; s = 0
		while True:
			c = b[i]; i += 1; key |= (c & 0x7f) << s; s += 7
			if c < 0x80: break
		num, wt = key >> 3, key & 7
		if wt == 0:
			v = 0; s = 0
			while True:
				c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
				if c < 0x80: break
			yield num, wt, v
		elif wt == 2:
			n = 0; s = 0
			while True:
				c = b[i]; i += 1; n |= (c & 0x7f) << s; s += 7
				if c < 0x80: break
			yield num, wt, b[i:i + n]; i += n
		else:
			return

seen = set()
for fixture, node in (('healthy', 'node1'), ('incident-authskew', 'node1'), ('stale-member', 'node2'),
                      ('multiseg', 'node1'), ('etcd-3.5', 'node1'), ('etcd-3.6', 'node1'),
                      ('etcd-3.7', 'node4')):
	for off, flen, rec in frames(os.path.join(w(fixture, node), seg0)):
		f = {n: v for n, _, v in fields(rec)}
		rtype, data = f.get(1, 0), f.get(3, b'')
		if rtype == 2:
			e = {n: v for n, _, v in fields(data)}
			etype, payload = e.get(1, 0), e.get(4, b'')
			# the request kind is the field set besides the header (100):
			# one seed per (entry type, set of top-level fields)
			try:
				nums = sorted({n for n, _, _ in fields(payload)} - {100})
			except IndexError:
				nums = [-1]
			sig = (etype, tuple(nums))
			if sig in seen or len(seen) > 60:
				continue
			seen.add(sig)
			tag = '_'.join(map(str, nums)) if payload else 'empty'
			put('raft', 'entry-%s-t%d-%s' % (fixture, etype, tag), data)
			if payload:
				put('raft', 'data-%s-t%d-%s' % (fixture, etype, tag), payload)
		elif rtype in (1, 3, 5) and ('rec', rtype) not in seen:
			seen.add(('rec', rtype))
			put('raft', 'record-%s-type%d' % (fixture, rtype), data)
for fixture in ('multiseg', 'etcd-3.5', 'etcd-3.6'):
	# a 3.4 and a 3.5 .snap (the whole v2 store; 3.5's holds v2 keys), a 3.6
	# one (membership only)
	sd = os.path.join(fx, fixture, 'node1', 'member', 'snap')
	snap = [s for s in sorted(os.listdir(sd)) if s.endswith('.snap')][0 if fixture == 'multiseg' else -1]
	put('raft', 'snapfile-%s-%s' % (fixture, snap), open(os.path.join(sd, snap), 'rb').read())
PY

# bbolt: whole small dbs etcd wrote (60-90 KiB), a real damaged one, auger's.
cp "$fx/healthy/node1/member/snap/db" "$corpus/bolt/healthy-node1.db"
cp "$fx/incident-authskew/node1/member/snap/db" "$corpus/bolt/authskew-node1.db"
cp "$fx/stale-member/node1/member/snap/db" "$corpus/bolt/stale-node1.db"
cp "$fx/peer-etcd/corrupted_backup.db" "$corpus/bolt/peer-etcd-corrupted_backup.db"
cp "$fx/peer-auger/boltdb/db" "$corpus/bolt/peer-auger.db"
# etcd 3.6's meta (term, confState, storageVersion), a leader's .snap.db (3.7)
cp "$fx/etcd-3.6/snapshots/node1.db" "$corpus/bolt/etcd36-snapshot-node1.db"
cp "$fx"/etcd-3.7/node4-crash/member/snap/*.snap.db "$corpus/bolt/etcd37-leader.snap.db"

# LMDB: the twins bolt2lmdb writes of the small dbs.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for src in healthy/node1 stale-member/node1; do
	name=$(echo "$src" | tr / -)
	"$build/tests/bolt2lmdb" "$fx/$src/member/snap/db" "$tmp/$name" >/dev/null
	cp "$tmp/$name/data.mdb" "$corpus/lmdb/$name.mdb"
done
"$build/tests/bolt2lmdb" "$fx/peer-auger/boltdb/db" "$tmp/auger" >/dev/null
cp "$tmp/auger/data.mdb" "$corpus/lmdb/peer-auger.mdb"

# Kubernetes values: auger's real protobuf objects; JSON and an encrypted
# prefix (what the API server writes with encryption at rest) are synthetic.
cp "$fx/peer-auger/storage/job.bin" "$corpus/k8s/auger-job.bin"
cp "$fx/peer-auger/storage/pod.bin" "$corpus/k8s/auger-pod.bin"
cp "$fx/peer-auger/storage/pod-with-key.bin" "$corpus/k8s/auger-pod-with-key.bin"
printf '{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm1","namespace":"default","uid":"4d5e"},"data":{"a":"b"}}\n' \
	> "$corpus/k8s/synthetic-configmap.json"
printf 'k8s:enc:aescbc:v1:key1:\001\002\003\004\005\006\007\010' > "$corpus/k8s/synthetic-encrypted"
# auger's own JSON decoding of pod.bin (every ObjectMeta field, owners), and
# the evidence fixture's values as a real etcd stored them: a pod with a
# deletion timestamp and a finalizer, a custom resource in JSON, a Namespace,
# an encrypted Secret
cp "$fx/peer-auger/json/pod.json" "$corpus/k8s/auger-pod.json"
"$build/dump-db/dump-db" -o json keys --prefix /registry/ "$fx/evidence/snapshot/node1.snapshot.db" |
python3 -c '
import base64, json, sys
want = {"/registry/pods/team-a/web-7d9f8c-04": "evidence-pod-deleting.bin",
        "/registry/stable.example.com/crontabs/team-a/cron-1": "evidence-crontab.json",
        "/registry/namespaces/team-a": "evidence-namespace.bin",
        "/registry/secrets/team-a/tls": "evidence-secret-encrypted.bin"}
for line in sys.stdin:
    k = json.loads(line)
    key = k["key"] if isinstance(k["key"], str) else base64.b64decode(k["key"]["base64"]).decode()
    if key in want:
        v = k["value"]
        data = base64.b64decode(v["base64"]) if isinstance(v, dict) else v.encode()
        open(sys.argv[1] + "/" + want[key], "wb").write(data)
' "$corpus/k8s"

du -sh "$corpus"/*
