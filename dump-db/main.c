/* dump-db: read an etcd backend db (bbolt, or an LMDB environment) without
 * changing it: status, buckets, decoded pairs, live keys at a revision,
 * offline HashKV, structural check, page statistics. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/backend.h"
#include "db/etcddb.h"
#include "db/keyindex.h"
#include "analysis/detectors.h"
#include "render/render_verdict.h"
#include "render/render_db.h"
#include "render/render_verify.h"
#include "cli/tool.h"

typedef struct options {
	kvf_format format;
	kvf_render_opts render;
	int64_t rev;
	const char *prefix;
	const char *kinds;       /* --kind: Kubernetes kinds (encoding/k8s.h) */
	const char *ns;          /* --namespace */
	const char *command;
	const char *bucket;
	const char *path;
} options;

static void usage(void)
{
	printf("usage: %s [options] COMMAND DB\n"
	       "Read an etcd backend db (bbolt file, or LMDB environment) without changing it.\n"
	       "DB is an etcd data dir, a db file (member/snap/db), or an LMDB environment.\n"
	       "\n"
	       "Commands:\n"
	       "  status              format, meta, consistent_index, term, auth, revisions, counts\n"
	       "  buckets             every bucket with entries, bytes and pages\n"
	       "  dump BUCKET         every pair of BUCKET, decoded as etcd stores it\n"
	       "  keys                live keys (like etcdctl get --prefix), with --prefix/--rev\n"
	       "  hashkv              etcd's HashKV computed offline, with --rev\n"
	       "  check               structural integrity; exit 1 when anything is found\n"
	       "  pages               page-type histogram, fill factor, free pages\n"
	       "  verify              the db against the member's own WAL (a data dir): writes lost\n"
	       "                      below consistent_index, applied twice, a db older than .snap\n"
	       "\n"
	       "Options:\n"
	       "  -o, --output FORMAT text (default) or json\n"
	       "      --rev R         keys/hashkv at revision R (default: the current one)\n"
	       "      --prefix P      keys: only keys starting with P\n"
	       "      --kind LIST     keys, dump key: only Kubernetes objects of these kinds (Pod,jobs,...)\n"
	       "      --namespace NS  keys, dump key: only Kubernetes objects in namespace NS\n"
	       "      --values        text: print values, not just their size\n"
	       "      --color WHEN    auto (default), always, never\n"
	       "  -h, --help          this help\n"
	       "      --version       version\n"
	       "\n"
	       "Exit status: 0 ok, 1 damage or findings, 2 could not run.\n",
	       kvf_tool_name());
}

enum { OPT_REV = 256, OPT_PREFIX, OPT_VALUES, OPT_COLOR, OPT_VERSION, OPT_KIND, OPT_NAMESPACE };

