// Package refcommon is what the reference readers of every etcd version
// share. It never imports etcd: each version's main.go reads the files with
// that version's own packages (wal, snap, mvcc, backend, schema) and hands
// the decoded values here, to be named and written as JSON the same way.
package refcommon

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Entry is one raft entry as etcd's wal.ReadAll returned it.
type Entry struct {
	Index   uint64   `json:"index"`
	Term    uint64   `json:"term"`
	Type    string   `json:"type"`
	Kind    string   `json:"kind"`
	Keys    []string `json:"keys,omitempty"`
	AuthRev uint64   `json:"auth_revision"`
	User    string   `json:"username,omitempty"`
	ID      uint64   `json:"id"`
	// legacy v2 requests (etcdserverpb.Request): what etcd's v2 applier
	// and 3.6's v2ToV3Request look at
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	// auth_user_add / auth_user_change_password: which password field the
	// request carries (3.4 sends the plain text, 3.5+ a bcrypt hash)
	PlainPassword  *bool `json:"plain_password,omitempty"`
	HashedPassword *bool `json:"hashed_password,omitempty"`
	// conf changes: the member added, promoted, removed or updated
	NodeID string `json:"node_id,omitempty"`
}

// V2Kind names a legacy v2 request the way dump-wal does, from what etcd's
// own appliers match: 3.5 apply_v2.go Put (StoreMemberAttributeRegexp, an
// unanchored match, and membership.StoreClusterVersionKey) and Sync.
func V2Kind(method, path string) string {
	switch {
	case method == "PUT" && memberAttributes.MatchString(path):
		return "v2_member_attributes"
	case method == "PUT" && path == "/0/version":
		return "v2_cluster_version"
	case method == "SYNC":
		return "v2_sync"
	}
	return "v2"
}

var memberAttributes = regexp.MustCompile(`/0/members/[[:xdigit:]]{1,16}/attributes`)

func field(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	return m.Descriptor().Fields().ByName(protoreflect.Name(name))
}

// IRRKind is the InternalRaftRequest field that is set (other than the
// header), by its proto name: "put", "txn", "cluster_member_attr_set", ...
func IRRKind(m protoreflect.Message) string {
	kind := ""
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() == protoreflect.MessageKind && fd.Name() != "header" && !fd.IsList() {
			kind = string(fd.Name())
			return false
		}
		return true
	})
	if kind == "" {
		return "other"
	}
	return kind
}

func bytesOf(m protoreflect.Message, name string) string {
	fd := field(m, name)
	if fd == nil || !m.Has(fd) {
		return ""
	}
	if fd.Kind() == protoreflect.StringKind {
		return m.Get(fd).String()
	}
	return string(m.Get(fd).Bytes())
}

func has(m protoreflect.Message, name string) bool {
	fd := field(m, name)
	return fd != nil && m.Has(fd)
}

// IRRKeys: the keys dump-wal lists for a request (put, delete_range and
// range keys; a txn's put and delete keys, both branches, in order).
func IRRKeys(m protoreflect.Message, kind string) []string {
	fd := field(m, kind)
	if fd == nil {
		return nil
	}
	body := m.Get(fd).Message()
	switch kind {
	case "put", "delete_range", "range":
		return []string{bytesOf(body, "key")}
	case "txn":
		var keys []string
		for _, branch := range []string{"success", "failure"} {
			list := body.Get(field(body, branch)).List()
			for i := 0; i < list.Len(); i++ {
				op := list.Get(i).Message()
				for _, k := range []string{"request_put", "request_delete_range"} {
					if has(op, k) {
						keys = append(keys, bytesOf(op.Get(field(op, k)).Message(), "key"))
					}
				}
			}
		}
		return keys
	}
	return nil
}

// FillIRR sets the kind, keys, header and password fields of e.
func FillIRR(e *Entry, m protoreflect.Message) {
	e.Kind = IRRKind(m)
	e.Keys = IRRKeys(m, e.Kind)
	if e.Kind == "v2" { // 3.5 and older: a v2 Request wrapped in the IRR
		v2 := m.Get(field(m, "v2")).Message()
		e.Method, e.Path = bytesOf(v2, "Method"), bytesOf(v2, "Path")
		e.Kind = V2Kind(e.Method, e.Path)
	}
	if has(m, "header") {
		h := m.Get(field(m, "header")).Message()
		e.ID = h.Get(field(h, "ID")).Uint()
		e.AuthRev = h.Get(field(h, "auth_revision")).Uint()
		e.User = bytesOf(h, "username")
	}
	if e.Kind == "auth_user_add" || e.Kind == "auth_user_change_password" {
		body := m.Get(field(m, e.Kind)).Message()
		plain, hashed := has(body, "password"), has(body, "hashedPassword")
		e.PlainPassword, e.HashedPassword = &plain, &hashed
	}
}

// Summary counts entries by kind.
func Summary(out map[string]interface{}, ents []Entry) {
	counts := map[string]int{}
	for _, e := range ents {
		counts[e.Kind]++
	}
	out["entries"] = ents
	out["entry_count"] = len(ents)
	out["kind_counts"] = counts
	if len(ents) > 0 {
		out["first_index"] = ents[0].Index
		out["last_index"] = ents[len(ents)-1].Index
	}
}

// Hex is a member or node id as etcdctl and dump-wal print it.
func Hex(v uint64) string { return fmt.Sprintf("%016x", v) }

