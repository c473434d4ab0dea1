#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wal/raftlog.h"
#include "wal/wal.h"
#include "walgen.h"

/* Everything the reader yielded, flattened for assertions. */
typedef struct seen {
	size_t records, crc_ok, crc_bad, crc_unchecked;
	size_t findings;
	kvf_wal_finding f[32];
	size_t f_seg[32];
	uint64_t rec_off[4096];
	kvf_wal_crc_state rec_crc[4096];
	int64_t rec_type[4096];
} seen;

static seen *read_all(const char *const *paths, size_t n)
{
	seen *s = calloc(1, sizeof(*s));
	kvf_wal_segments segs = { 0 };
	kvf_err err;
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(kvf_wal_segments_add(&segs, paths[i], &err), KVF_OK, "%s", err.msg);
	kvf_wal_segments_order(&segs);
	kvf_wal_reader *r;
	cr_assert_eq(kvf_wal_open(&r, &segs, NULL, &err), KVF_OK);
	kvf_wal_event ev;
	while (kvf_wal_next(r, &ev, &err) == KVF_OK && ev.kind != KVF_WAL_EV_END) {
		if (ev.kind == KVF_WAL_EV_RECORD) {
			if (s->records < 4096) {
				s->rec_off[s->records] = ev.rec.offset;
				s->rec_crc[s->records] = ev.rec.crc_state;
				s->rec_type[s->records] = ev.rec.type;
			}
			s->records++;
			s->crc_ok += ev.rec.crc_state == KVF_CRC_OK;
			s->crc_bad += ev.rec.crc_state == KVF_CRC_MISMATCH;
			s->crc_unchecked += ev.rec.crc_state == KVF_CRC_UNCHECKED;
		} else if (ev.kind == KVF_WAL_EV_FINDING && s->findings < 32) {
			s->f_seg[s->findings] = ev.segment_no;
			s->f[s->findings++] = ev.finding;
		}
	}
	kvf_wal_close(r);
	kvf_wal_segments_free(&segs);
	return s;
}

static seen *read_one(const char *path)
{
	const char *p[1] = { path };
	return read_all(p, 1);
}

static const kvf_wal_finding *find(const seen *s, kvf_wal_finding_kind k)
{
	for (size_t i = 0; i < s->findings; i++)
		if (s->f[i].kind == k)
			return &s->f[i];
	return NULL;
}

static size_t damage_count(const seen *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->findings; i++)
		n += s->f[i].damage;
	return n;
}

static char *fixture(const char *rel)
{
	const char *dir = getenv("KVF_FIXTURES");
	cr_assert(dir, "KVF_FIXTURES not set (run through meson test)");
	char *p;
	cr_assert(asprintf(&p, "%s/%s", dir, rel) > 0);
	return p;
}

#define SEG0 "0000000000000000-0000000000000000.wal"

/* ---- real segments written by etcd ---- */

Test(wal, reads_a_real_segment_with_a_clean_chain)
{
	seen *s = read_one(fixture("healthy/node1/member/wal"));
	cr_assert_eq(s->records, 787);
	cr_assert_eq(s->crc_ok, 787);
	const kvf_wal_finding *z = find(s, KVF_WAL_ZERO_TAIL);
	cr_assert(z, "preallocated tail reported");
	cr_assert_eq(z->offset, 59968);
	cr_assert_eq(damage_count(s), 0);
}

Test(wal, resumes_after_crc_mismatch)
{
	seen *s = read_one(fixture("wal-damage/flipped"));
	const kvf_wal_finding *m = find(s, KVF_WAL_CRC_MISMATCH);
	cr_assert(m);
	cr_assert_eq(m->offset, 29936, "the frame holding byte 29984");
	cr_assert_eq(s->records, 787, "every record is still listed");
	cr_assert_eq(s->crc_bad, 1);
	/* the record after the damaged one chains from its stored crc */
	size_t i = 0;
	while (s->rec_off[i] != 29936)
		i++;
	cr_assert_eq(s->rec_crc[i + 1], KVF_CRC_OK);
	cr_assert_eq(damage_count(s), 1);
}

