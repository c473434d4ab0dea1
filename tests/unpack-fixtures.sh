#!/bin/sh
# Unpack the real-etcd fixtures of testdata/ into the build tree, once.
# usage: unpack-fixtures.sh TESTDATA_DIR OUT_DIR STAMP
set -eu
src=$1 out=$2 stamp=$3
rm -rf "$out"
mkdir -p "$out"
for t in "$src"/fixtures/*.tar.gz; do
  tar -xzf "$t" -C "$out"
done
cp -r "$src/peer-etcd" "$src/peer-auger" "$out/"
touch "$stamp"
