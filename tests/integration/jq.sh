#!/bin/bash
# The JSON of every tool, read with jq as users will read it. Each line states
# a fact of the real fixtures; jq -e fails the test when it does not hold.
set -u
B=$KVF_BUILD FX=$KVF_FIXTURES
fail=0
expect() { # expect DESCRIPTION JQ-FILTER COMMAND...
  local what=$1 filter=$2; shift 2
  if ! "$@" 2>/dev/null | jq -e "$filter" >/dev/null; then
    echo "FAIL: $what"; fail=1
  fi
}
wal=$B/dump-wal/dump-wal db=$B/dump-db/dump-db diff=$B/diff-db/diff-db
h=$FX/healthy/node1 inc="$FX/incident-authskew/node1 $FX/incident-authskew/node2 $FX/incident-authskew/node3"

expect "393 entries in healthy/node1" -s '[.[] | select(.record == "entry")] | length == 393' $wal -o json --no-snap $h
expect "every put names its user and auth revision" -s \
  '[.[] | select(.request.kind? == "put")] | all(.request.header.username == "root" and .request.header.auth_revision == 12)' \
  $wal -o json $h
expect "request ids are strings" -s '[.[] | select(.request.header?) | .request.id] | all(type == "string")' $wal -o json $h
expect "the flipped byte is one crc_mismatch at 29936" -s \
  '[.[] | select(.finding == "crc_mismatch")] | length == 1 and .[0].offset == 29936' $wal -o json $FX/wal-damage/flipped
expect "summary counts kinds" '.kinds.put == 170 and .kinds.authenticate == 196 and .damage == 0' $wal -o json --summary $h
expect "verify says clean" '.verdict == "clean" and .crc_mismatch == 0' $wal -o json --verify $h
expect "status: live keys and auth revision" '.keys.live == 129 and .auth_revision == 12 and .consistent_index == 373' \
  $db -o json status $h
expect "status: users and members" '(.users | sort) == ["alice","bob","root"] and (.members | length) == 3' $db -o json status $h
expect "keys: 129 keys sorted" -s 'length == 129 and (map(.key) == (map(.key) | sort))' $db -o json keys $h
expect "keys --rev 150 --prefix: what existed then" -s \
  'all(.key | startswith("/probe/")) and all(.mod_revision <= 150)' $db -o json keys --rev 150 --prefix /probe/ $h
expect "k8s summaries of pods" -s '[.[] | select(.key | startswith("/registry/pods/"))] | all(.k8s.kind == "Pod")' \
  $db -o json keys $h
expect "hashkv equals the live member's" '.hash == 1176697284 and .compact_revision == 104' $db -o json hashkv $h
expect "dump authUsers hides the hash" -s 'all(has("password_hash_bytes") and (has("password") | not))' \
  $db -o json dump authUsers $h
expect "check on corrupted_backup.db" '.clean == false and ([.findings[].message] | sort) == ["page 3: already freed","page 4: unreachable unfreed"]' \
  $db -o json check $FX/peer-etcd/corrupted_backup.db
expect "diff-db: incident" '.verdict.cause == "auth_revision_skew" and .verdict.most_complete_node == "node3" and (.divergent_keys | length) == 42' \
  $diff -o json $inc
expect "diff-db: every divergent key has a WAL entry with its auth revision" \
  '.divergent_keys | all((.wal | length) > 0 and all(.wal[]; .auth_revision > 0))' $diff -o json $inc
echo "jq: done"
exit $fail
