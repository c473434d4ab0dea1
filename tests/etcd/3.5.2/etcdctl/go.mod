// etcd 3.5.2's etcdctl: written by tests/etcd/pin.py from
// go.etcd.io/etcd/etcdctl/v3@v3.5.2's own go.mod (see build.sh).
module kvforensics.test/etcd/3.5.2/etcdctl

go 1.16

require go.etcd.io/etcd/etcdctl/v3 v3.5.2
