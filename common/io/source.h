/* Opening evidence, read-only and without side effects.
 *
 * Every input is opened O_RDONLY (O_NOATIME where the kernel lets us, so not
 * even the access time changes), never locked, and nothing is created beside
 * it. Plain files are mapped PROT_READ; gzip files (recognised by their magic
 * bytes, not their name) are inflated with zlib. Offsets are 64-bit and
 * always refer to the uncompressed content.
 *
 * Two access patterns:
 *   kvf_map     the whole content, random access (bbolt pages, .snap files).
 *               A gzip input is inflated into anonymous memory.
 *   kvf_stream  a forward-only window (WAL segments) in a bounded buffer:
 *               plain files are read with pread, gzip files inflated into
 *               it. Memory stays flat whatever the size of the input.
 *               (Mapping the segments instead cost four times as much on a
 *               virtual machine: every page fault and every MADV_DONTNEED
 *               is page-table work, while pread is one copy from the page
 *               cache into a buffer that stays in the CPU cache.)
 */
#ifndef KVF_SOURCE_H
#define KVF_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/err.h"

typedef struct kvf_map {
	char *path;
	const uint8_t *data;
	uint64_t size;          /* bytes of content (uncompressed) */
	uint64_t file_size;     /* bytes on disk */
	bool gz;
	void *region;           /* what to munmap */
	size_t region_len;
} kvf_map;

kvf_status kvf_map_open(kvf_map *m, const char *path, kvf_err *err);
void kvf_map_close(kvf_map *m);
/* Tell the kernel we read [off, off+len) front to back (or not at all). */
void kvf_map_advise_sequential(kvf_map *m);

typedef struct kvf_stream {
	char *path;
	bool is_gz;
	uint64_t file_size;     /* bytes on disk */
	int fd;                 /* plain: read with pread; -1 when closed */
	void *gzf;              /* gzip: the gzFile */
	/* a window [win_off, win_off + win_len) of content bytes */
	uint8_t *win;
	size_t win_len, win_cap;
	uint64_t win_off;
	uint64_t released;      /* bytes before this are never asked for again */
	bool eof;               /* nothing more can be read */
	/* gzip: the stream ended before its end block (a partial copy). What
	 * was inflated before the cut is served as the content; this says the
	 * content is cut short and where (kvf_stream_truncated). */
	bool truncated;
	uint64_t truncated_at;  /* content bytes inflated before the cut */
	char truncated_why[80]; /* zlib's message */
} kvf_stream;

kvf_status kvf_stream_open(kvf_stream *s, const char *path, kvf_err *err);
void kvf_stream_close(kvf_stream *s);

/* Make bytes [off, off + want) contiguous at *p. *got is `want` unless the
 * input ends first. Any offset at or after the last release may be asked
 * for, in any order; the pointer is valid until the next get or release. */
kvf_status kvf_stream_get(kvf_stream *s, uint64_t off, size_t want,
                          const uint8_t **p, size_t *got, kvf_err *err);
/* Everything before off will not be asked for again. */
void kvf_stream_release(kvf_stream *s, uint64_t off);
/* A gzip stream cut short: true once its end was reached, with the number
 * of content bytes before the cut (every one of them was served). */
bool kvf_stream_truncated(const kvf_stream *s, uint64_t *at);
/* Total content size when it is known without reading (plain files). */
bool kvf_stream_size(const kvf_stream *s, uint64_t *size);
/* The first offset at or after `off` that may hold data: holes of a sparse
 * plain file read as zeros, so a scan for non-zero bytes can jump them
 * (SEEK_DATA) instead of reading gigabytes of zeros. Returns `off` when it
 * cannot tell (gzip, or a filesystem without SEEK_DATA). */
uint64_t kvf_stream_next_data(const kvf_stream *s, uint64_t off);

/* Files etcd leaves in member/snap/ when it stops between two steps. Each
 * is a bbolt db (complete or not) that dump-db reads when given its path. */
typedef enum kvf_leftover_kind {
	/* %016x.snap.db: a db snapshot received from the leader (MsgSnap) and
	 * never applied: etcd renames it over member/snap/db when it applies
	 * the snapshot (3.4 etcdserver/api/snap/db.go SaveDBFrom, server.go
	 * applySnapshot), so one left behind means a crash in between. */
	KVF_LEFTOVER_SNAP_DB,
	/* db.tmp.*: the copy an interrupted defragmentation was writing
	 * (3.4 mvcc/backend/backend.go defrag: ioutil.TempFile(dir, "db.tmp.*")). */
	KVF_LEFTOVER_DEFRAG_TMP,
	/* tmp*: a leader's db snapshot still being received (SaveDBFrom writes
	 * ioutil.TempFile(snap dir, "tmp") before the rename to .snap.db). */
	KVF_LEFTOVER_SNAP_TMP,
} kvf_leftover_kind;

typedef struct kvf_leftover {
	kvf_leftover_kind kind;
	char *path;             /* DIR/member/snap/NAME */
	const char *name;       /* the basename, inside path */
	uint64_t size;          /* bytes on disk */
	int64_t mtime;          /* seconds since the epoch */
	uint64_t snap_index;    /* SNAP_DB: the raft index in its name */
} kvf_leftover;

/* "snapshot received, never applied", "interrupted defragmentation", ... */
const char *kvf_leftover_kind_name(kvf_leftover_kind k);
/* Short stable names for JSON: "snap_db", "defrag_tmp", "snap_tmp". */
const char *kvf_leftover_kind_id(kvf_leftover_kind k);

/* Where an etcd data directory keeps things. Any path may be NULL.
 * leftovers: the files above found in snap_dir, in name order (diff-db
 * and dump-db status report them; each is readable as a db). */
typedef struct kvf_datadir {
	char *member_dir;   /* DIR/member */
	char *wal_dir;      /* DIR/member/wal */
	char *snap_dir;     /* DIR/member/snap */
	char *db_path;      /* DIR/member/snap/db */
	kvf_leftover *leftovers;
	size_t n_leftovers;
} kvf_datadir;

typedef enum kvf_path_kind {
	KVF_PATH_MISSING,
	KVF_PATH_DATADIR,   /* has member/ (or is member/) */
	KVF_PATH_DIR,       /* some other directory */
	KVF_PATH_FILE,      /* a regular file */
	KVF_PATH_OTHER,     /* FIFO, device, socket: never opened */
} kvf_path_kind;

/* Classify path (stat and directory listings only, no file opened) and,
 * for a data dir, fill *dd with the paths that exist and the leftovers. */
kvf_status kvf_path_classify(const char *path, kvf_path_kind *kind,
                             kvf_datadir *dd, kvf_err *err);
void kvf_datadir_free(kvf_datadir *dd);

/* Open read-only without following surprises: O_NONBLOCK so a FIFO cannot
 * block us, O_NOATIME when permitted; refuses anything but a regular file. */
kvf_status kvf_open_evidence(const char *path, int *fd, uint64_t *size, kvf_err *err);

char *kvf_path_join(const char *a, const char *b);
bool kvf_is_dir(const char *path);

#endif
