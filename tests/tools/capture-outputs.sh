#!/usr/bin/env bash
# Every tool, every mode, on every fixture: stdout, stderr and exit status,
# one file per command, for byte-for-byte comparisons of two builds (a
# refactoring or a speed change must leave them identical):
#
#   tests/tools/capture-outputs.sh BUILD_DIR OUT_DIR
#   diff -r OUT_BEFORE OUT_AFTER
#
# Inputs are the unpacked fixtures (BUILD_DIR/tests/fixtures); paths in the
# outputs are made relative to that directory so two build dirs compare.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
OUT=$2
FX=$BUILD/tests/fixtures
WAL=$BUILD/dump-wal/dump-wal DB=$BUILD/dump-db/dump-db DIFF=$BUILD/diff-db/diff-db
mkdir -p "$OUT"
cd "$FX"

n=0
run() { # run NAME CMD...
  local name=$1 rc=0
  shift
  "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" </dev/null || rc=$?
  echo "$rc" >"$OUT/$name.rc"
  n=$((n + 1))
}

members=()
for d in healthy incident-authskew stale-member multiseg etcd-3.5 etcd-3.6 etcd-3.7 \
         evidence/copies evidence/leftovers; do
  for m in "$d"/node*; do members+=("$m"); done
done

for m in "${members[@]}" wal-damage/truncated wal-damage/flipped peer-etcd/TestNew.wal; do
  t=${m//\//_}
  run "wal-text-$t" "$WAL" --color never "$m"
  run "wal-values-$t" "$WAL" --color never --values --records --show-secrets "$m"
  run "wal-values-plain-$t" "$WAL" --color never --values "$m"
  run "wal-json-$t" "$WAL" -o json --show-secrets "$m"
  run "wal-summary-$t" "$WAL" --color never --summary "$m"
  run "wal-summary-json-$t" "$WAL" -o json --summary "$m"
  run "wal-verify-$t" "$WAL" --color never --verify "$m"
  run "wal-filter-$t" "$WAL" --color never --kind put,txn,auth_* --key-prefix / --index 5:400 "$m"
done
for m in healthy/node1 multiseg/node1; do
  run "wal-snap-${m//\//_}" "$WAL" --color never --snap "$m/member/snap"
  run "wal-snap-json-${m//\//_}" "$WAL" -o json --snap "$m/member/snap"
done

dbs=("${members[@]}" peer-auger/boltdb/db peer-etcd/corrupted_backup.db
     etcd-3.5/snapshots/*.db etcd-3.6/snapshots/*.db etcd-3.7/snapshots/*.db
     evidence/snapshot/node1.snapshot.db)
for m in "${dbs[@]}"; do
  t=${m//\//_}
  for c in status buckets keys hashkv check pages; do
    run "db-$c-$t" "$DB" --color never "$c" "$m"
    run "db-$c-json-$t" "$DB" -o json "$c" "$m"
  done
  run "db-keys-values-$t" "$DB" --color never --values keys "$m"
  run "db-keys-rev-$t" "$DB" -o json --rev 120 --prefix / keys "$m"
  run "db-hashkv-rev-$t" "$DB" -o json --rev 150 hashkv "$m"
  run "db-dump-novalues-key-$t" "$DB" --color never dump key "$m"
  for b in key meta lease auth authUsers authRoles members members_removed cluster alarm; do
    run "db-dump-$b-$t" "$DB" --color never --values dump "$b" "$m"
    run "db-dump-json-$b-$t" "$DB" -o json dump "$b" "$m"
  done
done

for d in healthy incident-authskew stale-member etcd-3.5 etcd-3.6 etcd-3.7; do
  run "diff-$d" "$DIFF" --color never "$d"/node1 "$d"/node2 "$d"/node3
  run "diff-keys-$d" "$DIFF" --color never --keys "$d"/node1 "$d"/node2 "$d"/node3
  run "diff-json-$d" "$DIFF" -o json "$d"/node1 "$d"/node2 "$d"/node3
done
run diff-pair "$DIFF" --color never healthy/node1 stale-member/node3
echo "$n commands captured in $OUT" >&2
