"""Kubernetes-shaped values for tests against a real etcd, written the way
the API server writes them (stdlib only).

The protobuf values are built from the real bytes auger ships
(testdata/peer-auger/storage: a Pod and a Job a Kubernetes API server
stored): the envelope ("k8s\\0" + runtime.Unknown) and the spec and status
stay the API server's bytes, only ObjectMeta is re-encoded with the fields
given (apimachinery meta/v1 generated.proto: name 1, generateName 2,
namespace 3, selfLink 4, uid 5, resourceVersion 6, generation 7,
creationTimestamp 8, deletionTimestamp 9, labels 11, ownerReferences 13,
finalizers 14; gogo-protobuf writes the scalar fields even when empty, map
entries sorted by key). Custom resources are JSON as the API server stores
them (json.Marshal of the unstructured map: sorted keys; a newline after).
Api writes through a member's gRPC gateway as apiserver storage/etcd3/store.go
does: a create is a txn "mod_revision == 0, then put", an update "== R, then
put", a delete "== R, then delete".
"""
import base64
import http.client
import json
import random
import time
from pathlib import Path

AUGER = Path(__file__).resolve().parent.parent.parent / "testdata" / "peer-auger"
rnd = random.Random(20261201)


def b64(b):
    return base64.b64encode(b if isinstance(b, bytes) else b.encode()).decode()


# ---- protobuf, as much as the envelope needs ----

def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(b, i):
    x = s = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return x, i


def fields(b):
    """[(num, wire, value)]: value is bytes for wire 2, an int for wire 0."""
    out, i = [], 0
    while i < len(b):
        key, i = read_varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(b, i)
        elif wire == 2:
            n, i = read_varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wire}")
        out.append((num, wire, v))
    return out


def enc(fs):
    out = bytearray()
    for num, wire, v in fs:
        out += varint(num << 3 | wire)
        if wire == 0:
            out += varint(v)
        else:
            out += varint(len(v)) + v
    return bytes(out)


def s(num, text):
    return (num, 2, text.encode() if isinstance(text, str) else text)


def pb_time(sec):
    # gogo-protobuf writes metav1.Time as {seconds, nanos}; the API server
    # stores whole seconds in practice
    return enc([(1, 0, sec), (2, 0, 0)])


def object_meta(base_meta, m):
    """auger's ObjectMeta with the fields of m (a dict like the truth) in their
    place, every other field (selfLink, annotations, ...) kept, in field order."""
    keep = [f for f in fields(base_meta) if f[0] not in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 14)]
    new = [s(1, m["name"]), s(2, m.get("generateName", "")), s(3, m.get("namespace", "")),
           s(4, ""), s(5, m["uid"]), s(6, ""), (7, 0, m.get("generation", 0)),
           (8, 2, pb_time(m["creationTimestamp"]))]
    if m.get("deletionTimestamp") is not None:
        new.append((9, 2, pb_time(m["deletionTimestamp"])))
    for k in sorted(m.get("labels", {})):   # gogo writes map entries sorted by key
        new.append((11, 2, enc([s(1, k), s(2, m["labels"][k])])))
    for o in m.get("ownerReferences", []):
        new.append((13, 2, enc([s(1, o["kind"]), s(3, o["name"]), s(4, o["uid"]), s(5, o["apiVersion"]),
                                (6, 0, 1 if o.get("controller") else 0),
                                (7, 0, 1 if o.get("blockOwnerDeletion") else 0)])))
    for f in m.get("finalizers", []):
        new.append(s(14, f))
    return enc(sorted(new + keep, key=lambda f: f[0]))


def k8s_protobuf(sample, m):
    """The sample value (k8s\\0 + runtime.Unknown) with its ObjectMeta replaced."""
    env = fields(sample[4:])
    out = []
    for num, wire, v in env:
        if num == 2:   # raw: the object; field 1 is its ObjectMeta
            raw = fields(v)
            raw = [(n, w, object_meta(x, m) if n == 1 else x) for n, w, x in raw]
            v = enc(raw)
        out.append((num, wire, v))
    return b"k8s\x00" + enc(out)


def auger_value(name):
    data = (AUGER / "storage" / f"{name}.bin").read_bytes()
    return data[:-1] if data.endswith(b"\n") else data   # auger's files end with a newline


def k8s_json(api_version, kind, m, spec):
    """A custom resource as the API server stores it: json.Marshal of the
    unstructured map (sorted keys), a newline after it."""
    meta = {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "generation": m.get("generation", 1),
            "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m["creationTimestamp"]))}
    if m.get("labels"):
        meta["labels"] = m["labels"]
    if m.get("deletionTimestamp") is not None:
        meta["deletionTimestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(m["deletionTimestamp"]))
    if m.get("finalizers"):
        meta["finalizers"] = m["finalizers"]
    obj = {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec}
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode()


def uid():
    return "%08x-%04x-%04x-%04x-%012x" % (rnd.getrandbits(32), rnd.getrandbits(16), 0x4000 | rnd.getrandbits(12),
                                          0x8000 | rnd.getrandbits(14), rnd.getrandbits(48))


# ---- writing as the API server does ----

class Api:
    def __init__(self, c):
        self.c = c
        self.n = 0
        self.conns = {}
        self.mod = {}        # key -> mod_revision
        self.written = []    # what went in, for truth/

    def post(self, member, path, body):
        conn = self.conns.get(member)
        if conn is None:
            conn = self.conns[member] = http.client.HTTPConnection("127.0.0.1", self.c.member(member).client_port,
                                                                   timeout=30)
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse()
        out = json.loads(r.read())
        if r.status != 200:
            raise RuntimeError(f"{path} on node{member}: {r.status} {out}")
        return out

    def via(self, member=None):
        self.n += 1
        return member or 1 + self.n % 3

    def txn(self, key, op, value=None, member=None):
        k = b64(key)
        rev = self.mod.get(key, 0)
        cmp = [{"target": "MOD", "key": k, "mod_revision": str(rev), "result": "EQUAL"}]
        succ = ([{"request_put": {"key": k, "value": b64(value)}}] if op == "put"
                else [{"request_delete_range": {"key": k}}])
        out = self.post(self.via(member), "/v3/kv/txn",
                        {"compare": cmp, "success": succ, "failure": [{"request_range": {"key": k}}]})
        if not out.get("succeeded"):
            raise RuntimeError(f"txn on {key} failed: {out}")
        rev = int(out["header"]["revision"])
        if op == "put":
            self.mod[key] = rev
        else:
            self.mod.pop(key, None)
        return rev

    def object(self, key, encoding, fields_, value, member=None):
        rev = self.txn(key, "put", value, member)
        self.written.append({"key": key, "op": "put", "revision": rev, "encoding": encoding, **fields_})
        return rev

    def delete(self, key, member=None):
        rev = self.txn(key, "delete", member=member)
        self.written.append({"key": key, "op": "delete", "revision": rev})
        return rev

    def put(self, key, value, member=1):
        return int(self.post(member, "/v3/kv/put", {"key": b64(key), "value": b64(value)})["header"]["revision"])


