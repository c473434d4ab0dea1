#include "wal/wal.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/buf.h"
#include "io/bytes.h"
#include "io/crc32c.h"
#include "encoding/pbwire.h"
#include "io/source.h"

/* No etcd record comes near this (3.5 refuses records of 10 MiB); a length
 * word above it is damage, and refusing it bounds what we ever buffer. */
#define WAL_MAX_RECORD (256u << 20)
/* etcd's torn-write test works on 512-byte sectors (wal/decoder.go). */
#define SECTOR 512
/* Zero-tail scans read this much at a time. */
#define SCAN_CHUNK (1u << 20)

const char *kvf_wal_rec_type_name(int64_t type)
{
	switch (type) {
	case KVF_WAL_METADATA: return "metadata";
	case KVF_WAL_ENTRY: return "entry";
	case KVF_WAL_STATE: return "state";
	case KVF_WAL_CRC: return "crc";
	case KVF_WAL_SNAPSHOT: return "snapshot";
	}
	return "unknown";
}

const char *kvf_wal_finding_name(kvf_wal_finding_kind k)
{
	switch (k) {
	case KVF_WAL_ZERO_TAIL: return "zero_tail";
	case KVF_WAL_TORN_TAIL: return "torn_tail";
	case KVF_WAL_UNNAMED: return "unnamed_segment";
	case KVF_WAL_CRC_MISMATCH: return "crc_mismatch";
	case KVF_WAL_BAD_FRAME: return "bad_frame";
	case KVF_WAL_SKIPPED: return "skipped";
	case KVF_WAL_TRUNCATED: return "truncated";
	case KVF_WAL_TRAILING_DATA: return "trailing_data";
	case KVF_WAL_SEGMENT_GAP: return "segment_gap";
	case KVF_WAL_SEGMENT_DUP: return "segment_duplicate";
	case KVF_WAL_NO_CRC_RECORD: return "no_crc_record";
	case KVF_WAL_UNKNOWN_TYPE: return "unknown_record_type";
	case KVF_WAL_EMPTY_SEGMENT: return "empty_segment";
	case KVF_WAL_INDEX_GAP: return "index_gap";
	case KVF_WAL_OVERWRITE: return "overwrite";
	case KVF_WAL_BAD_ENTRY: return "bad_entry";
	case KVF_WAL_BAD_STATE: return "bad_state";
	case KVF_WAL_BAD_SNAPSHOT: return "bad_snapshot";
	case KVF_WAL_LOST_ENTRIES: return "lost_entries";
	case KVF_WAL_METADATA_CONFLICT: return "metadata_conflict";
	case KVF_WAL_LATER_SEGMENTS_MISSING: return "later_segments_missing";
	case KVF_WAL_FINDING_KINDS: break;
	}
	return "unknown";
}

bool kvf_wal_finding_is_damage(kvf_wal_finding_kind k)
{
	return k != KVF_WAL_ZERO_TAIL && k != KVF_WAL_TORN_TAIL && k != KVF_WAL_UNNAMED &&
	       k != KVF_WAL_OVERWRITE && k != KVF_WAL_LOST_ENTRIES && k != KVF_WAL_LATER_SEGMENTS_MISSING;
}

/* ---- segment names and sets ---- */

bool kvf_wal_parse_name(const char *name, uint64_t *seq, uint64_t *index)
{
	/* exactly 16 hex digits, '-', 16 hex digits, ".wal" and optionally ".gz" */
	size_t n = strlen(name);
	if (n != 37 && n != 40)
		return false;
	if (strcmp(name + 33, n == 37 ? ".wal" : ".wal.gz") != 0 || name[16] != '-')
		return false;
	uint64_t v[2] = { 0, 0 };
	for (int part = 0; part < 2; part++) {
		const char *p = name + part * 17;
		for (int i = 0; i < 16; i++) {
			char c = p[i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
				return false;
			v[part] = v[part] << 4 | (uint64_t)d;
		}
	}
	*seq = v[0];
	*index = v[1];
	return true;
}

static kvf_status add_file(kvf_wal_segments *s, const char *path, kvf_err *err)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16, bytes;
		if (!kvf_mul_ok(cap, sizeof(*s->v), &bytes))
			return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "too many segments");
		kvf_wal_segment *v = realloc(s->v, bytes);
		if (!v)
			return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
		s->v = v;
		s->cap = cap;
	}
	kvf_wal_segment *g = &s->v[s->n];
	memset(g, 0, sizeof(*g));
	if (!(g->path = strdup(path)))
		return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
	const char *slash = strrchr(g->path, '/');
	g->name = slash ? slash + 1 : g->path;
	g->named = kvf_wal_parse_name(g->name, &g->seq, &g->first_index);
	s->n++;
	return KVF_OK;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