static void parse_args(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "rev", required_argument, NULL, OPT_REV },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "namespace", required_argument, NULL, OPT_NAMESPACE },
		{ "values", no_argument, NULL, OPT_VALUES },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	o->render.color = kvf_color_default();
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!kvf_parse_format(optarg, &o->format))
				kvf_usage_error("unknown output format '%s' (text or json)", optarg);
			break;
		case OPT_REV:
			o->rev = strtoll(optarg, &end, 10);
			if (*end || end == optarg || o->rev <= 0)
				kvf_usage_error("--rev wants a revision above 0, not '%s'", optarg);
			break;
		case OPT_PREFIX: o->prefix = optarg; break;
		case OPT_KIND: o->kinds = optarg; break;
		case OPT_NAMESPACE: o->ns = optarg; break;
		case OPT_VALUES: o->render.values = true; break;
		case OPT_COLOR:
			if (!kvf_parse_color(optarg, &o->render.color))
				kvf_usage_error("--color wants auto, always or never");
			break;
		case 'h': usage(); exit(KVF_EXIT_CLEAN);
		case OPT_VERSION: kvf_print_version(); exit(KVF_EXIT_CLEAN);
		default: kvf_option_error(c, argv, "o:h", longopts);
		}
	}
	if (o->format == KVF_FORMAT_JSON)
		o->render.color = false;
	if (optind >= argc)
		kvf_usage_error("no COMMAND given");
	o->command = argv[optind++];
	static const char *const commands[] = { "status", "buckets", "dump", "keys", "hashkv", "check", "pages",
	                                        "verify", NULL };
	bool known = false;
	for (int i = 0; commands[i]; i++)
		known |= strcmp(o->command, commands[i]) == 0;
	if (!known)
		kvf_usage_error("unknown command '%s'", o->command);
	if (strcmp(o->command, "dump") == 0) {
		if (optind >= argc)
			kvf_usage_error("dump needs a BUCKET");
		o->bucket = argv[optind++];
	}
	if (optind >= argc)
		kvf_usage_error("no DB given");
	o->path = argv[optind++];
	if (optind < argc)
		kvf_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->rev && strcmp(o->command, "keys") != 0 && strcmp(o->command, "hashkv") != 0)
		kvf_usage_error("--rev applies to keys and hashkv");
	if (o->prefix && strcmp(o->command, "keys") != 0)
		kvf_usage_error("--prefix applies to keys");
	if ((o->kinds || o->ns) && strcmp(o->command, "keys") != 0 &&
	    !(strcmp(o->command, "dump") == 0 && strcmp(o->bucket, KVF_BUCKET_KEY) == 0))
		kvf_usage_error("--kind and --namespace apply to keys and dump key");
}

static kvf_buf line = KVF_BUF_INIT;

static void put_line(void)
{
	kvf_buf_putc(&line, '\n');
	fwrite(line.p, 1, line.len, stdout);
	kvf_buf_reset(&line);
}

static void put_json(json_t *v, bool doc)
{
	if (doc)
		kvf_json_write_doc(stdout, v);
	else
		kvf_json_write_line(stdout, v);
	json_decref(v);
}

static void progress_pairs(void *ctx, uint64_t pairs)
{
	kvf_progress_update(ctx, pairs, 0, "revisions");
}

static void progress_pages(void *ctx, uint64_t done, uint64_t total)
{
	kvf_progress_update(ctx, done, total, "pages");
}

static kvf_status build_index(kvf_backend *b, const options *o, const uint8_t *prefix,
                              kvf_keyindex *ki, kvf_err *err)
{
	kvf_progress prog;
	kvf_progress_start(&prog, "indexing bucket key:");
	kvf_keyindex_opts ko = {
		.at_rev = o->rev,
		.prefix = prefix,
		.prefix_len = prefix ? strlen((const char *)prefix) : 0,
		.hash_newer = strcmp(o->command, "hashkv") == 0,
		.progress = progress_pairs,
		.progress_ctx = &prog,
	};
	kvf_status s = kvf_keyindex_build(b, &ko, ki, err);
	kvf_progress_end(&prog);
	return s;
}

/* The membership cross-check and the known-bug detectors on this member
 * alone (analysis/detectors.h), with its WAL and member/snap when PATH is a
 * data dir. */
static kvf_status status_verdicts(kvf_backend *b, const kvf_db_status *st, const kvf_db_location *loc,
                                  kvf_verdicts *vs, kvf_err *err)
{
	kvf_member_view v = { .index = 0, .label = "this member", .db_path = loc->db_path, .be = b, .st = st };
	if (loc->is_datadir) {
		v.wal_dir = loc->datadir.wal_dir;
		v.snap_dir = loc->datadir.snap_dir;
		v.leftovers = loc->datadir.leftovers;
		v.n_leftovers = loc->datadir.n_leftovers;
	}
	return kvf_detect_member(&v, vs, err);
}

/* status: the db, and the data dir's leftovers when PATH is a data dir. A
 * snapshot file whose digest does not match, or a meta naming the wrong
 * kind of page, is damage (*clean = false). */
