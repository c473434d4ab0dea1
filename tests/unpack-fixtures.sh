#!/bin/sh
# Unpack the real-etcd fixtures of testdata/ into the build tree, once.
# usage: unpack-fixtures.sh TESTDATA_DIR OUT_DIR STAMP
#
# etcd preallocates each WAL segment (64 MB, nearly all zeros) and tar
# writes every zero, so the fixtures would take about 5 GB on disk in each
# build tree (the suite's, ASan's, the package build's): more than a CI
# machine may have. Punching holes where the bytes are zero keeps every
# byte as it was (reads still see the zeros; sizes are unchanged) and takes
# them to a few MB. Where the filesystem cannot punch holes, the files stay
# as tar wrote them.
set -eu
src=$1 out=$2 stamp=$3
rm -rf "$out"
mkdir -p "$out"
for t in "$src"/fixtures/*.tar.gz; do
  tar -xzf "$t" -C "$out"
done
cp -r "$src/peer-etcd" "$src/peer-auger" "$out/"
if command -v fallocate >/dev/null 2>&1; then
  find "$out" -type f -size +1M -exec fallocate --dig-holes {} \; 2>/dev/null || true
fi
touch "$stamp"
