// plant-lost-write: the on-disk state etcd 3.5.0-3.5.2 leaves when it is
// killed between a backend commit and the apply it ran ahead of (etcd issue
// 13766): consistent_index covers an entry whose write is not in bucket
// `key`, and every later write sits one revision lower than on the peers
// (the skipped entry never took its revision).
//
// A SIGKILL loop on a real 3.5.2 member did not hit that window here (see
// testdata/fixtures/README-causes.md), so the state is planted on a real
// member's db: revision R (a put of a key no later revision touches) is
// removed and every revision above it renumbered down by one, its
// KeyValue's mod_revision (and create_revision, when above R) with it.
// meta (consistent_index, term) is left alone: it still covers the entry.
//
//	plant-lost-write DB REVISION
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// mvccpb.KeyValue: key=1 bytes, create_revision=2, mod_revision=3,
// version=4, value=5 bytes, lease=6 (all varints but the bytes).
type kv struct {
	key, value                     []byte
	create, mod, version, lease    int64
}

func uvarint(b []byte) (uint64, int) { return binary.Uvarint(b) }

func parse(b []byte) (kv, error) {
	var x kv
	for len(b) > 0 {
		tag, n := uvarint(b)
		if n <= 0 {
			return x, fmt.Errorf("bad tag")
		}
		b = b[n:]
		f, wt := tag>>3, tag&7
		switch wt {
		case 0:
			v, n := uvarint(b)
			if n <= 0 {
				return x, fmt.Errorf("bad varint")
			}
			b = b[n:]
			switch f {
			case 2:
				x.create = int64(v)
			case 3:
				x.mod = int64(v)
			case 4:
				x.version = int64(v)
			case 6:
				x.lease = int64(v)
			}
		case 2:
			l, n := uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return x, fmt.Errorf("bad length")
			}
			d := b[n : n+int(l)]
			b = b[n+int(l):]
			switch f {
			case 1:
				x.key = d
			case 5:
				x.value = d
			}
		default:
			return x, fmt.Errorf("wire type %d", wt)
		}
	}
	return x, nil
}

func putVarint(out []byte, f int, v int64) []byte {
	if v == 0 {
		return out
	}
	out = binary.AppendUvarint(out, uint64(f<<3))
	return binary.AppendUvarint(out, uint64(v))
}

func putBytes(out []byte, f int, d []byte) []byte {
	if len(d) == 0 {
		return out
	}
	out = binary.AppendUvarint(out, uint64(f<<3|2))
	out = binary.AppendUvarint(out, uint64(len(d)))
	return append(out, d...)
}

// gogo/protobuf's order and zero-omission, as etcd marshals it.
func marshal(x kv) []byte {
	var out []byte
	out = putBytes(out, 1, x.key)
	out = putVarint(out, 2, x.create)
	out = putVarint(out, 3, x.mod)
	out = putVarint(out, 4, x.version)
	out = putBytes(out, 5, x.value)
	out = putVarint(out, 6, x.lease)
	return out
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: plant-lost-write DB REVISION")
		os.Exit(2)
	}
	rev, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err != nil || rev <= 1 {
		fmt.Fprintln(os.Stderr, "bad revision")
		os.Exit(2)
	}
	db, err := bolt.Open(os.Args[1], 0600, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("key"))
		type pair struct{ k, v []byte }
		var above []pair
		var lost []byte
		c := b.Cursor()
		start := make([]byte, 17)
		binary.BigEndian.PutUint64(start, uint64(rev))
		start[8] = '_'
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			above = append(above, pair{append([]byte(nil), k...), append([]byte(nil), v...)})
		}
		if len(above) == 0 || int64(binary.BigEndian.Uint64(above[0].k)) != rev {
			return fmt.Errorf("no revision %d", rev)
		}
		for _, p := range above {
			if err := b.Delete(p.k); err != nil {
				return err
			}
		}
		for _, p := range above {
			main := int64(binary.BigEndian.Uint64(p.k))
			x, err := parse(p.v)
			if err != nil {
				return err
			}
			if main == rev {
				lost = x.key
				continue
			}
			if string(x.key) == string(lost) {
				return fmt.Errorf("revision %d touches the lost key again: pick another", main)
			}
			nk := append([]byte(nil), p.k...)
			binary.BigEndian.PutUint64(nk, uint64(main-1))
			x.mod--
			if x.create > rev {
				x.create--
			}
			if err := b.Put(nk, marshal(x)); err != nil {
				return err
			}
		}
		fmt.Printf("removed revision %d (%s); renumbered %d revisions above it\n", rev, lost, len(above)-1)
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