static kvf_status cmd_status(kvf_backend *b, const options *o, const kvf_db_location *loc,
                             bool *clean, kvf_err *err)
{
	kvf_keyindex ki;
	kvf_status s = build_index(b, o, NULL, &ki, err);
	if (s)
		return s;
	kvf_db_status st;
	s = kvf_db_status_read(b, &ki, &st, err);
	kvf_keyindex_free(&ki);
	if (s)
		return s;
	if (loc->is_datadir && (s = kvf_db_status_leftovers(&st, &loc->datadir, err))) {
		kvf_db_status_free(&st);
		return s;
	}
	kvf_verdicts vs = { 0 };
	if ((s = status_verdicts(b, &st, loc, &vs, err))) {
		kvf_verdicts_free(&vs);
		kvf_db_status_free(&st);
		return s;
	}
	/* the verdicts are reported, not judged: status exits 1 for damage only
	 * (dump-db verify is the command whose exit follows the verdicts) */
	*clean = !(st.snapshot.is_snapshot && !st.snapshot.digest_ok) && st.info->n_meta_refs == 0;
	kvf_arena arena;
	kvf_arena_init(&arena);
	const char *label = "this member";
	if (o->format == KVF_FORMAT_JSON) {
		json_t *j = kvf_json_db_status(&st, &arena);
		if (vs.n)   /* only then: the output of a member without findings is unchanged */
			json_object_set_new(j, "verdicts", kvf_json_verdicts(&vs, &label, 1));
		put_json(j, true);
	} else {
		kvf_text_db_status(&line, &st, &arena, &o->render);
		if (vs.n) {
			kvf_buf_puts(&line, "\n== verdicts (membership, known etcd bugs)\n");
			kvf_verdicts only = vs;
			only.n_ruled_out = 0;   /* the list of what was ruled out is diff-db's and verify's */
			kvf_text_verdicts(&line, &only, &label, 1, &o->render);
		}
		fwrite(line.p, 1, line.len, stdout);
		kvf_buf_reset(&line);
	}
	kvf_arena_free(&arena);
	kvf_verdicts_free(&vs);
	kvf_db_status_free(&st);
	return KVF_OK;
}

typedef struct bucket_walk {
	kvf_backend *b;
	const options *o;
	json_t *arr;
	kvf_status st;
	kvf_err *err;
} bucket_walk;

static bool one_bucket(void *ctx, kvf_span name)
{
	bucket_walk *w = ctx;
	kvf_bucket_stats bs;
	w->st = kvf_backend_bucket_stats(w->b, name.p, name.len, &bs, w->err);
	if (w->st)
		return false;
	if (w->o->format == KVF_FORMAT_JSON) {
		json_array_append_new(w->arr, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}",
			"name", kvf_json_bytes(name.p, name.len), "entries", kvf_json_u64(bs.entries),
			"key_bytes", kvf_json_u64(bs.key_bytes), "value_bytes", kvf_json_u64(bs.value_bytes),
			"branch_pages", kvf_json_u64(bs.branch_pages), "leaf_pages", kvf_json_u64(bs.leaf_pages),
			"overflow_pages", kvf_json_u64(bs.overflow_pages), "depth", kvf_json_u64(bs.depth),
			"inline", bs.is_inline));
	} else {
		kvf_buf_puts(&line, "  ");
		size_t start = line.len;
		kvf_text_bytes(&line, name.p, name.len);
		while (line.len - start < 16)
			kvf_buf_putc(&line, ' ');
		kvf_buf_printf(&line, " %10" PRIu64 " %12" PRIu64 " %7" PRIu64 " %7" PRIu64 " %8" PRIu64 " %5" PRIu64 "%s",
		               bs.entries, bs.key_bytes + bs.value_bytes, bs.branch_pages, bs.leaf_pages,
		               bs.overflow_pages, bs.depth, bs.is_inline ? "  inline" : "");
		put_line();
	}
	return true;
}

static kvf_status cmd_buckets(kvf_backend *b, const options *o, kvf_err *err)
{
	bucket_walk w = { b, o, json_array(), KVF_OK, err };
	if (o->format == KVF_FORMAT_TEXT)
		printf("  %-16s %10s %12s %7s %7s %8s %5s\n", "bucket", "entries", "bytes", "branch",
		       "leaf", "overflow", "depth");
	kvf_status s = kvf_backend_buckets(b, one_bucket, &w, err);
	if (!s)
		s = w.st;
	if (!s && o->format == KVF_FORMAT_JSON)
		put_json(json_pack("{s:O}", "buckets", w.arr), true);
	json_decref(w.arr);
	return s;
}