kvf_status kvf_wal_segments_add(kvf_wal_segments *s, const char *path, kvf_err *err)
{
	if (!kvf_is_dir(path))
		return add_file(s, path, err);
	DIR *d = opendir(path);
	if (!d)
		return kvf_err_sys(err, errno, path, "cannot list directory");
	char **names = NULL;
	size_t n = 0, cap = 0;
	kvf_status st = KVF_OK;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		bool wal = len > 4 && strcmp(de->d_name + len - 4, ".wal") == 0;
		bool walgz = len > 7 && strcmp(de->d_name + len - 7, ".wal.gz") == 0;
		if (!wal && !walgz)
			continue;   /* .tmp (the next preallocated segment), locks, strays */
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn) {
				st = kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
				break;
			}
			names = nn;
		}
		if (!(names[n] = kvf_path_join(path, de->d_name))) {
			st = kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (st == KVF_OK && n > 1)   /* names is NULL for an empty dir */
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		if (st == KVF_OK)
			st = add_file(s, names[i], err);
		free(names[i]);
	}
	free(names);
	if (st == KVF_OK && n == 0)
		return kvf_err_set(err, KVF_E_NOTFOUND, path, KVF_NO_OFFSET,
		                   "no WAL segments (*.wal) in this directory");
	return st;
}

static int cmp_seq(const void *a, const void *b)
{
	const kvf_wal_segment *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->name, y->name);
}

void kvf_wal_segments_order(kvf_wal_segments *s)
{
	s->sorted = true;
	for (size_t i = 0; i < s->n; i++)
		if (!s->v[i].named)
			s->sorted = false;
	if (s->sorted && s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_seq);
}

