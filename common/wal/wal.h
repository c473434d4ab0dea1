/* etcd WAL segments: frames, records and the CRC chain.
 *
 * A segment is a sequence of frames: a little-endian u64 length word (low
 * 56 bits: record length; top bit set: bits 56..58 give the padding), the
 * walpb.Record bytes, padding to 8 bytes. A zero length word ends the
 * records (the rest is preallocated zeros). Each record's crc is the running
 * CRC-32C after its data, chained across records and across segments: every
 * segment opens with a crc record carrying the value at the end of the one
 * before.
 *
 * kvf_wal_next() yields, in file order, every record and every finding
 * (damage, or a normal condition such as the preallocated tail). It never
 * gives up on damage: after a bad frame it resynchronises on the next frame
 * that parses and chains, so every record after the damage is still seen.
 * Only an I/O error on the input stops it. */
#ifndef KVF_WAL_H
#define KVF_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/err.h"
#include "io/identify.h"

typedef enum kvf_wal_rec_type {
	KVF_WAL_METADATA = 1,   /* etcdserverpb.Metadata: node and cluster id */
	KVF_WAL_ENTRY = 2,      /* raftpb.Entry */
	KVF_WAL_STATE = 3,      /* raftpb.HardState */
	KVF_WAL_CRC = 4,        /* restarts the chain from its crc field */
	KVF_WAL_SNAPSHOT = 5,   /* walpb.Snapshot: a snapshot was taken here */
} kvf_wal_rec_type;

const char *kvf_wal_rec_type_name(int64_t type);

typedef struct kvf_wal_segment {
	char *path;
	const char *name;        /* basename, inside path */
	bool named;              /* name is %016x-%016x.wal (or .wal.gz) */
	uint64_t seq;            /* from the name */
	uint64_t first_index;    /* from the name: index of the first entry it should hold */
} kvf_wal_segment;

typedef struct kvf_wal_segments {
	kvf_wal_segment *v;
	size_t n, cap;
	bool sorted;             /* every segment was named, so order is by sequence */
} kvf_wal_segments;

/* Add a segment file, or every *.wal / *.wal.gz file of a directory. */
kvf_status kvf_wal_segments_add(kvf_wal_segments *s, const char *path, kvf_err *err);
/* Order by sequence when every segment is named; otherwise keep argument order. */
void kvf_wal_segments_order(kvf_wal_segments *s);
void kvf_wal_segments_free(kvf_wal_segments *s);
/* Parse "%016x-%016x.wal[.gz]"; false for any other name. */
bool kvf_wal_parse_name(const char *name, uint64_t *seq, uint64_t *index);

typedef enum kvf_wal_finding_kind {
	/* normal conditions: reported, not damage */
	KVF_WAL_ZERO_TAIL,        /* preallocated zeros after the last record */
	KVF_WAL_TORN_TAIL,        /* the last segment ends inside a frame (crash mid-write) */
	KVF_WAL_UNNAMED,          /* a segment without an etcd name: order as given */
	/* damage */
	KVF_WAL_CRC_MISMATCH,     /* stored crc differs from the chained value */
	KVF_WAL_BAD_FRAME,        /* length word or record encoding impossible */
	KVF_WAL_SKIPPED,          /* bytes skipped to resynchronise after damage */
	KVF_WAL_TRUNCATED,        /* a segment ends inside a frame: the file was cut short */
	KVF_WAL_TRAILING_DATA,    /* non-zero bytes after the end-of-records marker */
	KVF_WAL_SEGMENT_GAP,      /* sequence numbers skip: a segment is missing */
	KVF_WAL_SEGMENT_DUP,      /* two segments with the same sequence number */
	KVF_WAL_NO_CRC_RECORD,    /* a segment does not open with a crc record */
	KVF_WAL_UNKNOWN_TYPE,     /* record type outside 1..5 */
	KVF_WAL_EMPTY_SEGMENT,    /* no records at all */
	/* raised by the raft-log layer (raftlog.h) */
	KVF_WAL_INDEX_GAP,        /* damage: entry indexes jump without a snapshot */
	KVF_WAL_OVERWRITE,        /* normal: a new leader replaced uncommitted entries */
	KVF_WAL_BAD_ENTRY,        /* damage: entry record that is not a raftpb.Entry */
	KVF_WAL_BAD_STATE,        /* damage: state record that is not a raftpb.HardState */
	KVF_WAL_BAD_SNAPSHOT,     /* damage: snapshot record that is not a walpb.Snapshot */
	KVF_WAL_LOST_ENTRIES,     /* entries missing where damage was already reported */
	KVF_WAL_METADATA_CONFLICT, /* damage: a metadata record unlike the first one */
	/* normal for the files, not for the evidence: the last segment is full
	 * (etcd cut it) and none follows, so the newest segments were not copied */
	KVF_WAL_LATER_SEGMENTS_MISSING,
	KVF_WAL_FINDING_KINDS
} kvf_wal_finding_kind;