Test(wal, a_copy_cut_inside_a_frame_is_truncated_where_the_last_whole_frame_ends)
{
	/* etcd preallocates segments and zero-fills past the records: a crash
	 * leaves zeros, only a cut copy ends inside a frame */
	seen *s = read_one(fixture("wal-damage/truncated"));
	const kvf_wal_finding *t = find(s, KVF_WAL_TRUNCATED);
	cr_assert(t);
	cr_assert_eq(t->offset, 35848);
	cr_assert(t->damage);
	cr_assert_null(find(s, KVF_WAL_TORN_TAIL));
	cr_assert_eq(damage_count(s), 1);
}

Test(wal, checks_the_chain_across_segments)
{
	seen *s = read_one(fixture("multiseg/node1/member/wal"));
	cr_assert_eq(s->crc_bad, 0);
	cr_assert_eq(s->crc_unchecked, 0, "the second segment's crc record is checked");
	cr_assert_eq(damage_count(s), 0);
}

Test(wal, decodes_etcds_new_wal_bytes)
{
	seen *s = read_one(fixture("peer-etcd/TestNew.wal"));
	cr_assert_eq(s->records, 3);
	cr_assert_eq(s->rec_type[0], KVF_WAL_CRC);
	cr_assert_eq(s->rec_type[1], KVF_WAL_METADATA);
	cr_assert_eq(s->rec_type[2], KVF_WAL_SNAPSHOT);
	cr_assert_eq(s->crc_ok, 3);
	/* etcd's test keeps only the bytes it compares, not the preallocated
	 * zeros: a copy cut short right after the snapshot record */
	const kvf_wal_finding *t = find(s, KVF_WAL_TRUNCATED);
	cr_assert(t);
	cr_assert_eq(t->offset, 72);
	cr_assert_eq(damage_count(s), 1);
}

/* ---- planted damage ---- */

static walgen three_entries(void)
{
	walgen g = { KVF_BUF_INIT, 0 };
	wg_crc(&g);
	wg_state(&g, 1, 1, 0);
	for (uint64_t i = 1; i <= 3; i++)
		wg_entry(&g, 1, i, "abcdefghij", 10);
	return g;
}

Test(wal, resynchronises_after_a_damaged_length_word)
{
	walgen g = three_entries();
	size_t bad = g.b.len;              /* the 4th entry's frame */
	wg_entry(&g, 1, 4, "0123456789", 10);
	for (uint64_t i = 5; i <= 8; i++)
		wg_entry(&g, 1, i, "abcdefghij", 10);
	memset(g.b.p + bad, 0xee, 3);      /* length word garbage */
	char *dir = wg_tmpdir();
	seen *s = read_one(wg_write(dir, SEG0, &g, 4096));
	const kvf_wal_finding *b = find(s, KVF_WAL_BAD_FRAME), *k = find(s, KVF_WAL_SKIPPED);
	cr_assert(b && k);
	cr_assert_eq(b->offset, bad);
	cr_assert_gt(k->end, bad);
	cr_assert_eq(s->records, 2 + 3 + 4, "entries 5..8 still read");
	cr_assert_eq(s->crc_bad, 0);
	cr_assert_eq(s->crc_unchecked, 1, "only the first record after the gap is unchecked");
}

Test(wal, reports_zero_filled_gap_and_reads_on)
{
	walgen g = three_entries();
	size_t hole = g.b.len;
	wg_entry(&g, 1, 4, "0123456789", 10);
	size_t hole_end = g.b.len;
	for (uint64_t i = 5; i <= 6; i++)
		wg_entry(&g, 1, i, "abcdefghij", 10);
	memset(g.b.p + hole, 0, hole_end - hole);
	char *dir = wg_tmpdir();
	seen *s = read_one(wg_write(dir, SEG0, &g, 1024));
	const kvf_wal_finding *k = find(s, KVF_WAL_SKIPPED);
	cr_assert(k);
	cr_assert_eq(k->offset, hole);
	cr_assert_eq(k->end, hole_end);
	cr_assert_eq(s->records, 2 + 3 + 2);
}

