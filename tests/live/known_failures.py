"""Assertions about our tools that fail on a newer etcd: known, written down
in tests/etcd/NOTES-versions.md, and not fixed yet (the tools are not this
branch's to change).

A live test run on etcd version NAME whose every failure matches one of
KNOWN[(test, NAME)] passes, printing each as KNOWN; any other failure fails
it as before. An entry that matches no failure fails the test too ("no
longer fails"), so that a fix in the tools removes its entry here. To see
them fail for real: KVF_LIVE_NO_KNOWN=1.

Keys: (test file name without .py, version name as Cluster(version=) takes
it, or the test's argument); values: (what, regex matched against the
failure message[, "intermittent"]). An intermittent entry (it depends on
etcd's map order) is not required to fail.
"""

# dump-db refuses hashkv at the compaction revision itself ("revision C has
# been compacted", exit 2), as etcd 3.4 and 3.5 up to 3.5.9 do; 3.5.10+
# answer it, and once restarted they compute it from the db, which dump-db
# has: the test's phase after the restart compares the two.
_HASHKV_AT_COMPACTION = [
    ("dump-db hashkv --rev C exits 2 (tool refuses the compaction revision)",
     r"^dump-db -o json hashkv --rev (\d+) \S+: exit 2, want 0; stderr: dump-db: \S+: "
     r"revision \1 has been compacted"),
    ("dump-db hashkv --rev C differs from restarted etcd's answer",
     r"^node\d: dump-db hashkv --rev \d+ \(the compaction revision\) after the restart: exit 2, "
     r"etcd 3\.\d+\.\d+ said \(\d+, \d+\)$"),
]

# diff-db calls a healthy cluster in the middle of a rolling upgrade
# divergent ("unexplained divergence", exit 1) for meta keys that only say
# which version wrote the db, while etcd's hashkv and keys agree everywhere.
_MIXED_34_35 = [
    ("diff-db: meta term/confState only on the 3.5 member is a divergence",
     r"^diff-db on a healthy 3\.4/3\.5 cluster: exit 1, verdict 'unexplained divergence', "
     r"differing keys outside the key space \{'meta': \['confState', 'term'\]\}"),
]
# a restarted 3.7 member writes confState with its voters in the order of a
# Go map (buildConfStateFromV3store), 3.6 sorted: same set, other bytes
_MIXED_36_37 = [
    ("diff-db: confState voters in another order is a divergence",
     r"^diff-db on a healthy 3\.6/3\.7 cluster: exit 1, verdict 'unexplained divergence', "
     r"differing keys outside the key space \{'meta': \['confState'\]\}", "intermittent"),
]

KNOWN = {
    ("mixed_live", "3.4,3.5"): _MIXED_34_35,
    ("mixed_live", "3.6,3.7"): _MIXED_36_37,
    ("dump_db_live", "3.5"): _HASHKV_AT_COMPACTION,
    ("dump_db_live", "3.6"): _HASHKV_AT_COMPACTION,
    ("dump_db_live", "3.7"): _HASHKV_AT_COMPACTION,
}
