/* What kind of etcd evidence a file is, from its first bytes: used to tell
 * a user who gave a file to the wrong tool which one reads it.
 *
 * Magic numbers only (bbolt meta: 0xED0CDAED after the 16-byte page header
 * of page 0 or page 1; LMDB meta: 0xBEEFC0DE at the same place; gzip: 1f 8b);
 * an `etcdctl snapshot save` file is a bbolt db whose length is 32 past a
 * multiple of 512 (its SHA-256, etcdutl's hasChecksum); a member/snap/%016x-%016x.snap
 * file is one snappb.Snapshot {crc = 1, data = 2} spanning the whole file.
 * Whether a file is a WAL segment is the WAL reader's question (wal.h:
 * kvf_wal_sniff); this only names what it is instead. */
#ifndef KVF_IDENTIFY_H
#define KVF_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum kvf_file_kind {
	KVF_FILE_UNKNOWN,
	KVF_FILE_BBOLT,          /* a bbolt db (member/snap/db, a .snap.db) */
	KVF_FILE_SNAPSHOT_DB,    /* an etcdctl snapshot save file */
	KVF_FILE_LMDB,           /* an LMDB data.mdb */
	KVF_FILE_SNAP,           /* a member/snap/%016x-%016x.snap file */
	KVF_FILE_GZIP,           /* gzip data (the caller did not inflate it) */
	KVF_FILE_EMPTY,          /* no content at all (size 0) */
} kvf_file_kind;

/* head: the first bytes of the content (at least 64 KiB + 24 when the file
 * has them, to see a bbolt page 1 of 64 KiB pages); size: the content's
 * length, or UINT64_MAX when unknown (a gzip stream). */
kvf_file_kind kvf_identify(const uint8_t *head, size_t n, uint64_t size);

/* What a file kvf_identify named with an unknown size is, now that its
 * size is known (a gzip stream inflated to its end): a bbolt db whose
 * length is 32 past a multiple of 512 is a snapshot file. */
kvf_file_kind kvf_identify_sized(kvf_file_kind k, uint64_t size);

/* "a bbolt database", "an etcdctl snapshot file (bbolt db + SHA-256)", ... */
const char *kvf_file_kind_name(kvf_file_kind k);

/* How many bytes of the head kvf_identify looks at, at most. */
#define KVF_IDENTIFY_HEAD ((64u << 10) + 24)

#endif