void kvf_wal_segments_free(kvf_wal_segments *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- the reader ---- */

typedef enum seg_state { SEG_START, SEG_FRAMES, SEG_END } seg_state;

#define QUEUE_MAX 8

struct kvf_wal_reader {
	const kvf_wal_segments *segs;
	kvf_wal_options opt;
	size_t seg_i;
	seg_state state;
	kvf_stream st;
	bool st_open;
	uint64_t off;
	size_t seg_records;
	bool seg_truncated;      /* a truncated finding was raised for this segment */
	/* The running CRC. After a mismatch we keep two candidates (the stored
	 * value and the one we computed) until the next record shows which
	 * half of the damaged record was wrong. nchain == 0: nothing to check
	 * against (start of a partial set, or after lost frames). */
	uint32_t chain[2];
	int nchain;
	kvf_wal_event q[QUEUE_MAX];
	int qhead, qlen;
	uint64_t done_before;    /* bytes of segments already finished */
	uint64_t total;          /* bytes on disk of all segments */
};

typedef enum probe_result {
	P_OK,       /* a well-formed frame and record */
	P_END,      /* no bytes left at all */
	P_ZERO,     /* zero length word: end of records */
	P_SHORT,    /* the frame (or its length word) runs past the end of input */
	P_BADLEN,   /* the length word is impossible */
	P_BADREC,   /* the frame fits but its bytes are not a walpb.Record */
} probe_result;

typedef struct frame {
	uint64_t off, frame_len;
	uint64_t rec_len;
	unsigned pad;
	const uint8_t *rec;      /* record bytes (rec_len + pad available) */
	int64_t type;
	uint32_t crc;
	const uint8_t *data;
	size_t dlen;
} frame;

static kvf_wal_event *push(kvf_wal_reader *r, kvf_wal_event_kind kind)
{
	/* never more than a handful per step; the queue is sized for it */
	kvf_wal_event *ev = &r->q[(r->qhead + r->qlen) % QUEUE_MAX];
	r->qlen++;
	/* Field by field, not memset: this runs for every record, and clearing
	 * the whole event (its message buffer included) showed in profiles. */
	ev->kind = kind;
	memset(&ev->rec, 0, sizeof(ev->rec));
	ev->finding.kind = 0;
	ev->finding.damage = false;
	ev->finding.offset = ev->finding.end = 0;
	ev->finding.msg[0] = '\0';
	ev->segment = r->seg_i < r->segs->n ? &r->segs->v[r->seg_i] : NULL;
	ev->segment_no = r->seg_i;
	ev->last_segment = r->seg_i + 1 == r->segs->n;
	return ev;
}

static void finding(kvf_wal_reader *r, kvf_wal_finding_kind kind, uint64_t off,
                    uint64_t end, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void finding(kvf_wal_reader *r, kvf_wal_finding_kind kind, uint64_t off,
                    uint64_t end, const char *fmt, ...)
{
	kvf_wal_event *ev = push(r, KVF_WAL_EV_FINDING);
	if (kind == KVF_WAL_TRUNCATED)
		r->seg_truncated = true;
	ev->finding.kind = kind;
	ev->finding.damage = kvf_wal_finding_is_damage(kind);
	ev->finding.offset = off;
	ev->finding.end = end;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->finding.msg, sizeof(ev->finding.msg), fmt, ap);
	va_end(ap);
}

/* Decode walpb.Record in place. etcd writes fields 1, 2, 3 once each; we
 * accept any order and repetition (last wins), as protobuf does. */
static bool parse_record(const uint8_t *p, size_t n, frame *f)
{
	kvf_pb_reader rd = kvf_pb_init(p, n);
	kvf_pb_field fl;
	int rc;
	f->type = 0;
	f->crc = 0;
	f->data = NULL;
	f->dlen = 0;
	while ((rc = kvf_pb_next(&rd, &fl)) == 1) {
		switch (fl.num) {
		case 1:
			if (fl.wire != KVF_PB_VARINT)
				return false;
			f->type = (int64_t)fl.u64;
			break;
		case 2:
			if (fl.wire != KVF_PB_VARINT || fl.u64 > UINT32_MAX)
				return false;
			f->crc = (uint32_t)fl.u64;
			break;
		case 3:
			if (fl.wire != KVF_PB_LEN)
				return false;
			f->data = fl.data;
			f->dlen = fl.len;
			break;
		default:
			break;   /* unknown fields are legal protobuf */
		}
	}
	return rc == 0;
}

/* Split the length word as etcd's decodeFrameSize does, but strictly: the
 * writer only ever sets the top bit together with a non-zero pad, and pad
 * always brings the record to a multiple of 8. */
static bool split_length(uint64_t lw, uint64_t *len, unsigned *pad)
{
	*len = lw & 0x00FFFFFFFFFFFFFFull;
	if (lw >> 63) {
		if ((lw >> 59) & 0xF)
			return false;
		*pad = (unsigned)((lw >> 56) & 7);
	} else {
		if (lw >> 56)
			return false;
		*pad = 0;
	}
	return *len > 0 && *len <= WAL_MAX_RECORD && (*len + *pad) % 8 == 0;
}

static probe_result probe(kvf_wal_reader *r, uint64_t off, frame *f, kvf_err *err, kvf_status *st)
{
	const uint8_t *p;
	size_t got;
	memset(f, 0, sizeof(*f));
	f->off = off;
	if ((*st = kvf_stream_get(&r->st, off, 8, &p, &got, err)))
		return P_END;
	if (got == 0)
		return P_END;
	if (got < 8)
		return kvf_is_zero(p, got) ? P_ZERO : P_SHORT;
	uint64_t lw = kvf_le64(p);
	if (lw == 0)
		return P_ZERO;
	if (!split_length(lw, &f->rec_len, &f->pad)) {
		/* keep what we can for the message */
		f->rec_len = lw & 0x00FFFFFFFFFFFFFFull;
		return P_BADLEN;
	}
	f->frame_len = 8 + f->rec_len + f->pad;
	if ((*st = kvf_stream_get(&r->st, off, (size_t)f->frame_len, &p, &got, err)))
		return P_END;
	if (got < f->frame_len)
		return P_SHORT;
	f->rec = p + 8;
	if (!parse_record(f->rec, (size_t)f->rec_len, f))
		return P_BADREC;
	return P_OK;
}

/* etcd's isTornEntry: a frame with an all-zero 512-byte sector in it was
 * cut short by a crash (the sector was never written). */
static bool has_zero_sector(const frame *f)
{
	uint64_t at = f->off + 8, end = f->off + f->frame_len;
	const uint8_t *p = f->rec;
	while (at < end) {
		uint64_t chunk = SECTOR - at % SECTOR;
		if (chunk > end - at)
			chunk = end - at;
		if (kvf_is_zero(p, (size_t)chunk))
			return true;
		p += chunk;
		at += chunk;
	}
	return false;
}

/* Look for the next place at or after `from` where frames resume: a frame
 * that parses and whose successor chains from its crc (or that is a crc
 * record, or is followed by the end of the records). 8-byte aligned, as
 * every frame starts on a multiple of 8. */
static bool resync(kvf_wal_reader *r, uint64_t from, uint64_t *found, kvf_err *err, kvf_status *st)
{
	uint64_t q = (from + 7) & ~(uint64_t)7;
	for (;; q += 8) {
		const uint8_t *p;
		size_t got;
		/* read ahead in chunks so zero runs are skipped cheaply */
		if ((*st = kvf_stream_get(&r->st, q, SCAN_CHUNK, &p, &got, err)))
			return false;
		if (got < 8)
			return false;
		size_t i = 0;
		while (i + 8 <= got) {
			uint64_t lw = kvf_le64(p + i), len;
			unsigned pad;
			if (lw != 0 && split_length(lw, &len, &pad))
				break;
			i += 8;
		}
		if (i + 8 > got) {
			q += (got & ~(size_t)7) - 8;
			continue;
		}
		q += i;
		frame a, b;
		if (probe(r, q, &a, err, st) != P_OK) {
			if (*st)
				return false;
			continue;
		}
		if (a.type < KVF_WAL_METADATA || a.type > KVF_WAL_SNAPSHOT)
			continue;
		uint32_t a_crc = a.crc;
		int64_t a_type = a.type;
		probe_result pb = probe(r, q + a.frame_len, &b, err, st);
		if (*st)
			return false;
		bool ok = a_type == KVF_WAL_CRC || pb == P_ZERO || pb == P_END;
		if (!ok && pb == P_OK)
			ok = b.type == KVF_WAL_CRC ? b.crc == a_crc
			                           : kvf_crc32c(a_crc, b.data, b.dlen) == b.crc;
		if (ok) {
			*found = q;
			return true;
		}
	}
}

static void chain_reset(kvf_wal_reader *r)
{
	r->nchain = 0;
}

static void chain_set(kvf_wal_reader *r, uint32_t v)
{
	r->chain[0] = v;
	r->nchain = 1;
}

/* Check a record against the chain and advance it. */
static void check_crc(kvf_wal_reader *r, const frame *f, kvf_wal_record *rec)
{
	rec->crc_state = KVF_CRC_UNCHECKED;
	if (r->opt.skip_crc && f->type != KVF_WAL_CRC) {
		chain_set(r, f->crc);
		return;
	}
	if (f->type == KVF_WAL_CRC) {
		/* a crc record carries the running value itself; every WAL etcd
		 * creates starts its chain with a crc record of 0 */
		if (!r->nchain && f->crc == 0 && r->seg_i == 0 && r->seg_records == 0)
			chain_set(r, 0);
		if (r->nchain) {
			rec->crc_computed = r->chain[0];
			rec->crc_state = KVF_CRC_MISMATCH;
			for (int i = 0; i < r->nchain; i++)
				if (r->chain[i] == f->crc) {
					rec->crc_computed = f->crc;
					rec->crc_state = KVF_CRC_OK;
				}
		}
		chain_set(r, f->crc);
		return;
	}
	if (!r->nchain) {
		chain_set(r, f->crc);
		return;
	}
	uint32_t first = kvf_crc32c(r->chain[0], f->data, f->dlen);
	rec->crc_computed = first;
	rec->crc_state = KVF_CRC_MISMATCH;
	if (first == f->crc) {
		rec->crc_state = KVF_CRC_OK;
	} else if (r->nchain == 2) {
		uint32_t second = kvf_crc32c(r->chain[1], f->data, f->dlen);
		if (second == f->crc) {
			rec->crc_computed = second;
			rec->crc_state = KVF_CRC_OK;
		}
	}
	if (rec->crc_state == KVF_CRC_OK) {
		chain_set(r, f->crc);
	} else {
		r->chain[0] = f->crc;   /* the data was damaged, the crc field intact */
		r->chain[1] = first;    /* or the crc field was damaged */
		r->nchain = 2;
	}
}

static void emit_record(kvf_wal_reader *r, const frame *f)
{
	kvf_wal_event *ev = push(r, KVF_WAL_EV_RECORD);
	kvf_wal_record *rec = &ev->rec;
	rec->offset = f->off;
	rec->frame_len = f->frame_len;
	rec->type = f->type;
	rec->crc = f->crc;
	rec->data = f->data;
	rec->len = f->dlen;
	check_crc(r, f, rec);
	if (rec->crc_state == KVF_CRC_MISMATCH)
		finding(r, KVF_WAL_CRC_MISMATCH, f->off, f->off + f->frame_len,
		        "%s record: stored crc %08x, chain gives %08x",
		        kvf_wal_rec_type_name(f->type), f->crc, rec->crc_computed);
	if (f->type < KVF_WAL_METADATA || f->type > KVF_WAL_SNAPSHOT)
		finding(r, KVF_WAL_UNKNOWN_TYPE, f->off, f->off + f->frame_len,
		        "record type %" PRId64 " is not one etcd writes", f->type);
	if (r->seg_records == 0 && f->type != KVF_WAL_CRC)
		finding(r, KVF_WAL_NO_CRC_RECORD, f->off, f->off,
		        "segment opens with a %s record, not a crc record",
		        kvf_wal_rec_type_name(f->type));
	r->seg_records++;
}

static bool is_last_segment(const kvf_wal_reader *r)
{
	return r->seg_i + 1 == r->segs->n;
}

/* After the end-of-records marker at `off`: the rest should be zeros. */
static kvf_status scan_tail(kvf_wal_reader *r, uint64_t off, kvf_err *err)
{
	uint64_t q = off;
	for (;;) {
		const uint8_t *p;
		size_t got;
		kvf_stream_release(&r->st, q);
		/* a sparse segment's holes are zeros: skip them unread */
		q = kvf_stream_next_data(&r->st, q);
		kvf_status st = kvf_stream_get(&r->st, q, SCAN_CHUNK, &p, &got, err);
		if (st)
			return st;
		if (got == 0)
			break;
		if (kvf_is_zero(p, got)) {
			q += got;
			continue;
		}
		size_t i = 0;
		while (p[i] == 0)
			i++;
		uint64_t nz = q + i;
		uint64_t found;
		if (resync(r, nz & ~(uint64_t)7, &found, err, &st)) {
			finding(r, KVF_WAL_SKIPPED, off, found,
			        "zero-filled gap of %" PRIu64 " bytes inside the records; frames resume at %" PRIu64,
			        found - off, found);
			chain_reset(r);
			r->off = found;
			return KVF_OK;
		}
		if (st)
			return st;
		if (is_last_segment(r))
			finding(r, KVF_WAL_TORN_TAIL, off, off,
			        "records end at %" PRIu64 "; non-zero bytes at %" PRIu64
			        " after it are an incomplete write", off, nz);
		else
			finding(r, KVF_WAL_TRAILING_DATA, nz, nz,
			        "non-zero bytes after the end of records at %" PRIu64, off);
		r->state = SEG_END;
		return KVF_OK;
	}
	if (q > off)
		finding(r, KVF_WAL_ZERO_TAIL, off, q,
		        "records end at %" PRIu64 "; %" PRIu64 " preallocated zero bytes follow",
		        off, q - off);
	r->state = SEG_END;
	return KVF_OK;
}

/* Damage at r->off that left the frame boundary unknown (or a frame we must
 * not trust). Either the records resume further on, or this is the end. */
static kvf_status recover(kvf_wal_reader *r, const frame *f, probe_result pr,
                          const char *what, kvf_err *err)
{
	kvf_status st = KVF_OK;
	uint64_t off = r->off, found, cut;
	/* Whether the frame is torn is decided now: f->rec points into the
	 * stream's window, which resync's reads may move or reallocate (a gzip
	 * segment's window grows by realloc), so f->rec is stale after it. */
	bool torn = pr != P_SHORT && pr != P_BADLEN && f->frame_len && has_zero_sector(f);
	kvf_stream_release(&r->st, off);
	if (resync(r, off + 8, &found, err, &st)) {
		finding(r, KVF_WAL_BAD_FRAME, off, off, "%s", what);
		finding(r, KVF_WAL_SKIPPED, off, found,
		        "skipped %" PRIu64 " bytes; frames resume at %" PRIu64, found - off, found);
		chain_reset(r);
		r->off = found;
		return KVF_OK;
	}
	if (st)
		return st;
	/* Nothing valid follows. At the end of the last segment a frame with a
	 * never-written sector is a torn write, as etcd sees it. A file that
	 * ends inside a frame is not: etcd preallocates every segment to its
	 * full size and zero-fills past the records (wal.go ReadAll ZeroToEnd),
	 * so a crash leaves zeros, and a short file is a copy cut short. */
	if (torn && is_last_segment(r))
		finding(r, KVF_WAL_TORN_TAIL, off, off,
		        "torn write: the last whole frame ends at %" PRIu64 " (%s)", off, what);
	else if (pr == P_SHORT && kvf_stream_truncated(&r->st, &cut))
		finding(r, KVF_WAL_TRUNCATED, off, off,
		        "gzip stream ends early (%s) after %" PRIu64 " inflated bytes: a partial copy; "
		        "the last whole frame ends at %" PRIu64, r->st.truncated_why, cut, off);
	else if (torn || pr == P_SHORT)
		finding(r, KVF_WAL_TRUNCATED, off, off,
		        "segment is cut short: the last whole frame ends at %" PRIu64 " (%s)", off, what);
	else
		finding(r, KVF_WAL_BAD_FRAME, off, off, "%s; no valid frame follows", what);
	r->state = SEG_END;
	return KVF_OK;
}

static kvf_status step_frames(kvf_wal_reader *r, kvf_err *err)
{
	frame f;
	kvf_status st = KVF_OK;
	kvf_stream_release(&r->st, r->off);
	probe_result pr = probe(r, r->off, &f, err, &st);
	if (st)
		return st;
	char what[160];
	switch (pr) {
	case P_OK:
		if (is_last_segment(r) && !r->opt.skip_crc && f.type != KVF_WAL_CRC && r->nchain &&
		    has_zero_sector(&f) &&
		    kvf_crc32c(r->chain[0], f.data, f.dlen) != f.crc &&
		    (r->nchain < 2 || kvf_crc32c(r->chain[1], f.data, f.dlen) != f.crc)) {
			/* A mismatch with a never-written sector may be the torn
			 * end; it is only if nothing valid follows. */
			uint64_t found;
			bool more = resync(r, f.off + f.frame_len, &found, err, &st);
			if (st)
				return st;
			if (!more) {
				finding(r, KVF_WAL_TORN_TAIL, r->off, r->off,
				        "torn write: the last whole frame ends at %" PRIu64
				        " (the next one has a zero-filled sector and a bad crc)", r->off);
				r->state = SEG_END;
				return KVF_OK;
			}
			/* frames follow: re-read the frame, the lookahead moved the window */
			pr = probe(r, r->off, &f, err, &st);
			if (st)
				return st;
		}
		emit_record(r, &f);
		r->off += f.frame_len;
		return KVF_OK;
	case P_END: {
		/* etcd truncates a segment to its records only when it cuts the
		 * next one; the segment it writes to is preallocated and zeros
		 * follow its records (wal.go cut, ReadAll ZeroToEnd). A last
		 * segment ending right after a record is a copy cut short on a
		 * frame boundary (whatever followed is not in the evidence), or,
		 * when its records reach the size at which etcd cuts, a whole
		 * segment after which the newer ones were not copied. */
		uint64_t cut;
		if (kvf_stream_truncated(&r->st, &cut))
			finding(r, KVF_WAL_TRUNCATED, r->off, r->off,
			        "gzip stream ends early (%s) after %" PRIu64 " inflated bytes, right after the "
			        "record ending at %" PRIu64 ": a partial copy", r->st.truncated_why, cut, r->off);
		else if (is_last_segment(r) && r->seg_records && r->off >= KVF_WAL_SEGMENT_SIZE)
			finding(r, KVF_WAL_LATER_SEGMENTS_MISSING, r->off, r->off,
			        "the segment is full (records to %" PRIu64 "; etcd cuts at %u) and no newer one "
			        "follows: the newest segments were not copied", r->off, KVF_WAL_SEGMENT_SIZE);
		else if (is_last_segment(r) && r->seg_records)
			finding(r, KVF_WAL_TRUNCATED, r->off, r->off,
			        "the last segment ends right after the record ending at %" PRIu64
			        ", without the zeros etcd preallocates: a copy cut short", r->off);
		r->state = SEG_END;
		return KVF_OK;
	}
	case P_ZERO:
		return scan_tail(r, r->off, err);
	case P_SHORT:
		snprintf(what, sizeof(what), "frame of %" PRIu64 " bytes runs past the end of the file",
		         f.rec_len ? 8 + f.rec_len + f.pad : 8);
		return recover(r, &f, pr, what, err);
	case P_BADLEN:
		snprintf(what, sizeof(what), "impossible length word (record length %" PRIu64 ")", f.rec_len);
		return recover(r, &f, pr, what, err);
	case P_BADREC: {
		/* The length word looks right; if a frame starts where it says the
		 * next one does, only this record is lost. */
		frame next;
		uint64_t after = r->off + f.frame_len;
		probe_result pn = probe(r, after, &next, err, &st);
		if (st)
			return st;
		if (pn == P_OK) {
			finding(r, KVF_WAL_BAD_FRAME, r->off, after,
			        "frame of %" PRIu64 " bytes does not hold a valid record", f.frame_len);
			chain_reset(r);
			r->off = after;
			r->seg_records++;
			return KVF_OK;
		}
		snprintf(what, sizeof(what), "frame of %" PRIu64 " bytes does not hold a valid record",
		         f.frame_len);
		/* restore f for the torn test (probe of `next` may have moved the window) */
		pr = probe(r, r->off, &f, err, &st);
		if (st)
			return st;
		return recover(r, &f, pr, what, err);
	}
	}
	return KVF_OK;
}

static kvf_status open_segment(kvf_wal_reader *r, kvf_err *err)
{
	const kvf_wal_segment *g = &r->segs->v[r->seg_i];
	kvf_status st = kvf_stream_open(&r->st, g->path, err);
	if (st)
		return st;
	r->st_open = true;
	r->off = 0;
	r->seg_records = 0;
	r->seg_truncated = false;
	push(r, KVF_WAL_EV_SEGMENT);
	if (!g->named)
		finding(r, KVF_WAL_UNNAMED, 0, 0,
		        "not named like a WAL segment (%%016x-%%016x.wal): read in the order given");
	if (r->seg_i > 0) {
		const kvf_wal_segment *prev = &r->segs->v[r->seg_i - 1];
		if (g->named && prev->named && g->seq == prev->seq) {
			finding(r, KVF_WAL_SEGMENT_DUP, 0, 0, "same sequence number %" PRIu64 " as %s",
			        g->seq, prev->name);
		} else if (g->named && prev->named && g->seq != prev->seq + 1) {
			finding(r, KVF_WAL_SEGMENT_GAP, 0, 0,
			        "sequence jumps from %" PRIu64 " to %" PRIu64 ": %" PRIu64
			        " segment(s) missing; the crc chain cannot be checked across the gap",
			        prev->seq, g->seq, g->seq - prev->seq - 1);
			chain_reset(r);
		}
	} else {
		/* etcd starts the chain at 0 in the first segment ever written;
		 * a later first segment continues a chain we have not seen. */
		if (g->named && g->seq == 0)
			chain_set(r, 0);
		else
			chain_reset(r);
	}
	r->state = SEG_FRAMES;
	return KVF_OK;
}

static void close_segment(kvf_wal_reader *r)
{
	/* a gzip segment cut inside the zeros after its records, or anywhere
	 * no finding above located: the cut itself */
	uint64_t cut;
	if (kvf_stream_truncated(&r->st, &cut) && !r->seg_truncated)
		finding(r, KVF_WAL_TRUNCATED, cut, cut,
		        "gzip stream ends early (%s) after %" PRIu64 " inflated bytes: a partial copy; "
		        "the rest of the segment is not in the evidence", r->st.truncated_why, cut);
	if (r->seg_records == 0)
		finding(r, KVF_WAL_EMPTY_SEGMENT, 0, 0, "no records in this segment");
	r->done_before += r->st.file_size;
	kvf_stream_close(&r->st);
	r->st_open = false;
}

kvf_status kvf_wal_open(kvf_wal_reader **rp, const kvf_wal_segments *segs,
                        const kvf_wal_options *opt, kvf_err *err)
{
	kvf_wal_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
	r->segs = segs;
	if (opt)
		r->opt = *opt;
	r->state = SEG_START;
	for (size_t i = 0; i < segs->n; i++) {
		int fd;
		uint64_t size;
		kvf_err ignore;
		if (kvf_open_evidence(segs->v[i].path, &fd, &size, &ignore) == KVF_OK) {
			r->total += size;
			close(fd);
		}
	}
	*rp = r;
	return KVF_OK;
}

void kvf_wal_copy_event(kvf_wal_event *dst, const kvf_wal_event *src)
{
	dst->kind = src->kind;
	dst->segment = src->segment;
	dst->segment_no = src->segment_no;
	dst->last_segment = src->last_segment;
	dst->rec = src->rec;
	if (src->kind == KVF_WAL_EV_FINDING) {
		dst->finding = src->finding;
	} else {
		dst->finding.kind = 0;
		dst->finding.damage = false;
		dst->finding.offset = dst->finding.end = 0;
		dst->finding.msg[0] = '\0';
	}
}

kvf_status kvf_wal_next(kvf_wal_reader *r, kvf_wal_event *ev, kvf_err *err)
{
	while (r->qlen == 0) {
		if (r->seg_i >= r->segs->n) {
			memset(ev, 0, sizeof(*ev));
			ev->kind = KVF_WAL_EV_END;
			return KVF_OK;
		}
		kvf_status st = KVF_OK;
		switch (r->state) {
		case SEG_START:
			st = open_segment(r, err);
			break;
		case SEG_FRAMES:
			st = step_frames(r, err);
			break;
		case SEG_END:
			close_segment(r);
			r->seg_i++;
			r->state = SEG_START;
			break;
		}
		if (st)
			return st;
	}
	kvf_wal_copy_event(ev, &r->q[r->qhead]);
	r->qhead = (r->qhead + 1) % QUEUE_MAX;
	r->qlen--;
	return KVF_OK;
}

void kvf_wal_progress(const kvf_wal_reader *r, uint64_t *done, uint64_t *total)
{
	*done = r->done_before + (r->st_open ? r->off : 0);
	*total = r->total;
}

/* A gzip stream's content size, inflating it on from the n bytes read: for a bbolt db
 * whose head alone cannot tell an etcdctl snapshot file (its length says
 * so) from a plain db. Only for a file about to be refused as no WAL. */
static kvf_status inflated_size(kvf_stream *s, size_t n, uint64_t *size, kvf_err *err)
{
	uint64_t off = n;
	for (;;) {
		const uint8_t *q;
		size_t got;
		kvf_stream_release(s, off);
		kvf_status st = kvf_stream_get(s, off, 1u << 20, &q, &got, err);
		if (st)
			return st;
		if (!got)
			break;
		off += got;
	}
	*size = off;
	return KVF_OK;
}

kvf_status kvf_wal_sniff(const kvf_wal_segment *seg, bool *is_wal, kvf_file_kind *other, kvf_err *err)
{
	*is_wal = true;
	*other = KVF_FILE_UNKNOWN;
	kvf_wal_segments one = { .v = (kvf_wal_segment *)seg, .n = 1, .sorted = true };
	kvf_wal_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return kvf_err_set(err, KVF_E_NOMEM, seg->path, KVF_NO_OFFSET, "out of memory");
	r->segs = &one;
	kvf_status st = kvf_stream_open(&r->st, seg->path, err);
	if (st) {
		free(r);
		return st;
	}
	r->st_open = true;
	const uint8_t *p;
	size_t got;
	uint64_t size = UINT64_MAX;
	kvf_stream_size(&r->st, &size);
	if ((st = kvf_stream_get(&r->st, 0, KVF_IDENTIFY_HEAD, &p, &got, err)))
		goto out;
	if (r->st.truncated || r->st.eof)
		size = r->st.win_off + r->st.win_len;   /* a small gzip file: inflated whole */
	*other = kvf_identify(p, got, size);
	if (*other == KVF_FILE_EMPTY) {
		/* etcd names a segment only once it is preallocated and has its
		 * first records (wal.go cut: the file pipeline's N.tmp, renamed),
		 * so a 0-byte file named like one is a segment that lost them: the
		 * reader reports it (empty_segment). A 0-byte file of any other
		 * name holds nothing that says it is a WAL. */
		*is_wal = seg->named;
		goto out;
	}
	if (*other == KVF_FILE_BBOLT && size == UINT64_MAX &&
	    (st = inflated_size(&r->st, got, &size, err)) == KVF_OK)
		*other = kvf_identify_sized(*other, size);
	if (st)
		goto out;
	if (*other != KVF_FILE_UNKNOWN && *other != KVF_FILE_GZIP) {
		*is_wal = false;
		goto out;
	}
	/* every segment etcd writes starts with a frame (a crc record); an
	 * empty or zero-filled one, or one cut inside its first frame, is a
	 * segment too (the reader reports what is wrong with it) */
	frame f;
	probe_result pr = probe(r, 0, &f, err, &st);
	if (st || pr == P_END || pr == P_ZERO || pr == P_SHORT ||
	    (pr == P_OK && f.type >= KVF_WAL_METADATA && f.type <= KVF_WAL_SNAPSHOT))
		goto out;
	/* the head is not a frame: a damaged segment if records can be read
	 * further on (resynchronising as the reader does), else not a WAL */
	kvf_stream_close(&r->st);
	memset(r, 0, sizeof(*r));
	r->segs = &one;
	r->state = SEG_START;
	kvf_wal_event ev;
	bool records = false;
	while ((st = kvf_wal_next(r, &ev, err)) == KVF_OK && ev.kind != KVF_WAL_EV_END && !records)
		records = ev.kind == KVF_WAL_EV_RECORD;
	*is_wal = records;
out:
	kvf_wal_close(r);
	return st;
}

void kvf_wal_close(kvf_wal_reader *r)
{
	if (!r)
		return;
	if (r->st_open)
		kvf_stream_close(&r->st);
	free(r);
}
