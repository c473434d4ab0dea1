#!/usr/bin/env bash
# How the db commands scale: 1x, 2x, 4x and 8x inputs up to an 8 GiB db
# (etcd's largest supported quota), time and heap, as ratios to cat(1) of
# the same bytes.
#
#   bench/scale.sh            # builds the inputs when missing, prints the table
#
# Environment:
#   SCALE_DIR  inputs (default /tmp/kvf-scale): x1/db x2/db x4/db x8/db
#   SIZES      which of them (default "1 2 4 8")
#   RUNS       runs per mode and size; the best time counts (default 1)
#   BUILD      build directory (default build/ of this checkout);
#   DUMP_DB, DIFF_DB  the binaries
#
# The inputs (built once, about 16 GB of disk, 5 minutes; remove SCALE_DIR
# afterwards). A real load of 5.6 million puts into etcd 3.4.23 runs at
# about 1,800 puts/s on the shared 2-core machine this was written on (52
# minutes), so only the start is a real member; the rest repeats the bench
# load through etcd's own storage code:
#   1. base.db: a real etcd 3.4.23 member (Debian's etcd, one member,
#      --quota-backend-bytes 8589934592) after 50,000 puts of 1000-byte values
#      by ../shared/tools/loader over gRPC (/registry/pods-b0/...).
#   2. x1/db = base.db + 650,000 puts, x2 = x1 + 700,000, x4 = x2 + 1,400,000,
#      x8 = x4 + 2,800,000 (700,000 per prefix /registry/pods-bN), with the
#      loader's keys and values (a quarter of the puts overwrite a key), by
#      bench/scale-extend (etcd 3.4.23's mvcc store and bbolt backend, Debian's
#      golang-etcd-server-dev: the code a member's apply loop runs for a put,
#      one revision per put, the backend's default 100 ms / 10,000-op
#      batches; no raft, no WAL). So x1 has 700,001 revisions, x8 5,600,001.
#      bench/NOTES-scale.md has what etcd itself said of the result.
#
# Every size: the db's pages are read once (cat) so that the page cache is
# warm, then each mode runs in turn: cat of the db, dump-db status, hashkv,
# keys, check; cat of the three members' bytes, diff-db of three members
# (a, b, c: three symlinks to the db, as bench/diff.sh does: three mappings
# of one file, the replicas agree, exit 0). Measured by bench/measure_mem.py:
# wall time, CPU time, the peak of RssAnon (heap: what the tool allocated)
# and of RssFile (pages of the mapped db: page cache, not allocated). Heap
# and mapped pages are sampled every 20 ms. A benchmark, not a test.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
RUNS=${RUNS:-1}
SIZES=${SIZES:-1 2 4 8}
SCALE_DIR=${SCALE_DIR:-/tmp/kvf-scale}
BUILD=${BUILD:-$repo/build}
DUMP_DB=${DUMP_DB:-$BUILD/dump-db/dump-db}
DIFF_DB=${DIFF_DB:-$BUILD/diff-db/diff-db}

die() { echo "scale.sh: $*" >&2; exit 2; }

command -v python3 >/dev/null || die "python3 is missing: apt-get install python3"
[[ -x $DUMP_DB ]] || die "no dump-db at $DUMP_DB: build it (meson setup build && ninja -C build) or set DUMP_DB"
[[ -x $DIFF_DB ]] || die "no diff-db at $DIFF_DB"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$RUNS'"

# ---- the inputs ------------------------------------------------------------

