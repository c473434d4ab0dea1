// etcdctl 3.5's main (etcdctl/main.go), v3 API only: like etcd's, it reads
// and unsets ETCDCTL_API before ctlv3 reads its flags from ETCDCTL_*.
package main

import (
	"fmt"
	"os"

	"go.etcd.io/etcd/etcdctl/v3/ctlv3"
)

func main() {
	api := os.Getenv("ETCDCTL_API")
	os.Unsetenv("ETCDCTL_API")
	if api != "" && api != "3" {
		fmt.Fprintf(os.Stderr, "unsupported API version: %v (this build has only v3)\n", api)
		os.Exit(1)
	}
	ctlv3.MustStart()
}
