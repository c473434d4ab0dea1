// kvfextend: repeats the bench load (loader's keys and values) into an
// existing etcd 3.4 member db through etcd 3.4.23's own mvcc store and
// bbolt backend (the code a member's apply loop runs for a put), without
// raft or a WAL: one put per write txn (one revision each, as etcd applies
// a Put request), the backend's default batching (100 ms / 10000 ops, as a
// member). The consistent_index stays what the member wrote, so a restarted
// member replays nothing and serves the extended db.
//
// usage: kvfextend DB N VALUE_BYTES PREFIX...   (N puts per prefix)
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/lease"
	"go.etcd.io/etcd/mvcc"
	"go.etcd.io/etcd/mvcc/backend"
	"go.etcd.io/etcd/pkg/traceutil"
	"go.uber.org/zap"
)

type ci uint64

func (c ci) ConsistentIndex() uint64 { return uint64(c) }

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: kvfextend DB N VALUE_BYTES PREFIX...")
		os.Exit(2)
	}
	n, _ := strconv.Atoi(os.Args[2])
	vb, _ := strconv.Atoi(os.Args[3])
	be := backend.NewDefaultBackend(os.Args[1])
	tx := be.BatchTx()
	tx.Lock()
	_, vs := tx.UnsafeRange([]byte("meta"), []byte("consistent_index"), nil, 0)
	tx.Unlock()
	if len(vs) != 1 {
		fmt.Fprintln(os.Stderr, "no consistent_index in meta: not a member's db")
		os.Exit(1)
	}
	index := ci(binary.BigEndian.Uint64(vs[0]))
	// a lessor as the server has one (no leases are granted: the bench
	// load has none; put asks it for an overwritten key's lease)
	le := lease.NewLessor(zap.NewNop(), be, nil, lease.LessorConfig{MinLeaseTTL: 1})
	s := mvcc.NewStore(zap.NewNop(), be, le, index, mvcc.StoreConfig{})
	distinct := n * 3 / 4
	base := strings.Repeat(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"app","image":"registry.local/app:1.0"}]}}`, vb/100+1)
	start := time.Now()
	for _, prefix := range os.Args[4:] {
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("%s/ns-%02d/pod-%07d", prefix, i%100, i%distinct)
			v := fmt.Sprintf("%d:%s", i, base)[:vb]
			tw := s.Write(traceutil.TODO())
			tw.Put([]byte(k), []byte(v), lease.NoLease)
			tw.End()
		}
		fmt.Printf("%s: %d puts, rev %d, %s\n", prefix, n, s.Rev(), time.Since(start))
	}
	s.Close()
	le.Stop()
	be.Close()
}