Test(wal, a_cut_segment_that_is_not_the_last_is_damage)
{
	walgen a = three_entries(), b = { KVF_BUF_INIT, 0 };
	size_t cut = a.b.len - 5;
	b.crc = a.crc;
	wg_crc(&b);
	wg_entry(&b, 1, 4, "x", 1);
	a.b.len = cut;
	char *dir = wg_tmpdir();
	const char *p[2] = { wg_write(dir, SEG0, &a, 0),
	                     wg_write(dir, "0000000000000001-0000000000000004.wal", &b, 4096) };
	seen *s = read_all(p, 2);
	const kvf_wal_finding *t = find(s, KVF_WAL_TRUNCATED);
	cr_assert(t);
	cr_assert(t->damage);
	cr_assert_null(find(s, KVF_WAL_TORN_TAIL));
}

Test(wal, a_last_segment_ending_inside_a_frame_is_truncated)
{
	walgen a = three_entries();
	size_t whole = a.b.len;
	wg_entry(&a, 1, 4, "abcdefghijklmnopqrstuvwxyz", 26);
	a.b.len -= 9;
	char *dir = wg_tmpdir();
	seen *s = read_one(wg_write(dir, SEG0, &a, 0));
	const kvf_wal_finding *t = find(s, KVF_WAL_TRUNCATED);
	cr_assert(t);
	cr_assert_eq(t->offset, whole);
	cr_assert_eq(damage_count(s), 1);
}

Test(wal, a_frame_with_an_unwritten_sector_ends_the_last_segment)
{
	walgen a = three_entries();
	size_t whole = a.b.len;
	static uint8_t big[2048];
	memset(big, 'q', sizeof(big));
	wg_entry(&a, 1, 4, big, sizeof(big));
	/* zero the sector that holds byte whole+1024: never written */
	size_t sect = (whole + 1024) / 512 * 512;
	memset(a.b.p + sect, 0, 512);
	char *dir = wg_tmpdir();
	seen *s = read_one(wg_write(dir, SEG0, &a, 4096));
	const kvf_wal_finding *t = find(s, KVF_WAL_TORN_TAIL);
	cr_assert(t, "etcd treats this as io.ErrUnexpectedEOF");
	cr_assert_eq(t->offset, whole);
	cr_assert_eq(damage_count(s), 0);
}

Test(wal, a_damaged_crc_field_is_told_apart_from_damaged_data)
{
	walgen g = three_entries();
	size_t at = g.b.len;
	wg_entry(&g, 1, 4, "abcdefghij", 10);
	wg_entry(&g, 1, 5, "abcdefghij", 10);
	/* the crc field is field 2, a varint right after the type: flip a bit in it */
	g.b.p[at + 8 + 3] ^= 0x01;
	char *dir = wg_tmpdir();
	seen *s = read_one(wg_write(dir, SEG0, &g, 64));
	cr_assert_eq(s->crc_bad, 1);
	cr_assert_eq(s->rec_crc[s->records - 1], KVF_CRC_OK, "the next record chains from the computed value");
}

Test(wal, reports_missing_segments)
{
	walgen a = three_entries(), b = { KVF_BUF_INIT, 0 };
	b.crc = 0x1234;
	wg_crc(&b);
	wg_entry(&b, 1, 10, "x", 1);
	char *dir = wg_tmpdir();
	const char *p[2] = { wg_write(dir, SEG0, &a, 0),
	                     wg_write(dir, "0000000000000002-000000000000000a.wal", &b, 4096) };
	seen *s = read_all(p, 2);
	const kvf_wal_finding *gap = find(s, KVF_WAL_SEGMENT_GAP);
	cr_assert(gap);
	cr_assert_eq(s->f_seg[gap - s->f], 1);
	cr_assert_eq(s->crc_bad, 0, "no chain is claimed across the gap");
}

Test(wal, orders_segments_by_sequence_not_argument_order)
{
	walgen a = three_entries(), b = { KVF_BUF_INIT, 0 };
	b.crc = a.crc;
	wg_crc(&b);
	wg_entry(&b, 1, 4, "x", 1);
	char *dir = wg_tmpdir();
	const char *p[2] = { wg_write(dir, "0000000000000001-0000000000000004.wal", &b, 4096),
	                     wg_write(dir, SEG0, &a, 0) };
	seen *s = read_all(p, 2);
	cr_assert_eq(s->crc_bad, 0);
	cr_assert_eq(s->crc_unchecked, 0);
	cr_assert_eq(damage_count(s), 0);
}

