// plant: writes the few on-disk states the detector fixtures cannot get from
// a running etcd (tests/tools/make-detector-fixtures.py says which and why).
// Run only on copies of data dirs, never on evidence.
//
//	plant scheduled DB REV          meta/scheduledCompactRev = REV (17-byte revision, sub 0)
//	plant alarm DB MEMBER_ID TYPE   bucket alarm gets AlarmMember{MemberID, Alarm: TYPE} (2 = CORRUPT)
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

func rev(main int64) []byte {
	b := make([]byte, 17)
	binary.BigEndian.PutUint64(b, uint64(main))
	b[8] = '_'
	return b
}

func varint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: plant scheduled DB REV | plant alarm DB MEMBER_ID TYPE")
		os.Exit(2)
	}
	db, err := bolt.Open(os.Args[2], 0600, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		switch os.Args[1] {
		case "scheduled":
			r, err := strconv.ParseInt(os.Args[3], 10, 64)
			if err != nil {
				return err
			}
			return tx.Bucket([]byte("meta")).Put([]byte("scheduledCompactRev"), rev(r))
		case "alarm":
			id, err := strconv.ParseUint(os.Args[3], 0, 64)
			if err != nil {
				return err
			}
			t, err := strconv.ParseUint(os.Args[4], 10, 64)
			if err != nil {
				return err
			}
			k := varint([]byte{0x08}, id)
			k = varint(append(k, 0x10), t)
			b, err := tx.CreateBucketIfNotExists([]byte("alarm"))
			if err != nil {
				return err
			}
			return b.Put(k, []byte{})
		}
		return fmt.Errorf("unknown command %q", os.Args[1])
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
