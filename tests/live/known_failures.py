"""Assertions about our tools that fail on a newer etcd: known, written down
in tests/etcd/NOTES-versions.md, and not fixed yet (the tools are not this
branch's to change).

A live test run on etcd version NAME whose every failure matches one of
KNOWN[(test, NAME)] passes, printing each as KNOWN; any other failure fails
it as before. An entry that matches no failure fails the test too ("no
longer fails"), so that a fix in the tools removes its entry here. To see
them fail for real: KVF_LIVE_NO_KNOWN=1.

Keys: (test file name without .py, version name as Cluster(version=) takes
it); values: (what, regex matched against the failure message).
"""

# (none: dump-db answers hashkv at the compaction revision on 3.5+ dbs, as
# etcd 3.5.10+ do once restarted; db/version.h kvf_hashkv_at_compaction_ok)
KNOWN = {}