// HexList: ids of a ConfState list.
func HexList(v []uint64) []string {
	out := make([]string, 0, len(v))
	for _, x := range v {
		out = append(out, Hex(x))
	}
	return out
}

// KV is an mvccpb.KeyValue as a version's own package decoded it.
type KV struct {
	Key                     []byte
	Create, Mod, Ver, Lease int64
	Value                   []byte
}

// Rev is a revision of bucket key.
type Rev struct {
	Main int64 `json:"main"`
	Sub  int64 `json:"sub"`
}

// KeyBucket walks bucket key in order (each: every key and value), decoding
// values with the version's mvccpb, and records what dbref.py compares:
// counts, the newest revision, live keys, and every tombstone's revision.
func KeyBucket(out map[string]interface{}, each func(func(k, v []byte) error) error,
	decode func([]byte) (KV, error)) error {
	type live struct {
		Key       string `json:"key"`
		ModRev    int64  `json:"mod_revision"`
		CreateRev int64  `json:"create_revision"`
		Version   int64  `json:"version"`
		Lease     int64  `json:"lease"`
		ValueLen  int    `json:"value_len"`
	}
	latest := map[string]live{}
	var revisions, tombstones int
	var maxMain int64
	tombRevs := []Rev{}
	err := each(func(k, v []byte) error {
		revisions++
		if len(k) < 17 {
			return fmt.Errorf("bucket key: %d-byte key", len(k))
		}
		main := int64(beUint64(k[0:8]))
		if main > maxMain {
			maxMain = main
		}
		kv, err := decode(v)
		if err != nil {
			return err
		}
		if len(k) == 18 && k[17] == 't' {
			tombstones++
			tombRevs = append(tombRevs, Rev{main, int64(beUint64(k[9:17]))})
			delete(latest, string(kv.Key))
			return nil
		}
		latest[string(kv.Key)] = live{string(kv.Key), kv.Mod, kv.Create, kv.Ver, kv.Lease, len(kv.Value)}
		return nil
	})
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lks := make([]live, 0, len(keys))
	for _, k := range keys {
		lks = append(lks, latest[k])
	}
	out["revisions"] = revisions
	out["tombstones"] = tombstones
	out["tombstone_revisions"] = tombRevs
	out["max_main_revision"] = maxMain
	out["live_keys"] = len(lks)
	out["keys"] = lks
	return nil
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

// BE64 reads an 8-byte big-endian counter (0 when the length is wrong).
func BE64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return beUint64(b)
}

// RevMain: the main revision of a 17-byte revision value (meta compact revs).
func RevMain(b []byte) int64 {
	if len(b) < 8 {
		return 0
	}
	return int64(beUint64(b))
}

// Member is a member as etcd's membership package read it from bucket members.
type Member struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	PeerURLs   []string `json:"peerURLs"`
	ClientURLs []string `json:"clientURLs"`
	IsLearner  bool     `json:"isLearner"`
}

// Members sorts by id.
func Members(ms []Member) []Member {
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	return ms
}

// Revs parses the revisions given after "--rev" (comma separated).
func Revs(s string) []int64 {
	var out []int64
	var cur int64
	seen := false
	for _, c := range s + "," {
		if c == ',' {
			if seen {
				out = append(out, cur)
			}
			cur, seen = 0, false
			continue
		}
		if c < '0' || c > '9' {
			Fail(fmt.Errorf("bad revision list %q", s))
		}
		cur = cur*10 + int64(c-'0')
		seen = true
	}
	return out
}

// CopyFile copies src to dst: etcd's backend opens read-write, so every
// reader works on a private copy and the evidence is never opened by it.
func CopyFile(src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		Fail(err)
	}
	defer in.Close()
	o, err := os.Create(dst)
	if err != nil {
		Fail(err)
	}
	if _, err := io.Copy(o, in); err != nil {
		Fail(err)
	}
	if err := o.Close(); err != nil {
		Fail(err)
	}
}

// Emit writes v as indented JSON on stdout.
func Emit(v interface{}) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		Fail(err)
	}
}

// Fail reports err and exits 2.
func Fail(err error) {
	fmt.Fprintln(os.Stderr, "refdump:", err)
	os.Exit(2)
}

// Catch runs f and returns the message of a panic it raised, or "".
// (3.7's MinimalEtcdVersion panics on a v2 entry; that is an answer too.)
func Catch(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

const Usage = `usage: refdump wal DIR              entries, hard state, snapshots (wal package)
       refdump db FILE [--rev R,..]   meta, membership, auth, keys, HashKV (mvcc, schema)
       refdump snap FILE              a .snap file (snap package)`

// User is an authpb.User as bucket authUsers holds it (the hash only as
// its length).
func User(name []byte, roles []string, passwordBytes int, noPassword bool) map[string]interface{} {
	if roles == nil {
		roles = []string{}
	}
	return map[string]interface{}{"name": string(name), "roles": roles,
		"password_hash_bytes": passwordBytes, "no_password": noPassword}
}

// Lease is a leasepb.Lease as bucket lease holds it.
func Lease(id, ttl, remaining int64) map[string]interface{} {
	return map[string]interface{}{"id": fmt.Sprintf("%x", uint64(id)), "ttl": ttl, "remaining_ttl": remaining}
}
