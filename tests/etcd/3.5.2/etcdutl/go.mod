// etcd 3.5.2's etcdutl: written by tests/etcd/pin.py from
// go.etcd.io/etcd/etcdutl/v3@v3.5.2's own go.mod (see build.sh).
module kvforensics.test/etcd/3.5.2/etcdutl

go 1.16

require go.etcd.io/etcd/etcdutl/v3 v3.5.2

require (
	github.com/spf13/cobra v1.1.3
	go.etcd.io/etcd/pkg/v3 v3.5.2
)
