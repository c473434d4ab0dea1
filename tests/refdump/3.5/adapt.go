// What main.go needs from etcd 3.5: its packages (server/wal, server/mvcc,
// server/mvcc/backend, etcdserver/cindex, etcdserver/api/membership) and its
// message types (gogo/protobuf, values). 3.5 has no storage/schema package
// and no MinimalEtcdVersion.
package main

import (
	"encoding/json"
	"fmt"

	"github.com/golang/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/raft/v3/raftpb"
	"go.etcd.io/etcd/server/v3/etcdserver/api/membership"
	"go.etcd.io/etcd/server/v3/etcdserver/api/snap"
	"go.etcd.io/etcd/server/v3/etcdserver/cindex"
	"go.etcd.io/etcd/server/v3/lease"
	"go.etcd.io/etcd/server/v3/lease/leasepb"
	"go.etcd.io/etcd/server/v3/mvcc"
	"go.etcd.io/etcd/server/v3/mvcc/backend"
	"go.etcd.io/etcd/server/v3/mvcc/buckets"
	"go.etcd.io/etcd/server/v3/wal"
	"go.etcd.io/etcd/server/v3/wal/walpb"

	rc "kvforensics.test/refdump/common"
)

const etcdVersion = "3.5"

const hasMinimalVersion = false

const (
	entryNormal     = int32(raftpb.EntryNormal)
	entryConfChange = int32(raftpb.EntryConfChange)
)

type ent struct {
	typ         int32
	typeName    string
	term, index uint64
	data        []byte
}

type snapRec struct {
	index, term uint64
	conf        map[string]interface{}
}

func confStateOf(cs *raftpb.ConfState) map[string]interface{} {
	return map[string]interface{}{"voters": rc.HexList(cs.Voters), "learners": rc.HexList(cs.Learners),
		"voters_outgoing": rc.HexList(cs.VotersOutgoing), "learners_next": rc.HexList(cs.LearnersNext),
		"auto_leave": cs.AutoLeave}
}

func validSnapshots(dir string) ([]snapRec, error) {
	snaps, err := wal.ValidSnapshotEntries(lg, dir)
	out := []snapRec{}
	for _, s := range snaps {
		r := snapRec{index: s.Index, term: s.Term}
		if s.ConfState != nil {
			r.conf = confStateOf(s.ConfState)
		}
		out = append(out, r)
	}
	return out, err
}

func readAll(dir string, s snapRec) ([]byte, [3]uint64, []ent, error) {
	w, err := wal.OpenForRead(lg, dir, walpb.Snapshot{Index: s.index, Term: s.term})
	if err != nil {
		return nil, [3]uint64{}, nil, err
	}
	defer w.Close()
	md, hs, ents, err := w.ReadAll()
	out := make([]ent, 0, len(ents))
	for _, e := range ents {
		out = append(out, ent{int32(e.Type), e.Type.String(), e.Term, e.Index, e.Data})
	}
	return md, [3]uint64{hs.Term, hs.Vote, hs.Commit}, out, err
}

func minimalVersion(string, snapRec) (string, error) {
	return "", fmt.Errorf("etcd 3.5 has no MinimalEtcdVersion")
}

func decodeMetadata(md []byte) (uint64, uint64) {
	var m pb.Metadata
	_ = m.Unmarshal(md)
	return m.NodeID, m.ClusterID
}

func decodeIRR(data []byte) (protoreflect.Message, bool) {
	var r pb.InternalRaftRequest
	if r.Unmarshal(data) != nil {
		return nil, false
	}
	return proto.MessageReflect(&r), true
}

func decodeV2(data []byte) (string, string, bool) {
	var r pb.Request
	if r.Unmarshal(data) != nil {
		return "", "", false
	}
	return r.Method, r.Path, true
}

func decodeConfChange(data []byte) (string, uint64, bool) {
	var cc raftpb.ConfChange
	if cc.Unmarshal(data) != nil {
		return "", 0, false
	}
	return cc.Type.String(), cc.NodeID, true
}

func readSnap(path string) (uint64, uint64, map[string]interface{}, []byte, error) {
	s, err := snap.Read(lg, path)
	if err != nil {
		return 0, 0, nil, nil, err
	}
	return s.Metadata.Index, s.Metadata.Term, confStateOf(&s.Metadata.ConfState), s.Data, nil
}

