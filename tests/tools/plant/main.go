// plant: writes the few on-disk states the detector fixtures cannot get from
// a running etcd (tests/tools/make-detector-fixtures.py says which and why).
// Run only on copies of data dirs, never on evidence.
//
//	plant scheduled DB REV          meta/scheduledCompactRev = REV (17-byte revision, sub 0)
//	plant alarm DB MEMBER_ID TYPE   bucket alarm gets AlarmMember{MemberID, Alarm: TYPE} (2 = CORRUPT)
//	plant list DB BUCKET            every pair of BUCKET, one "KEYHEX VALUEHEX" a line (read only)
//	plant apply DB                  one bbolt transaction of the edits on stdin, one a line:
//	                                  put BUCKET KEYHEX VALUEHEX | del BUCKET KEYHEX
//	                                (a key to del that is not there fails the whole transaction)
//
// list and apply are what tests/integration/planted.py builds its planted
// states from: it decides every edit itself and says so in its docstring.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

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
	if len(os.Args) == 4 && os.Args[1] == "list" {
		os.Exit(list(os.Args[2], os.Args[3]))
	}
	if len(os.Args) == 3 && os.Args[1] == "apply" {
		os.Exit(apply(os.Args[2]))
	}
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: plant scheduled DB REV | plant alarm DB MEMBER_ID TYPE | plant list DB BUCKET | plant apply DB < EDITS")
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

func list(path, bucket string) int {
	db, err := bolt.Open(path, 0600, &bolt.Options{ReadOnly: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return fmt.Errorf("no bucket %q", bucket)
		}
		return b.ForEach(func(k, v []byte) error {
			_, err := fmt.Fprintf(w, "%x %x\n", k, v)
			return err
		})
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func apply(path string) int {
	db, err := bolt.Open(path, 0600, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	err = db.Update(func(tx *bolt.Tx) error {
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			if len(f) < 3 || (f[0] == "put") != (len(f) == 4) || (f[0] != "put" && f[0] != "del") {
				return fmt.Errorf("bad edit %q", sc.Text())
			}
			k, err := hex.DecodeString(f[2])
			if err != nil {
				return err
			}
			b, err := tx.CreateBucketIfNotExists([]byte(f[1]))
			if err != nil {
				return err
			}
			if f[0] == "del" {
				if b.Get(k) == nil {
					return fmt.Errorf("del %s %s: no such key", f[1], f[2])
				}
				err = b.Delete(k)
			} else {
				var v []byte
				if v, err = hex.DecodeString(f[3]); err == nil {
					err = b.Put(k, v)
				}
			}
			if err != nil {
				return err
			}
			n++
		}
		return sc.Err()
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%d edits\n", n)
	return 0
}