Test(wal, flags_a_segment_without_a_crc_record_and_unknown_types)
{
	walgen g = { KVF_BUF_INIT, 0 };
	wg_record(&g, 9, "zz", 2);
	wg_entry(&g, 1, 1, "x", 1);
	char *dir = wg_tmpdir();
	seen *s = read_one(wg_write(dir, SEG0, &g, 0));
	cr_assert(find(s, KVF_WAL_NO_CRC_RECORD));
	cr_assert(find(s, KVF_WAL_UNKNOWN_TYPE));
	cr_assert_eq(s->records, 2);
}

Test(wal, flags_an_empty_segment)
{
	walgen g = { KVF_BUF_INIT, 0 };
	char *dir = wg_tmpdir();
	seen *s = read_one(wg_write(dir, SEG0, &g, 0));
	cr_assert(find(s, KVF_WAL_EMPTY_SEGMENT));
	cr_assert_eq(s->records, 0);
}

Test(wal, reads_gzip_segments_exactly_like_plain_ones)
{
	char *plain = fixture("wal-damage/flipped/" SEG0);
	char *dir = wg_tmpdir();
	char *gzpath;
	cr_assert(asprintf(&gzpath, "%s/" SEG0 ".gz", dir) > 0);
	FILE *in = fopen(plain, "rb");
	gzFile out = gzopen(gzpath, "wb1");
	static char buf[1 << 16];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		gzwrite(out, buf, (unsigned)n);
	fclose(in);
	gzclose(out);
	seen *a = read_one(plain), *b = read_one(gzpath);
	cr_assert_eq(a->records, b->records);
	cr_assert_eq(a->findings, b->findings);
	for (size_t i = 0; i < a->findings; i++) {
		cr_assert_eq(a->f[i].kind, b->f[i].kind);
		cr_assert_eq(a->f[i].offset, b->f[i].offset);
	}
	for (size_t i = 0; i < a->records && i < 4096; i++)
		cr_assert_eq(a->rec_off[i], b->rec_off[i]);
}

/* ---- the raft log on top ---- */

Test(raftlog, flags_overwritten_and_uncommitted_entries)
{
	walgen g = { KVF_BUF_INIT, 0 };
	wg_crc(&g);
	for (uint64_t i = 1; i <= 5; i++)
		wg_entry(&g, 1, i, NULL, 0);
	/* a new leader (term 2) rewrites from index 4 */
	for (uint64_t i = 4; i <= 6; i++)
		wg_entry(&g, 2, i, NULL, 0);
	wg_state(&g, 2, 1, 5);
	char *dir = wg_tmpdir();
	const char *path = wg_write(dir, SEG0, &g, 4096);
	kvf_wal_segments segs = { 0 };
	kvf_err err;
	cr_assert_eq(kvf_wal_segments_add(&segs, path, &err), KVF_OK);
	kvf_raftlog_options opt = { .decode_requests = true, .prepass = true };
	kvf_raftlog *l;
	cr_assert_eq(kvf_raftlog_open(&l, &segs, &opt, &err), KVF_OK);
	kvf_log_item it;
	int overwritten[8] = { 0 }, uncommitted[8] = { 0 }, n = 0;
	bool overwrite_note = false;
	while (kvf_raftlog_next(l, &it, &err) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
		if (it.ev.kind == KVF_WAL_EV_FINDING && it.ev.finding.kind == KVF_WAL_OVERWRITE)
			overwrite_note = true;
		if (it.ev.kind == KVF_WAL_EV_RECORD && it.ev.rec.type == KVF_WAL_ENTRY && n < 8) {
			overwritten[n] = it.overwritten;
			uncommitted[n] = it.uncommitted;
			n++;
		}
	}
	const kvf_log_summary *s = kvf_raftlog_summary(l);
	cr_assert_eq(n, 8);
	/* term 1: 1 2 3 4 5, term 2: 4 5 6 */
	int want_ow[8] = { 0, 0, 0, 1, 1, 0, 0, 0 };
	int want_uc[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(overwritten[i], want_ow[i], "entry %d overwritten", i);
		cr_assert_eq(uncommitted[i], want_uc[i], "entry %d uncommitted", i);
	}
	cr_assert(overwrite_note);
	cr_assert_eq(s->overwritten, 2);
	cr_assert_eq(s->uncommitted, 1);
	cr_assert_eq(s->last_index, 6);
	cr_assert_eq(s->damage, 0);
	kvf_raftlog_close(l);
	kvf_wal_segments_free(&segs);
}