const char *kvf_wal_finding_name(kvf_wal_finding_kind k);
bool kvf_wal_finding_is_damage(kvf_wal_finding_kind k);

typedef struct kvf_wal_finding {
	kvf_wal_finding_kind kind;
	bool damage;
	uint64_t offset;         /* where it starts in the segment */
	uint64_t end;            /* where it ends (== offset for a point) */
	char msg[200];
} kvf_wal_finding;

typedef enum kvf_wal_crc_state {
	KVF_CRC_OK,              /* stored == chained value */
	KVF_CRC_MISMATCH,
	KVF_CRC_UNCHECKED,       /* no chain to check against (first record, after a gap) */
} kvf_wal_crc_state;

typedef struct kvf_wal_record {
	uint64_t offset;         /* of the length word, in the segment */
	uint64_t frame_len;      /* length word + record + padding */
	int64_t type;
	uint32_t crc;            /* as stored */
	uint32_t crc_computed;   /* chained value we computed (valid unless UNCHECKED) */
	kvf_wal_crc_state crc_state;
	const uint8_t *data;     /* walpb.Record.data, valid until the next call */
	size_t len;
} kvf_wal_record;

typedef enum kvf_wal_event_kind {
	KVF_WAL_EV_SEGMENT,      /* a new segment starts (ev.segment) */
	KVF_WAL_EV_RECORD,
	KVF_WAL_EV_FINDING,
	KVF_WAL_EV_END,
} kvf_wal_event_kind;

typedef struct kvf_wal_event {
	kvf_wal_event_kind kind;
	const kvf_wal_segment *segment;
	size_t segment_no;
	bool last_segment;
	kvf_wal_record rec;
	kvf_wal_finding finding;
} kvf_wal_event;

typedef struct kvf_wal_reader kvf_wal_reader;

typedef struct kvf_wal_options {
	/* Verify the CRC of every record (default). Off only for benchmarks. */
	bool skip_crc;
} kvf_wal_options;

kvf_status kvf_wal_open(kvf_wal_reader **r, const kvf_wal_segments *segs,
                        const kvf_wal_options *opt, kvf_err *err);
/* Next event. KVF_OK and EV_END at the end; an error only when the input
 * cannot be read at all (I/O), never for damage. */
kvf_status kvf_wal_next(kvf_wal_reader *r, kvf_wal_event *ev, kvf_err *err);
void kvf_wal_close(kvf_wal_reader *r);
/* *dst = *src, without copying the message buffer of a non-finding: events
 * are copied once per record. */
void kvf_wal_copy_event(kvf_wal_event *dst, const kvf_wal_event *src);

/* Bytes read so far and in all (when known): for progress and benchmarks. */
void kvf_wal_progress(const kvf_wal_reader *r, uint64_t *done, uint64_t *total);

/* Is this file a WAL segment at all? Something else given to dump-wal (a
 * bbolt db, a snapshot file, a .snap, /etc/passwd) is not damage in a WAL.
 * *is_wal is false when the file is recognisably something else (*other
 * names it, io/identify.h) or when not one record can be read from it; a
 * segment that starts with a frame, is empty, zero-filled, or cut inside
 * its first frame is a segment (damaged or not: the reader says). */
kvf_status kvf_wal_sniff(const kvf_wal_segment *seg, bool *is_wal, kvf_file_kind *other, kvf_err *err);

/* etcd cuts a segment once its records reach this size (wal.go
 * SegmentSizeBytes, 64 * 1000 * 1000) and preallocates every segment to it. */
#define KVF_WAL_SEGMENT_SIZE 64000000u

#endif