func decodeKV(v []byte) (rc.KV, error) {
	var kv mvccpb.KeyValue
	err := kv.Unmarshal(v)
	return rc.KV{Key: kv.Key, Create: kv.CreateRevision, Mod: kv.ModRevision, Ver: kv.Version,
		Lease: kv.Lease, Value: kv.Value}, err
}

func decodeLease(v []byte) (map[string]interface{}, error) {
	var l leasepb.Lease
	err := l.Unmarshal(v)
	return rc.Lease(l.ID, l.TTL, l.RemainingTTL), err
}

func decodeUser(v []byte) (map[string]interface{}, error) {
	var u authpb.User
	err := u.Unmarshal(v)
	return rc.User(u.Name, u.Roles, len(u.Password), u.Options != nil && u.Options.NoPassword), err
}

// db is a member's backend, opened on a private copy.
type db struct {
	be backend.Backend
	le lease.Lessor
	s  mvcc.KV
}

func openBackend(path string) *db { return &db{be: backend.NewDefaultBackend(path)} }

func (d *db) meta(out map[string]interface{}) {
	ci, term := cindex.ReadConsistentIndex(d.be.ReadTx())
	out["consistent_index"] = ci
	out["term"] = term
	tx := d.be.ReadTx()
	tx.Lock()
	if cs := membership.UnsafeConfStateFromBackend(lg, tx); cs != nil {
		out["conf_state"] = confStateOf(cs)
	}
	// auth/store.go reads these two keys (enableFlagKey, revisionKey) this way
	_, en := tx.UnsafeRange(buckets.Auth, []byte("authEnabled"), nil, 0)
	out["auth_enabled"] = len(en) == 1 && len(en[0]) == 1 && en[0][0] == 1
	_, rv := tx.UnsafeRange(buckets.Auth, []byte("authRevision"), nil, 0)
	if len(rv) == 1 {
		out["auth_revision"] = rc.BE64(rv[0])
	}
	// membership/cluster.go clusterVersionFromBackend, downgradeInfoFromBackend
	// (unexported in 3.5): the same ranges, the same decoding
	_, cv := tx.UnsafeRange(buckets.Cluster, []byte("clusterVersion"), nil, 0)
	if len(cv) == 1 {
		out["cluster_version"] = string(cv[0])
	}
	_, dg := tx.UnsafeRange(buckets.Cluster, []byte("downgrade"), nil, 0)
	if len(dg) == 1 {
		var d membership.DowngradeInfo
		if err := json.Unmarshal(dg[0], &d); err == nil {
			out["downgrade"] = map[string]interface{}{"target-version": d.TargetVersion, "enabled": d.Enabled}
		}
	}
	tx.Unlock()
	cl := membership.NewCluster(lg)
	cl.SetBackend(d.be)
	members, removed := cl.MembersFromBackend()
	ms := []rc.Member{}
	for id, m := range members {
		ms = append(ms, rc.Member{ID: rc.Hex(uint64(id)), Name: m.Name, PeerURLs: m.PeerURLs,
			ClientURLs: m.ClientURLs, IsLearner: m.IsLearner})
	}
	out["members"] = rc.Members(ms)
	rm := []string{}
	for id := range removed {
		rm = append(rm, rc.Hex(uint64(id)))
	}
	out["members_removed"] = rm
}

// hashKV: mvcc's HashByRev on a store restored from the backend.
func (d *db) hashKV(rev int64) (map[string]int64, error) {
	if d.s == nil {
		d.le = lease.NewLessor(lg, d.be, nil, lease.LessorConfig{MinLeaseTTL: 1})
		d.s = mvcc.NewStore(lg, d.be, d.le, mvcc.StoreConfig{})
	}
	h, cur, err := d.s.HashStorage().HashByRev(rev)
	if err != nil {
		return nil, err
	}
	return map[string]int64{"hash": int64(h.Hash), "revision": h.Revision,
		"compact_revision": h.CompactRevision, "current_revision": cur}, nil
}

func (d *db) close() {
	if d.s != nil {
		d.s.Close()
		d.le.Stop()
	}
	d.be.Close()
}