/* --kind, --namespace: is this KeyValue's value such an object? */
static bool k8s_wanted(const options *o, kvf_span kv_bytes)
{
	if (!o->kinds && !o->ns)
		return true;
	kvf_kv kv;
	kvf_k8s_object k;
	return kvf_kv_parse(kv_bytes, &kv) && kvf_k8s_decode(kv.value, &k) &&
	       kvf_k8s_matches(&k, o->kinds, o->ns);
}

static kvf_status cmd_dump(kvf_backend *b, const options *o, kvf_err *err)
{
	kvf_cursor *c;
	kvf_status s = kvf_cursor_open(b, o->bucket, strlen(o->bucket), &c, err);
	if (s)
		return s;
	kvf_span name = { (const uint8_t *)o->bucket, strlen(o->bucket), KVF_NO_OFFSET };
	kvf_bucket_kind kind = kvf_bucket_kind_of(name);
	kvf_arena arena;
	kvf_arena_init(&arena);
	kvf_pair p;
	bool got;
	while ((s = kvf_cursor_next(c, &p, &got, err)) == KVF_OK && got) {
		if (!p.is_bucket && !k8s_wanted(o, p.value))
			continue;
		kvf_arena_reset(&arena);
		if (o->format == KVF_FORMAT_JSON) {
			kvf_jw_db_pair(&line, kind, &p, &arena, &o->render);
			put_line();
		} else {
			kvf_text_db_pair(&line, kind, &p, &arena, &o->render);
			put_line();
		}
	}
	kvf_arena_free(&arena);
	kvf_cursor_close(c);
	return s;
}

static kvf_status cmd_keys(kvf_backend *b, const options *o, kvf_err *err)
{
	kvf_keyindex ki;
	kvf_status s = build_index(b, o, (const uint8_t *)o->prefix, &ki, err);
	if (s)
		return s;
	/* etcd's range: a revision below the compaction is gone (ErrCompacted) */
	if (o->rev && o->rev < ki.compact_rev) {
		int64_t compact = ki.compact_rev;
		kvf_keyindex_free(&ki);
		return kvf_err_set(err, KVF_E_USAGE, NULL, KVF_NO_OFFSET,
		                   "revision %" PRId64 " has been compacted (compaction at %" PRId64
		                   "): etcd no longer holds the keys as they were then", o->rev, compact);
	}
	const kvf_key_entry **v;
	size_t n;
	if ((s = kvf_keyindex_sorted(&ki, true, &v, &n, err))) {
		kvf_keyindex_free(&ki);
		return s;
	}
	for (size_t i = 0; i < n; i++) {
		/* in key order the KeyValues lie at random in the file: ask for
		 * the ones a few lines on while this one is written */
		if (i + 8 < n) {
			__builtin_prefetch(v[i + 8]->key.p);
			__builtin_prefetch(v[i + 8]->last_kv.p);
		}
		if (!k8s_wanted(o, v[i]->last_kv))
			continue;
		if (o->format == KVF_FORMAT_JSON) {
			kvf_jw_live_key(&line, v[i], &o->render);
			put_line();
		} else {
			kvf_text_live_key(&line, v[i], &o->render);
			put_line();
		}
	}
	free(v);
	kvf_keyindex_free(&ki);
	return KVF_OK;
}

