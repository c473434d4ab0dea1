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

# (none left: dump-db answers hashkv at the compaction revision on 3.5+ dbs,
# as etcd 3.5.10+ do once restarted, db/version.h kvf_hashkv_at_compaction_ok;
# diff-db no longer calls what only says which version wrote a db divergence:
# meta term/confState present on 3.5+ members only, confState's voters in
# another order, consistent_index saved per version: branch formats)
KNOWN = {}
