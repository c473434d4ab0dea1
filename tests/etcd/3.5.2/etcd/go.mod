// etcd 3.5.2's etcd: written by tests/etcd/pin.py from
// go.etcd.io/etcd/server/v3@v3.5.2's own go.mod (see build.sh).
module kvforensics.test/etcd/3.5.2/etcd

go 1.16

require go.etcd.io/etcd/server/v3 v3.5.2