static kvf_status cmd_hashkv(kvf_backend *b, const options *o, kvf_err *err)
{
	kvf_keyindex ki;
	kvf_status s = build_index(b, o, NULL, &ki, err);
	if (s)
		return s;
	/* etcd's HashKV: a revision below the compaction is ErrCompacted, and
	 * the compaction revision itself too for the versions that say so
	 * (db/version.h kvf_hashkv_at_compaction_ok) */
	kvf_etcd_state es;
	kvf_db_schema schema;
	if ((s = kvf_etcd_read_state(b, &es, err))) {
		kvf_keyindex_free(&ki);
		return s;
	}
	kvf_db_schema_detect(&es, &schema);
	if (o->rev && (o->rev < ki.compact_rev ||
	               (o->rev == ki.compact_rev && !kvf_hashkv_at_compaction_ok(&schema)))) {
		int64_t compact = ki.compact_rev;
		kvf_keyindex_free(&ki);
		return kvf_err_set(err, KVF_E_USAGE, NULL, KVF_NO_OFFSET,
		                   "revision %" PRId64 " has been compacted (compaction at %" PRId64 ")%s",
		                   o->rev, compact, o->rev == compact ?
		                   ": etcd 3.4 (this db has no meta/term) refuses a HashKV at the compaction "
		                   "revision; 3.5.10 and later answer it" : "");
	}
	if (ki.scheduled_compact_rev > ki.compact_rev)
		kvf_warn("a compaction to %" PRId64 " was scheduled but not finished; etcd finishes it at "
		         "startup, and its HashKV afterwards will differ from this one", ki.scheduled_compact_rev);
	kvf_hashkv h;
	s = kvf_hashkv_compute(b, &ki, &h, err);
	kvf_keyindex_free(&ki);
	if (s)
		return s;
	if (o->format == KVF_FORMAT_JSON)
		put_json(kvf_json_hashkv(&h), true);
	else
		printf("hash %" PRIu32 " at revision %" PRId64 " (compact revision %" PRId64
		       ", current revision %" PRId64 ")\n", h.hash, h.revision, h.compact_rev, h.current_rev);
	return KVF_OK;
}

typedef struct check_out {
	const options *o;
	json_t *arr;
	uint64_t n;
} check_out;

static void on_finding(void *ctx, const kvf_db_finding *f)
{
	check_out *c = ctx;
	c->n++;
	if (c->o->format == KVF_FORMAT_JSON) {
		json_array_append_new(c->arr, kvf_json_db_finding(f));
	} else {
		kvf_buf_puts(&line, kvf_color(&c->o->render, "damage"));
		kvf_text_db_finding(&line, f);
		kvf_buf_puts(&line, kvf_color(&c->o->render, "reset"));
		put_line();
	}
}

/* A snapshot file's digest, checked as etcdutl snapshot restore checks it:
 * a mismatch is a finding like any damage, at the digest's offset. */
static kvf_status check_snapshot_digest(kvf_backend *b, check_out *c, kvf_snapshot_file *sf,
                                        bool *clean, kvf_err *err)
{
	const kvf_backend_info *in = kvf_backend_get_info(b);
	kvf_status s = in->format == KVF_FORMAT_BBOLT ? kvf_snapshot_file_verify(in->path, sf, err) : KVF_OK;
	uint64_t at, n;
	if (!s && kvf_db_partial_page(in, sf, &at, &n)) {
		kvf_db_finding f = { .pgid = at / in->page_size, .offset = at };
		snprintf(f.msg, sizeof(f.msg), "page %" PRIu64 ": the file ends %" PRIu64 " bytes into it: a db is whole "
		         "pages (%" PRIu64 " bytes), a snapshot file 32 bytes more (its SHA-256)", f.pgid, n,
		         in->page_size);
		on_finding(c, &f);
		*clean = false;
	}
	if (s || !sf->is_snapshot || sf->digest_ok)
		return s;
	kvf_db_finding f;
	kvf_snapshot_file_finding(sf, &f);
	on_finding(c, &f);
	*clean = false;
	return KVF_OK;
}

