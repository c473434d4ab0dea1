// refdump: what an etcd version's own packages read from a member's files,
// as JSON (see README.md). This file is the same for every version: each
// module (3.5/, 3.6/, 3.7/) links it as its main.go and brings adapt.go,
// the calls into that version's packages (3.5: server/wal, server/mvcc,
// server/mvcc/backend, cindex, membership; 3.6+: server/storage/wal,
// server/storage/mvcc, server/storage/backend, server/storage/schema; 3.7's
// messages are google.golang.org/protobuf ones, with pointers).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.etcd.io/bbolt"
	"go.uber.org/zap"

	rc "kvforensics.test/refdump/common"
)

var lg = zap.NewNop()

func entry(e ent) rc.Entry {
	en := rc.Entry{Index: e.index, Term: e.term}
	switch e.typ {
	case entryNormal:
		en.Type = "normal"
		if len(e.data) == 0 {
			en.Kind = "empty"
			break
		}
		// etcd's own order (server.go applyEntryNormal, pbutil.MaybeUnmarshal):
		// an InternalRaftRequest, else a legacy v2 Request
		if irr, ok := decodeIRR(e.data); ok {
			rc.FillIRR(&en, irr)
			break
		}
		method, path, ok := decodeV2(e.data)
		if !ok {
			en.Kind = "undecodable"
			break
		}
		en.Kind = rc.V2Kind(method, path)
		en.Method, en.Path = method, path
	case entryConfChange:
		en.Type = "conf_change"
		kind, node, ok := decodeConfChange(e.data)
		if !ok {
			en.Kind = "undecodable"
			break
		}
		en.Kind, en.NodeID = kind, rc.Hex(node)
	default:
		en.Type = e.typeName
	}
	return en
}

func dumpWAL(dir string) {
	out := map[string]interface{}{"etcd": etcdVersion}
	snaps, err := validSnapshots(dir)
	if err != nil {
		rc.Fail(err)
	}
	ss := []map[string]interface{}{}
	for _, s := range snaps {
		m := map[string]interface{}{"index": s.index, "term": s.term}
		if s.conf != nil {
			m["conf_state"] = s.conf
		}
		ss = append(ss, m)
	}
	out["valid_snapshots"] = ss
	md, hs, ents, err := readAll(dir, snapRec{})
	if err != nil && strings.Contains(err.Error(), "slice bounds out of range") && len(snaps) > 1 {
		// a member that joined from a leader's snapshot has no entries
		// from index 1: etcd reads its WAL from a snapshot record
		// (ErrSliceOutOfRange otherwise); so do we, from the first
		md, hs, ents, err = readAll(dir, snaps[1])
		out["read_from_snapshot"] = snaps[1].index
	}
	if err != nil {
		out["read_error"] = err.Error()
	}
	node, cluster := decodeMetadata(md)
	out["node_id"] = fmt.Sprintf("%x", node)
	out["cluster_id"] = fmt.Sprintf("%x", cluster)
	out["hardstate"] = map[string]uint64{"term": hs[0], "vote": hs[1], "commit": hs[2]}
	list := []rc.Entry{}
	for _, e := range ents {
		list = append(list, entry(e))
	}
	rc.Summary(out, list)

	// etcdutl migrate's question (migrate_command.go finalize): the lowest
	// etcd that can read the entries after the newest valid WAL snapshot
	// (getLatestWALSnap), by wal.ReadWALVersion's MinimalEtcdVersion
	if hasMinimalVersion {
		last := snapRec{}
		if len(snaps) > 0 {
			last = snaps[len(snaps)-1]
		}
		mv := map[string]interface{}{"after_snapshot_index": last.index}
		var ver string
		if msg := rc.Catch(func() { ver, err = minimalVersion(dir, last) }); msg != "" {
			mv["panic"] = msg
		} else if err != nil {
			mv["error"] = err.Error()
		} else {
			mv["version"] = ver
		}
		out["minimal_etcd_version"] = mv
	}
	rc.Emit(out)
}

