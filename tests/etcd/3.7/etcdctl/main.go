// etcdctl's own main (etcdctl/main.go), built from etcd's Go module.
package main

import "go.etcd.io/etcd/etcdctl/v3/ctlv3"

func main() {
	ctlv3.MustStart()
}