static kvf_status cmd_check(kvf_backend *b, const options *o, bool *clean, kvf_err *err)
{
	check_out c = { o, json_array(), 0 };
	kvf_progress prog;
	kvf_progress_start(&prog, "checking");
	kvf_status s = kvf_backend_check(b, on_finding, &c, progress_pages, &prog, clean, err);
	kvf_progress_end(&prog);
	kvf_snapshot_file sf = { 0 };
	if (!s)
		s = check_snapshot_digest(b, &c, &sf, clean, err);
	if (!s) {
		const kvf_backend_info *in = kvf_backend_get_info(b);
		if (o->format == KVF_FORMAT_JSON)
			put_json(json_pack("{s:s,s:b,s:O,s:o,s:i,s:b,s:o}", "path", in->path, "clean", *clean,
			                   "findings", c.arr, "pages", kvf_json_u64(in->file_size / (in->page_size ? in->page_size : 1)),
			                   "meta_in_use", in->meta_in_use, "meta_fallback", in->meta_fallback,
			                   "snapshot_file", kvf_json_snapshot_file(&sf)), true);
		else
			printf("%s%s: %s%s%s\n", kvf_color(&o->render, *clean ? "ok" : "damage"), in->path,
			       *clean ? "ok" : "DAMAGED",
			       sf.is_snapshot ? (sf.digest_ok ? " (snapshot file, SHA-256 matches)"
			                                      : " (snapshot file, SHA-256 mismatch)") : "",
			       kvf_color(&o->render, "reset"));
	}
	json_decref(c.arr);
	return s;
}

static kvf_status cmd_pages(kvf_backend *b, const options *o, kvf_err *err)
{
	kvf_page_stats ps;
	kvf_status s = kvf_backend_page_stats(b, &ps, err);
	if (s)
		return s;
	double fill = ps.capacity_bytes ? 100.0 * (double)ps.used_bytes / (double)ps.capacity_bytes : 0;
	if (o->format == KVF_FORMAT_JSON) {
		put_json(json_pack("{s:o,s:o,s:{s:o,s:o,s:o,s:o,s:o},s:o,s:o,s:o,s:o,s:f}",
			"total_pages", kvf_json_u64(ps.total_pages), "high_water", kvf_json_u64(ps.high_water),
			"reachable", "meta", kvf_json_u64(ps.meta), "branch", kvf_json_u64(ps.branch),
			"leaf", kvf_json_u64(ps.leaf), "overflow", kvf_json_u64(ps.overflow),
			"freelist", kvf_json_u64(ps.freelist),
			"free_listed", kvf_json_u64(ps.free_listed), "unreachable", kvf_json_u64(ps.unreachable),
			"used_bytes", kvf_json_u64(ps.used_bytes), "capacity_bytes", kvf_json_u64(ps.capacity_bytes),
			"fill_percent", fill), true);
		return KVF_OK;
	}
	printf("pages        %" PRIu64 " in the file, %" PRIu64 " below the high-water mark\n",
	       ps.total_pages, ps.high_water);
	printf("reachable    meta %" PRIu64 ", branch %" PRIu64 ", leaf %" PRIu64 ", overflow %" PRIu64
	       ", freelist %" PRIu64 "\n", ps.meta, ps.branch, ps.leaf, ps.overflow, ps.freelist);
	printf("free         %" PRIu64 " listed in the freelist, %" PRIu64 " unreachable\n",
	       ps.free_listed, ps.unreachable);
	printf("fill factor  %.1f%% of branch and leaf page capacity in use\n", fill);
	return KVF_OK;
}

static void verify_progress(void *ctx, const char *stage, uint64_t done)
{
	kvf_progress *p = ctx;
	p->what = stage;
	kvf_progress_update(p, done, 0, "");
}

/* "node1" for .../node1/ (the name verdicts give the member). */
static char *path_label(const char *path)
{
	char *p = strdup(path);
	if (!p)
		return NULL;
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	const char *slash = strrchr(p, '/');
	char *l = strdup(slash ? slash + 1 : p);
	free(p);
	return l;
}

