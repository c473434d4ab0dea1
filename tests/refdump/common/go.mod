// What the per-version reference readers share: JSON shapes and helpers
// that take etcd's decoded values, never etcd's packages (each version's
// module brings its own, see ../build.sh).
module kvforensics.test/refdump/common

go 1.22

require google.golang.org/protobuf v1.26.0