go_build() {   # go_build SRC_DIR OUT: GOPATH mode on Debian's Go packages
	local gp=$SCALE_DIR/gopath name
	name=$(basename "$2")
	mkdir -p "$gp/src/$name"
	cp "$1"/*.go "$gp/src/$name/"
	(cd "$gp/src/$name" && GO111MODULE=off GOPATH=$gp:/usr/share/gocode go build -o "$2" .) ||
		die "cannot build $1 (apt-get install golang-go golang-etcd-server-dev)"
}

make_base() {   # a real etcd 3.4.23 member after 50,000 puts
	local loader_src=$repo/../shared/tools/loader pid port=41379 i
	[[ -d $loader_src ]] || loader_src=$repo/../../shared/tools/loader
	[[ -d $loader_src ]] || die "no ../shared/tools/loader to load the base member with"
	command -v etcd >/dev/null || die "etcd (3.4) is missing: apt-get install etcd-server"
	go_build "$loader_src" "$SCALE_DIR/loader"
	rm -rf "$SCALE_DIR/etcd"
	nice -n 5 etcd --name scale --data-dir "$SCALE_DIR/etcd" \
		--listen-client-urls http://127.0.0.1:$port --advertise-client-urls http://127.0.0.1:$port \
		--listen-peer-urls http://127.0.0.1:$((port + 1)) \
		--initial-advertise-peer-urls http://127.0.0.1:$((port + 1)) \
		--initial-cluster scale=http://127.0.0.1:$((port + 1)) \
		--quota-backend-bytes 8589934592 --snapshot-count 20000 \
		>"$SCALE_DIR/etcd.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 50; i++)); do
		ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:$port endpoint health >/dev/null 2>&1 && break
		sleep 0.2
	done
	nice -n 5 "$SCALE_DIR/loader" http://127.0.0.1:$port 50000 1000 64 /registry/pods-b0 >&2 ||
		{ kill "$pid"; die "the load failed"; }
	kill "$pid"
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	cp "$SCALE_DIR/etcd/member/snap/db" "$SCALE_DIR/base.db"
}

extend() {   # extend FROM TO PREFIX...: TO = FROM + 700,000 puts per prefix
	local from=$1 to=$2 n=700000
	shift 2
	[[ $from == "$SCALE_DIR/base.db" ]] && n=650000
	mkdir -p "$(dirname "$to")"
	cp "$from" "$to.part"
	nice -n 5 "$SCALE_DIR/scale-extend" "$to.part" "$n" 1000 "$@" >&2 || die "scale-extend $to failed"
	mv "$to.part" "$to"
}

ensure() {   # ensure N: xN/db exists, built from the size below it
	local s=$1
	[[ -f $SCALE_DIR/x$s/db ]] && return
	mkdir -p "$SCALE_DIR"
	echo "building $SCALE_DIR/x$s/db" >&2
	[[ -x $SCALE_DIR/scale-extend ]] || go_build "$here/scale-extend" "$SCALE_DIR/scale-extend"
	case $s in
	1) [[ -f $SCALE_DIR/base.db ]] || make_base
	   extend "$SCALE_DIR/base.db" "$SCALE_DIR/x1/db" /registry/pods-b1 ;;
	2) ensure 1; extend "$SCALE_DIR/x1/db" "$SCALE_DIR/x2/db" /registry/pods-b2 ;;
	4) ensure 2; extend "$SCALE_DIR/x2/db" "$SCALE_DIR/x4/db" /registry/pods-b3 /registry/pods-b4 ;;
	8) ensure 4; extend "$SCALE_DIR/x4/db" "$SCALE_DIR/x8/db" \
		/registry/pods-b5 /registry/pods-b6 /registry/pods-b7 /registry/pods-b8 ;;
	*) die "sizes are 1 2 4 8, not $s" ;;
	esac
}

for s in $SIZES; do ensure "$s"; done

# ---- the measurements --------------------------------------------------------

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
modes=(cat status hashkv keys check cat3 diff)

mode_cmd() {
	local m=$1 db=$2
	case $m in
	cat) cmd=(cat "$db") ;;
	status) cmd=("$DUMP_DB" status "$db") ;;
	hashkv) cmd=("$DUMP_DB" hashkv "$db") ;;
	keys) cmd=("$DUMP_DB" keys "$db") ;;
	check) cmd=("$DUMP_DB" check "$db") ;;
	cat3) cmd=(cat "$tmp/members/a" "$tmp/members/b" "$tmp/members/c") ;;
	diff) cmd=("$DIFF_DB" "$tmp/members/a" "$tmp/members/b" "$tmp/members/c") ;;
	esac
}

declare -A sec cpu heap mapped bytes
for s in $SIZES; do
	db=$SCALE_DIR/x$s/db
	[[ -f $db ]] || die "no $db"
	rm -rf "$tmp/members" && mkdir "$tmp/members"
	# diff-db refuses one file given twice (identity check), so b and c are
	# copies (three times the db's size on disk under $TMPDIR, for the run)
	ln -s "$db" "$tmp/members/a"
	for n in b c; do cp --reflink=auto "$db" "$tmp/members/$n"; done
	bytes[$s]=$(cat "$db" | wc -c)   # and the page cache is warm
	for ((r = 1; r <= RUNS; r++)); do
		for m in "${modes[@]}"; do
			mode_cmd "$m" "$db"
			python3 "$here/measure_mem.py" "$tmp/m" nice -n 0 "${cmd[@]}" ||
				die "${cmd[*]}: exit $?"
			read -r us c anon file <"$tmp/m"
			k=$s.$m
			if [[ -z ${sec[$k]:-} ]] || ((us < ${sec[$k]})); then sec[$k]=$us cpu[$k]=$c; fi
			if [[ -z ${heap[$k]:-} ]] || ((anon > ${heap[$k]})); then heap[$k]=$anon; fi
			if [[ -z ${mapped[$k]:-} ]] || ((file > ${mapped[$k]})); then mapped[$k]=$file; fi
		done
		echo "size ${s}x: run $r/$RUNS done (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	done
done

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "machine:  $(nproc) CPUs, ${cpu_model:-unknown CPU}, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "dump-db:  $DUMP_DB ($("$DUMP_DB" --version | head -n 1))"
echo "inputs:   $SCALE_DIR/x{$(echo "$SIZES" | tr ' ' ,)}/db; page cache warm, best of $RUNS runs"
echo
echo "x cat: the command's wall time over cat's of the same bytes (the db; for diff-db the three"
echo "members'); per byte vs 1x: (seconds / size) over the 1x seconds (1.00 = linear), of wall"
echo "time and of CPU time (user + system: less moved by busy neighbours); heap: peak RssAnon;"
echo "mapped: peak RssFile (pages of the mapped db, page cache)."
echo
echo "| size | db bytes | command | seconds | CPU s | x cat | per byte vs 1x | CPU per byte vs 1x | heap MiB | mapped MiB |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
first=${SIZES%% *}
for s in $SIZES; do
	for m in "${modes[@]}"; do
		k=$s.$m
		case $m in
		cat|cat3) ref=$k ;;
		diff) ref=$s.cat3 ;;
		*) ref=$s.cat ;;
		esac
		case $m in
		cat) label='`cat DB`' ;;
		cat3) label='`cat a b c`' ;;
		diff) label='`diff-db a b c`' ;;
		*) label="\`dump-db $m\`" ;;
		esac
		awk -v s="$s" -v f="$first" -v b="${bytes[$s]}" -v l="$label" -v us="${sec[$k]}" \
			-v c="${cpu[$k]}" -v ref="${sec[$ref]}" -v one="${sec[$first.$m]}" -v cone="${cpu[$first.$m]}" \
			-v h="${heap[$k]}" -v mp="${mapped[$k]}" 'BEGIN {
			printf "| %sx | %.0f | %s | %.3f | %.3f | %.2f | %.2f | %.2f | %.1f | %.1f |\n",
			       s, b, l, us / 1e6, c / 1e6, us / ref, (us / s) / (one / f), (c / s) / (cone / f),
			       h / 1024, mp / 1024
		}'
	done
done