func dumpSnap(path string) {
	index, term, conf, data, err := readSnap(path)
	if err != nil {
		rc.Fail(err)
	}
	out := map[string]interface{}{"etcd": etcdVersion, "index": index, "term": term,
		"conf_state": conf, "data_bytes": len(data)}
	// the v2 store (up to 3.5 the member's whole v2 store; 3.6+ write only
	// membership, GetMembershipInfoInV2Format): its keys (nodes whose
	// Children is null) and directories, and /0/version's value
	var root struct{ Root json.RawMessage }
	if json.Unmarshal(data, &root) == nil {
		keys, dirs := []string{}, []string{}
		values := map[string]string{}
		v2Nodes(root.Root, &keys, &dirs, values)
		sort.Strings(keys)
		sort.Strings(dirs)
		out["v2_keys"], out["v2_dirs"] = keys, dirs
		if v, ok := values["/0/version"]; ok {
			out["v2_version"] = v
		}
	}
	rc.Emit(out)
}

func v2Nodes(raw json.RawMessage, keys, dirs *[]string, values map[string]string) {
	var n struct {
		Path     string
		Value    string
		Children map[string]json.RawMessage
	}
	if json.Unmarshal(raw, &n) != nil {
		return
	}
	if n.Children == nil {
		*keys = append(*keys, n.Path)
		values[n.Path] = n.Value
		return
	}
	*dirs = append(*dirs, n.Path)
	for _, c := range n.Children {
		v2Nodes(c, keys, dirs, values)
	}
}

func dumpDB(path string, revs []int64) {
	tmp, err := os.MkdirTemp("", "refdump")
	if err != nil {
		rc.Fail(err)
	}
	defer os.RemoveAll(tmp)
	cp := filepath.Join(tmp, "db")
	rc.CopyFile(path, cp)
	out := map[string]interface{}{"etcd": etcdVersion}

	db, err := bbolt.Open(cp, 0600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		rc.Fail(err)
	}
	err = db.View(func(tx *bbolt.Tx) error {
		buckets := map[string]int{}
		_ = tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			buckets[string(name)] = b.Stats().KeyN
			return nil
		})
		out["buckets"] = buckets
		if b := tx.Bucket([]byte("meta")); b != nil {
			keys := []string{}
			_ = b.ForEach(func(k, v []byte) error { keys = append(keys, string(k)); return nil })
			out["meta_keys"] = keys
			out["scheduled_compact_revision"] = rc.RevMain(b.Get([]byte("scheduledCompactRev")))
			out["finished_compact_revision"] = rc.RevMain(b.Get([]byte("finishedCompactRev")))
		}
		users := []map[string]interface{}{}
		if b := tx.Bucket([]byte("authUsers")); b != nil {
			if err := b.ForEach(func(k, v []byte) error {
				u, err := decodeUser(v)
				users = append(users, u)
				return err
			}); err != nil {
				return err
			}
		}
		out["users"] = users
		leases := []map[string]interface{}{}
		if b := tx.Bucket([]byte("lease")); b != nil {
			if err := b.ForEach(func(k, v []byte) error {
				l, err := decodeLease(v)
				leases = append(leases, l)
				return err
			}); err != nil {
				return err
			}
		}
		out["leases"] = leases
		return rc.KeyBucket(out, func(fn func(k, v []byte) error) error {
			if b := tx.Bucket([]byte("key")); b != nil {
				return b.ForEach(fn)
			}
			return nil
		}, decodeKV)
	})
	db.Close()
	if err != nil {
		rc.Fail(err)
	}

	// the member's bookkeeping through the version's own readers
	st := openBackend(cp)
	st.meta(out)
	// HashKV through etcd's own mvcc store, at the current revision and at
	// every revision asked for (what `etcdctl endpoint hashkv --rev` answers)
	hashes := map[string]interface{}{}
	for _, rev := range append([]int64{0}, revs...) {
		h, err := st.hashKV(rev)
		if err != nil {
			hashes[fmt.Sprint(rev)] = map[string]interface{}{"error": err.Error()}
			continue
		}
		hashes[fmt.Sprint(rev)] = h
	}
	out["hashkv"] = hashes
	st.close()
	rc.Emit(out)
}

func main() {
	if len(os.Args) < 3 {
		rc.Fail(fmt.Errorf("%s", rc.Usage))
	}
	switch os.Args[1] {
	case "wal":
		dumpWAL(os.Args[2])
	case "snap":
		dumpSnap(os.Args[2])
	case "db":
		var revs []int64
		if len(os.Args) == 5 && os.Args[3] == "--rev" {
			revs = rc.Revs(os.Args[4])
		}
		dumpDB(os.Args[2], revs)
	default:
		rc.Fail(fmt.Errorf("unknown mode %q\n%s", os.Args[1], rc.Usage))
	}
}