Test(raftlog, reports_an_index_gap_not_covered_by_a_snapshot)
{
	walgen g = { KVF_BUF_INIT, 0 };
	wg_crc(&g);
	wg_entry(&g, 1, 1, NULL, 0);
	wg_entry(&g, 1, 2, NULL, 0);
	wg_entry(&g, 1, 7, NULL, 0);
	char *dir = wg_tmpdir();
	const char *path = wg_write(dir, SEG0, &g, 4096);
	kvf_wal_segments segs = { 0 };
	kvf_err err;
	cr_assert_eq(kvf_wal_segments_add(&segs, path, &err), KVF_OK);
	kvf_raftlog_options opt = { .decode_requests = true };
	kvf_raftlog *l;
	cr_assert_eq(kvf_raftlog_open(&l, &segs, &opt, &err), KVF_OK);
	kvf_log_item it;
	while (kvf_raftlog_next(l, &it, &err) == KVF_OK && it.ev.kind != KVF_WAL_EV_END)
		;
	const kvf_log_summary *s = kvf_raftlog_summary(l);
	cr_assert_eq(s->gaps, 1);
	cr_assert_eq(s->damage, 1);
	kvf_raftlog_close(l);
	kvf_wal_segments_free(&segs);
}

/* Found by fuzz_wal: a frame whose record is unreadable because its first
 * sector was never written, followed by megabytes of bytes that are no
 * frame. Looking for frames further on moves the stream's window (a gzip
 * segment's window is reallocated), and the torn-write test then read the
 * frame through a stale pointer (heap use after free under ASan). The
 * answer must be the same torn tail for the plain and the gzip segment. */
Test(wal, a_torn_frame_followed_by_junk_reads_the_same_plain_and_gzipped)
{
	walgen g = three_entries();
	size_t whole = g.b.len;
	static uint8_t big[2048];
	memset(big, 'q', sizeof(big));
	wg_entry(&g, 1, 4, big, sizeof(big));
	/* the record's bytes up to the end of their first sector: never written */
	size_t sect_end = (whole + 8) / 512 * 512 + 512;
	memset(g.b.p + whole + 8, 0, sect_end - (whole + 8));
	static uint8_t junk[1 << 16];
	memset(junk, 0xff, sizeof(junk));
	for (int i = 0; i < 40; i++)   /* 2.5 MiB: more than one read-ahead chunk */
		kvf_buf_append(&g.b, junk, sizeof(junk));
	char *dir = wg_tmpdir();
	char *plain = wg_write(dir, SEG0, &g, 0);
	char *gzpath;
	cr_assert(asprintf(&gzpath, "%s/gz/" SEG0 ".gz", dir) > 0);
	char *gzdir;
	cr_assert(asprintf(&gzdir, "%s/gz", dir) > 0);
	cr_assert_eq(mkdir(gzdir, 0700), 0);
	gzFile out = gzopen(gzpath, "wb1");
	cr_assert(out);
	cr_assert_eq(gzwrite(out, g.b.p, (unsigned)g.b.len), (int)g.b.len);
	gzclose(out);
	seen *a = read_one(plain), *b = read_one(gzpath);
	for (int k = 0; k < 2; k++) {
		const seen *s = k ? b : a;
		const kvf_wal_finding *t = find(s, KVF_WAL_TORN_TAIL);
		cr_assert(t, "%s: the unwritten sector makes it a torn write", k ? "gzip" : "plain");
		cr_assert_eq(t->offset, whole);
		cr_assert_eq(s->records, 5);
	}
}
