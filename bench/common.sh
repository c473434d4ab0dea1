# Sourced by the bench scripts. Needs $repo and $tmp (removed at exit) and a
# die() of the caller's.

# bench_input PATH MEMBER_PATH WHAT: PATH when it exists; otherwise unpack
# data/MEMBER_PATH of ../shared/bench/etcd-1m.tar.gz into $tmp and print
# where it went. WHAT names it in the messages.
bench_input() {
	local path=$1 member_path=$2 what=$3 tarball= c
	if [[ -e $path ]]; then
		echo "$path"
		return
	fi
	for c in "$repo/../shared/bench/etcd-1m.tar.gz" "$repo/../../shared/bench/etcd-1m.tar.gz"; do
		if [[ -f $c ]]; then tarball=$c; break; fi
	done
	[[ -n $tarball ]] || die "$path does not exist, and no ../shared/bench/etcd-1m.tar.gz to unpack"
	echo "unpacking the $what of $tarball into $tmp (removed at exit)" >&2
	tar -xzf "$tarball" -C "$tmp" "data/$member_path"
	echo "$tmp/data/$member_path"
}