/* One member against its own WAL (analysis/verify.h). */
static kvf_status cmd_verify(kvf_backend *b, const options *o, const kvf_db_location *loc, bool *clean,
                             kvf_err *err)
{
	const char *wal = loc->is_datadir ? loc->datadir.wal_dir : NULL;
	const char *snap = loc->is_datadir ? loc->datadir.snap_dir : NULL;
	if (!wal)
		kvf_warn("%s: no member/wal here: only the db's own bookkeeping is checked (give the data directory)",
		         o->path);
	char *label = path_label(o->path);
	kvf_verify v;
	kvf_progress prog;
	kvf_progress_start(&prog, "verifying");
	kvf_status s = kvf_verify_run(&v, b, label ? label : o->path, loc->db_path, wal, snap, NULL, verify_progress, &prog,
	                              err);
	kvf_progress_end(&prog);
	if (!s) {
		if (o->format == KVF_FORMAT_JSON) {
			put_json(kvf_json_verify(&v), true);
		} else {
			kvf_buf tb = KVF_BUF_INIT;
			kvf_text_verify(&tb, &v, &o->render);
			fwrite(tb.p, 1, tb.len, stdout);
			kvf_buf_free(&tb);
		}
		*clean = !kvf_verify_failed(&v);
	}
	kvf_verify_free(&v);
	free(label);
	return s;
}

/* Damage met while reading (skipped pages, meta fallback): never silent. */
static bool report_read_findings(kvf_backend *b)
{
	const kvf_db_finding *f;
	size_t n = kvf_backend_findings(b, &f);
	for (size_t i = 0; i < n; i++) {
		kvf_text_db_finding(&line, &f[i]);
		kvf_warn("%s: %s", kvf_backend_get_info(b)->path, line.p);
		kvf_buf_reset(&line);
	}
	return n > 0;
}

int main(int argc, char **argv)
{
	kvf_tool_init("dump-db");
	/* `dump key` writes a line per revision, gigabytes of JSON for a large
	 * db: with stdio's 4 KiB buffer a line of a 1000-byte value took a
	 * write call of its own (a tenth of the time on the bench db). Large
	 * blocks, unless a terminal shows the lines as they come. */
	static char out_buffer[1 << 20];
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, out_buffer, _IOFBF, sizeof(out_buffer));
	options o = { 0 };
	parse_args(argc, argv, &o);

	kvf_err err;
	kvf_err_clear(&err);
	kvf_db_location loc = { 0 };
	kvf_backend *b = NULL;
	int rc = KVF_EXIT_CLEAN;
	if (kvf_etcd_db_locate(o.path, &loc, &err) || kvf_backend_open(&b, loc.db_path, &err)) {
		kvf_report(&err);
		kvf_db_location_free(&loc);
		return KVF_EXIT_TROUBLE;
	}
	const char *db_path = loc.db_path;
	kvf_status s;
	bool clean = true;
	if (strcmp(o.command, "status") == 0)
		s = cmd_status(b, &o, &loc, &clean, &err);
	else if (strcmp(o.command, "buckets") == 0)
		s = cmd_buckets(b, &o, &err);
	else if (strcmp(o.command, "dump") == 0)
		s = cmd_dump(b, &o, &err);
	else if (strcmp(o.command, "keys") == 0)
		s = cmd_keys(b, &o, &err);
	else if (strcmp(o.command, "hashkv") == 0)
		s = cmd_hashkv(b, &o, &err);
	else if (strcmp(o.command, "check") == 0)
		s = cmd_check(b, &o, &clean, &err);
	else if (strcmp(o.command, "verify") == 0)
		s = cmd_verify(b, &o, &loc, &clean, &err);
	else
		s = cmd_pages(b, &o, &err);
	if (s) {
		if (!err.file)
			err.file = db_path;
		kvf_report(&err);
		rc = KVF_EXIT_TROUBLE;
	} else if (!clean) {
		rc = KVF_EXIT_FINDINGS;
	}
	/* check reports its own findings; other commands surface what they met */
	if (strcmp(o.command, "check") != 0 && report_read_findings(b) && rc == KVF_EXIT_CLEAN)
		rc = KVF_EXIT_FINDINGS;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		kvf_warn("write error on standard output");
		rc = KVF_EXIT_TROUBLE;
	}
	kvf_backend_close(b);
	kvf_db_location_free(&loc);
	kvf_buf_free(&line);
	return rc;
}
