/* dump-wal: decode etcd WAL segments and snapshot files, verify the CRC
 * chain, and show where the evidence is damaged. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/bytes.h"
#include "io/crc32c.h"
#include "wal/raft.h"
#include "wal/raftlog.h"
#include "render/render.h"
#include "render/render_wal.h"
#include "io/source.h"
#include "cli/tool.h"

/* stdout's buffer when it is not a terminal */
#define OUT_BUFFER (1u << 20)

typedef enum mode { MODE_LIST, MODE_SUMMARY, MODE_VERIFY } mode;

typedef struct options {
	mode mode;
	kvf_format format;
	kvf_render_opts render;
	kvf_entry_filter filter;
	bool all_records;
	bool snap_only;         /* --snap: the PATHs are .snap files or snap dirs */
	bool no_snap;
} options;

static void usage(void)
{
	printf("usage: %s [options] PATH...\n"
	       "Decode etcd WAL segments (and .snap files), verify the CRC chain, report damage.\n"
	       "PATH is an etcd data dir, a wal dir, or segment files (.wal, .wal.gz).\n"
	       "\n"
	       "  -o, --output FORMAT     text (default) or json (one object per record)\n"
	       "      --summary           counts, index range, terms, hard state, damage\n"
	       "      --verify            integrity only: CRC chain, frames, tails\n"
	       "      --index FROM[:TO]   entries with FROM <= index <= TO\n"
	       "      --kind LIST         entries of these kinds (put,txn,lease_*,auth_*,conf,v2,empty,...)\n"
	       "                          or putting Kubernetes objects of these kinds (Pod,deployments,...)\n"
	       "      --namespace NS      entries putting a Kubernetes object in namespace NS\n"
	       "      --key-prefix P      entries that touch a key under P\n"
	       "      --user U            entries whose request header names user U\n"
	       "      --records           text: also list state and crc records\n"
	       "      --values            text: print values, not just their size\n"
	       "      --show-secrets      show passwords and tokens carried in the log\n"
	       "      --snap              PATHs are .snap files or snap directories\n"
	       "      --no-snap           do not decode member/snap/*.snap of a data dir\n"
	       "      --color WHEN        auto (default), always, never\n"
	       "  -h, --help              this help\n"
	       "      --version           version\n"
	       "\n"
	       "Exit status: 0 clean, 1 damage found, 2 could not run.\n",
	       kvf_tool_name());
}

enum {
	OPT_SUMMARY = 256, OPT_VERIFY, OPT_INDEX, OPT_KIND, OPT_KEY_PREFIX, OPT_USER,
	OPT_RECORDS, OPT_VALUES, OPT_SECRETS, OPT_SNAP, OPT_NO_SNAP, OPT_COLOR, OPT_VERSION,
	OPT_NAMESPACE,
};

static void parse_args(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "index", required_argument, NULL, OPT_INDEX },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "key-prefix", required_argument, NULL, OPT_KEY_PREFIX },
		{ "user", required_argument, NULL, OPT_USER },
		{ "namespace", required_argument, NULL, OPT_NAMESPACE },
		{ "records", no_argument, NULL, OPT_RECORDS },
		{ "values", no_argument, NULL, OPT_VALUES },
		{ "show-secrets", no_argument, NULL, OPT_SECRETS },
		{ "snap", no_argument, NULL, OPT_SNAP },
		{ "no-snap", no_argument, NULL, OPT_NO_SNAP },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	o->render.color = kvf_color_default();
	int c;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!kvf_parse_format(optarg, &o->format))
				kvf_usage_error("unknown output format '%s' (text or json)", optarg);
			break;
		case OPT_SUMMARY: o->mode = MODE_SUMMARY; break;
		case OPT_VERIFY: o->mode = MODE_VERIFY; break;
		case OPT_INDEX:
			if (!kvf_entry_filter_index(&o->filter, optarg))
				kvf_usage_error("--index wants FROM, FROM: or FROM:TO, not '%s'", optarg);
			break;
		case OPT_KIND: {
			/* request kinds, and the rest as Kubernetes kinds */
			char *req, *k8s, bad[64];
			if (!kvf_kind_list_split(optarg, &req, &k8s, bad, sizeof(bad)))
				kvf_usage_error("--kind: '%s' is neither a request kind nor a Kubernetes kind "
				                "(those start with a capital: Pod, MyResource)", bad);
			o->filter.kinds = req;
			o->filter.k8s_kinds = k8s;
			if (!req && !k8s)
				kvf_usage_error("--kind wants a list of kinds");
			break;
		}
		case OPT_NAMESPACE: o->filter.k8s_namespace = optarg; break;
		case OPT_KEY_PREFIX:
			o->filter.has_key_prefix = true;
			o->filter.key_prefix = (const uint8_t *)optarg;
			o->filter.key_prefix_len = strlen(optarg);
			break;
		case OPT_USER: o->filter.user = optarg; break;
		case OPT_RECORDS: o->all_records = true; break;
		case OPT_VALUES: o->render.values = true; break;
		case OPT_SECRETS: o->render.show_secrets = true; break;
		case OPT_SNAP: o->snap_only = true; break;
		case OPT_NO_SNAP: o->no_snap = true; break;
		case OPT_COLOR:
			if (!kvf_parse_color(optarg, &o->render.color))
				kvf_usage_error("--color wants auto, always or never");
			break;
		case 'h': usage(); exit(KVF_EXIT_CLEAN);
		case OPT_VERSION:
			kvf_print_version();
			/* which CRC-32C code checks the chain: what benchmarks depend on */
			printf("crc32c: %s\n", kvf_crc32c_impl());
			exit(KVF_EXIT_CLEAN);
		default: kvf_option_error(c, argv, "o:h", longopts);
		}
	}
	if (o->format == KVF_FORMAT_JSON)
		o->render.color = false;
	if (optind >= argc)
		kvf_usage_error("no PATH given");
}

/* What the PATH arguments name. Each data dir, wal dir or snap dir is one
 * member's log, read and summarised on its own; segment files given one by
 * one (and .snap files) are one log together, as etcd's segments of one WAL. */
typedef struct member {
	const char *label;      /* NAME of NAME=PATH, else PATH as given */
	const char *path;
	kvf_wal_segments segs;
	char **snaps;
	size_t n_snaps, cap_snaps;
} member;

typedef struct inputs {
	member *v;
	size_t n, cap;
	member *files;          /* the member of the files given one by one */
} inputs;

static member *new_member(inputs *in, const char *label, const char *path)
{
	if (!kvf_grow_array((void **)&in->v, &in->cap, in->n, sizeof(*in->v)))
		return NULL;
	member *m = &in->v[in->n++];
	memset(m, 0, sizeof(*m));
	m->label = label;
	m->path = path;
	return m;
}

static bool add_snap(member *m, const char *path)
{
	if (!kvf_grow_array((void **)&m->snaps, &m->cap_snaps, m->n_snaps, sizeof(*m->snaps)))
		return false;
	return (m->snaps[m->n_snaps++] = strdup(path)) != NULL;
}

static kvf_status add_snap_dir(member *m, const char *dir, kvf_err *err)
{
	char **paths;
	size_t n;
	kvf_status st = kvf_snap_list(dir, &paths, &n, err);
	for (size_t i = 0; st == KVF_OK && i < n; i++)
		if (!add_snap(m, paths[i]))
			st = kvf_err_set(err, KVF_E_NOMEM, dir, KVF_NO_OFFSET, "out of memory");
	kvf_snap_list_free(paths, n);
	return st;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* NAME=PATH names a member, as diff-db's arguments do; an argument that is
 * itself an existing path is a path, '=' or not. */
static void split_label(char *arg, const char **label, const char **path)
{
	char *eq = strchr(arg, '=');
	*label = *path = arg;
	if (eq && eq != arg && access(arg, F_OK) != 0 && !memchr(arg, '/', (size_t)(eq - arg))) {
		*eq = '\0';
		*path = eq + 1;
	}
}

/* A file that is not a WAL segment is not damage in a WAL: refuse it
 * before reading anything, saying what it is and which tool reads it. */
static kvf_status sniff_segments(const member *m, kvf_err *err)
{
	for (size_t i = 0; i < m->segs.n; i++) {
		bool wal;
		kvf_file_kind other;
		kvf_status st = kvf_wal_sniff(&m->segs.v[i], &wal, &other, err);
		if (st)
			return st;
		if (wal)
			continue;
		const char *reader = other == KVF_FILE_SNAP ? "; dump-wal --snap reads it"
		                   : other == KVF_FILE_UNKNOWN || other == KVF_FILE_EMPTY ? "" : "; dump-db reads it";
		return kvf_err_set(err, KVF_E_UNSUPPORTED, m->segs.v[i].path, KVF_NO_OFFSET,
		                   "not an etcd WAL segment: %s%s", other == KVF_FILE_UNKNOWN
		                   ? "no WAL record can be read from it" : kvf_file_kind_name(other), reader);
	}
	return KVF_OK;
}

/* etcd's file pipeline keeps the next segment preallocated as N.tmp, all
 * zeros until cut() writes its first records and renames it (wal.go,
 * file_pipeline.go). A shell glob of member/wal names it: one with nothing in
 * it yet is skipped, with a note; one with records (a crash before the
 * rename) is read as the unnamed segment it is. */
static bool preallocated_tmp(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t digits = strspn(base, "0123456789");
	if (!digits || strcmp(base + digits, ".tmp") != 0)
		return false;
	kvf_stream st;
	kvf_err e;
	if (kvf_stream_open(&st, path, &e) != KVF_OK)
		return false;
	const uint8_t *p;
	size_t got = 0;
	bool zeros = kvf_stream_get(&st, 0, 4096, &p, &got, &e) == KVF_OK && kvf_is_zero(p, got);
	kvf_stream_close(&st);
	if (zeros)
		kvf_warn("%s: skipped: etcd's preallocated next segment, no records in it", path);
	return zeros;
}

static kvf_status gather_one(inputs *in, const options *o, char *arg, kvf_err *err)
{
	const char *label, *path;
	split_label(arg, &label, &path);
	kvf_path_kind kind;
	kvf_datadir dd;
	kvf_status st = kvf_path_classify(path, &kind, &dd, err);
	if (st)
		return st;
	member *m = NULL;
	if (kind == KVF_PATH_OTHER) {
		st = kvf_err_set(err, KVF_E_IO, path, KVF_NO_OFFSET, "not a regular file or directory");
	} else if (kind == KVF_PATH_FILE && !o->snap_only && preallocated_tmp(path)) {
		st = KVF_OK;
	} else if (kind == KVF_PATH_FILE) {
		if (!in->files)
			in->files = new_member(in, label, path);
		m = in->files;
		if (!m)
			st = kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
		else if (o->snap_only || ends_with(path, ".snap"))
			st = add_snap(m, path) ? KVF_OK : kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
		else
			st = kvf_wal_segments_add(&m->segs, path, err);
	} else if (!(m = new_member(in, label, path))) {
		st = kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
	} else if (kind == KVF_PATH_DATADIR) {
		if (!o->snap_only) {
			if (!dd.wal_dir)
				st = kvf_err_set(err, KVF_E_NOTFOUND, path, KVF_NO_OFFSET,
				                 "data directory without member/wal");
			else
				st = kvf_wal_segments_add(&m->segs, dd.wal_dir, err);
		}
		if (st == KVF_OK && dd.snap_dir && !o->no_snap)
			st = add_snap_dir(m, dd.snap_dir, err);
	} else {
		st = o->snap_only ? add_snap_dir(m, path, err) : kvf_wal_segments_add(&m->segs, path, err);
	}
	kvf_datadir_free(&dd);
	return st;
}

static kvf_status gather(inputs *in, const options *o, char **paths, int n, kvf_err *err)
{
	for (int i = 0; i < n; i++) {
		kvf_status st = gather_one(in, o, paths[i], err);
		if (st)
			return st;
	}
	for (size_t i = 0; i < in->n; i++) {
		kvf_wal_segments_order(&in->v[i].segs);
		kvf_status st = sniff_segments(&in->v[i], err);
		if (st)
			return st;
	}
	return KVF_OK;
}

static void inputs_free(inputs *in)
{
	for (size_t i = 0; i < in->n; i++) {
		kvf_wal_segments_free(&in->v[i].segs);
		kvf_snap_list_free(in->v[i].snaps, in->v[i].n_snaps);
	}
	free(in->v);
}

static void emit_json(json_t *v)
{
	if (v) {
		kvf_json_write_line(stdout, v);
		json_decref(v);
	}
}

static void emit_text(kvf_buf *line)
{
	kvf_buf_putc(line, '\n');
	fwrite(line->p, 1, line->len, stdout);
	kvf_buf_reset(line);
}

/* Decode every .snap file of a member; returns the number that are damaged.
 * label: the member's, when there are several (JSON records carry it). */
static int dump_snaps(const member *in, const options *o, const char *label, json_t *summary_list)
{
	int damaged = 0;
	kvf_arena arena;
	kvf_arena_init(&arena);
	kvf_buf line = KVF_BUF_INIT;
	for (size_t i = 0; i < in->n_snaps; i++) {
		kvf_snap_file sf;
		kvf_err err;
		kvf_err_clear(&err);
		kvf_arena_reset(&arena);
		kvf_status st = kvf_snap_read(in->snaps[i], &arena, &sf, &err);
		bool bad = st != KVF_OK || !sf.crc_ok ||
		           (sf.name_ok && (sf.name_term != sf.term || sf.name_index != sf.index));
		damaged += bad;
		if (st) {
			kvf_report(&err);
			if (summary_list)
				json_array_append_new(summary_list, json_pack("{s:s,s:s}", "file", in->snaps[i],
				                                              "error", err.msg));
			else if (o->format == KVF_FORMAT_JSON)
				emit_json(json_pack("{s:s,s:s,s:s}", "record", "snap_file", "file", in->snaps[i],
				                    "error", err.msg));
			continue;
		}
		if (o->mode == MODE_VERIFY && !bad)
			continue;
		json_t *obj = json_pack("{s:s,s:s,s:o,s:o,s:s,s:o,s:b}", "record", "snap_file",
		                        "file", in->snaps[i], "index", kvf_json_u64(sf.index),
		                        "term", kvf_json_u64(sf.term),
		                        "crc_check", sf.crc_ok ? "ok" : "mismatch",
		                        "data_bytes", kvf_json_u64(sf.data_len),
		                        "name_matches", !sf.name_ok || (sf.name_term == sf.term &&
		                                                        sf.name_index == sf.index));
		if (sf.conf_state)
			kvf_json_set(obj, "conf_state", kvf_json_conf_state(sf.conf_state));
		kvf_json_set(obj, "v2_store", kvf_json_snap_v2(&sf.v2));
		if (summary_list) {
			json_array_append_new(summary_list, obj);
		} else if (o->format == KVF_FORMAT_JSON) {
			if (label)
				kvf_json_set(obj, "member", json_string(label));
			emit_json(obj);
		} else {
			json_decref(obj);
			kvf_buf_printf(&line, "%ssnap %s  index=%" PRIu64 " term=%" PRIu64 " data=",
			               bad ? kvf_color(&o->render, "damage") : "", in->snaps[i], sf.index, sf.term);
			kvf_text_size(&line, sf.data_len);
			if (sf.conf_state) {
				kvf_buf_puts(&line, " voters=");
				for (size_t k = 0; k < sf.conf_state->n_voters; k++)
					kvf_buf_printf(&line, "%s%" PRIx64, k ? "," : "", sf.conf_state->voters[k]);
			}
			kvf_text_snap_v2(&line, &sf.v2);
			kvf_buf_printf(&line, " crc %s", sf.crc_ok ? "ok" : "MISMATCH");
			if (sf.name_ok && (sf.name_term != sf.term || sf.name_index != sf.index))
				kvf_buf_puts(&line, " (name disagrees with content)");
			kvf_buf_puts(&line, kvf_color(&o->render, bad ? "reset" : ""));
			emit_text(&line);
		}
	}
	kvf_buf_free(&line);
	kvf_arena_free(&arena);
	return damaged;
}

/* How the members' results come out: each member alone, labelled when
 * there are several; JSON documents of several members go in one array. */
typedef struct run_ctx {
	const options *o;
	bool multi;
	json_t *docs;              /* multi, summary or verify in JSON */
} run_ctx;

static void emit_doc(const run_ctx *c, const member *m, json_t *doc)
{
	if (!c->docs) {
		kvf_json_write_doc(stdout, doc);
		json_decref(doc);
		return;
	}
	kvf_json_set(doc, "member", json_string(m->label));
	kvf_json_set(doc, "path", json_string(m->path));
	json_array_append_new(c->docs, doc);
}

static void emit_finding(const run_ctx *c, const member *m, const kvf_log_item *it, json_t *findings,
                         kvf_buf *line)
{
	if (findings) {
		json_array_append_new(findings, c->multi ? kvf_json_wal_finding_of(m->label, &it->ev)
		                                         : kvf_json_wal_finding(&it->ev));
	} else if (c->o->format == KVF_FORMAT_JSON) {   /* a listing: one line */
		json_t *f = kvf_json_wal_finding_of(m->label, &it->ev);
		kvf_json_append(line, f, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(f);
		emit_text(line);
	} else {
		if (c->multi)
			kvf_text_wal_finding_of(line, m->label, &it->ev, &c->o->render);
		else
			kvf_text_wal_finding(line, &it->ev, &c->o->render);
		emit_text(line);
	}
}

static kvf_status run_wal(const member *m, const run_ctx *c, json_t *snap_list, bool *damage,
                          kvf_err *err)
{
	const options *o = c->o;
	kvf_raftlog_options lo = {
		.decode_requests = o->mode == MODE_LIST,
		.count_kinds = o->mode == MODE_SUMMARY,
		.prepass = o->mode == MODE_LIST,
	};
	kvf_raftlog *log;
	kvf_status st = kvf_raftlog_open(&log, &m->segs, &lo, err);
	if (st)
		return st;
	kvf_buf line = KVF_BUF_INIT;
	json_t *findings = o->mode != MODE_LIST && o->format == KVF_FORMAT_JSON ? json_array() : NULL;
	kvf_progress prog;
	kvf_progress_start(&prog, "reading WAL");
	bool filtering = kvf_entry_filter_active(&o->filter);
	kvf_log_item it;
	uint64_t n = 0;
	while ((st = kvf_raftlog_next(log, &it, err)) == KVF_OK && it.ev.kind != KVF_WAL_EV_END) {
		if ((++n & 0xfff) == 0) {
			uint64_t done, total;
			kvf_wal_progress(kvf_raftlog_reader(log), &done, &total);
			kvf_progress_update(&prog, done >> 20, total >> 20, "MiB");
		}
		bool is_finding = it.ev.kind == KVF_WAL_EV_FINDING;
		if (o->mode != MODE_LIST) {
			/* summary and verify list the findings, not the records */
			if (is_finding)
				emit_finding(c, m, &it, findings, &line);
			continue;
		}
		if (is_finding && c->multi) {
			emit_finding(c, m, &it, NULL, &line);
			continue;
		}
		if (!is_finding && filtering && !kvf_entry_filter_match(&o->filter, &it))
			continue;
		if (o->format == KVF_FORMAT_JSON ? kvf_jw_wal_item(&line, &it, &o->render)
		                                 : kvf_text_wal_item(&line, &it, &o->render, o->all_records)) {
			if (c->multi && o->format == KVF_FORMAT_JSON)
				kvf_jw_prepend_member(&line, 0, m->label);
			emit_text(&line);
		}
	}
	kvf_progress_end(&prog);
	const kvf_log_summary *s = kvf_raftlog_summary(log);
	if (st == KVF_OK) {
		*damage = s->damage > 0;
		if (o->mode == MODE_SUMMARY && o->format == KVF_FORMAT_TEXT) {
			kvf_text_log_summary(&line, s, &o->render);
			fwrite(line.p, 1, line.len, stdout);
		} else if (o->mode == MODE_SUMMARY) {
			json_t *doc = kvf_json_log_summary(s, &m->segs);
			kvf_json_set(doc, "damage_list", findings);
			findings = NULL;
			if (snap_list)
				kvf_json_set(doc, "snap_files", json_incref(snap_list));
			emit_doc(c, m, doc);
		} else if (o->mode == MODE_VERIFY && o->format == KVF_FORMAT_TEXT) {
			kvf_buf_printf(&line, "%s%s%s%zu segment(s), %" PRIu64 " records, crc chain %" PRIu64
			               " ok / %" PRIu64 " mismatch / %" PRIu64 " unchecked: %s",
			               kvf_color(&o->render, s->damage ? "damage" : "ok"),
			               c->multi ? m->label : "", c->multi ? ": " : "", s->segments,
			               s->crc_ok + s->crc_bad + s->crc_unchecked, s->crc_ok, s->crc_bad,
			               s->crc_unchecked, s->damage ? "DAMAGED" : "clean");
			kvf_text_log_incomplete(&line, s);
			kvf_buf_puts(&line, kvf_color(&o->render, "reset"));
			emit_text(&line);
		} else if (o->mode == MODE_VERIFY) {
			json_t *doc = json_pack("{s:s,s:I,s:o,s:o,s:o,s:o}", "verdict", s->damage ? "damaged" : "clean",
			                        "segments", (json_int_t)s->segments,
			                        "records", kvf_json_u64(s->crc_ok + s->crc_bad + s->crc_unchecked),
			                        "crc_ok", kvf_json_u64(s->crc_ok),
			                        "crc_mismatch", kvf_json_u64(s->crc_bad), "findings", findings);
			findings = NULL;
			kvf_json_log_incomplete(doc, s);
			emit_doc(c, m, doc);
		}
	}
	json_decref(findings);
	kvf_buf_free(&line);
	kvf_raftlog_close(log);
	return st;
}

/* One member: its .snap files, then its WAL. The exit status it earns. */
static int run_member(const member *m, const run_ctx *c)
{
	const options *o = c->o;
	int rc = KVF_EXIT_CLEAN;
	kvf_err err;
	kvf_err_clear(&err);
	if (c->multi && o->format == KVF_FORMAT_TEXT)
		printf("%s== %s%s%s%s\n", kvf_color(&o->render, "dim"), m->label,
		       strcmp(m->label, m->path) ? ": " : "", strcmp(m->label, m->path) ? m->path : "",
		       kvf_color(&o->render, "reset"));
	json_t *snap_list = o->mode == MODE_SUMMARY && o->format == KVF_FORMAT_JSON ? json_array() : NULL;
	if (m->n_snaps && dump_snaps(m, o, c->multi ? m->label : NULL, snap_list) > 0)
		rc = KVF_EXIT_FINDINGS;
	if (snap_list && m->segs.n == 0) {
		json_t *doc = json_pack("{s:O}", "snap_files", snap_list);
		emit_doc(c, m, doc);
	}
	if (m->segs.n) {
		bool damage = false;
		if (run_wal(m, c, snap_list, &damage, &err)) {
			kvf_report(&err);
			rc = KVF_EXIT_TROUBLE;
		} else if (damage && rc == KVF_EXIT_CLEAN) {
			rc = KVF_EXIT_FINDINGS;
		}
	}
	json_decref(snap_list);
	return rc;
}

int main(int argc, char **argv)
{
	kvf_tool_init("dump-wal");
	/* A listing is a stream of lines, a gigabyte of JSON for a large WAL:
	 * write it in large blocks, unless a terminal shows it as it comes.
	 * (With stdio's default 4 KiB the write calls took a quarter of the
	 * time; gathering the lines in a buffer of our own instead of stdio's
	 * measured slower still.) glibc ignores the size without a buffer. */
	static char out_buffer[OUT_BUFFER];
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, out_buffer, _IOFBF, sizeof(out_buffer));
	options o = { 0 };
	parse_args(argc, argv, &o);

	inputs in = { 0 };
	kvf_err err;
	kvf_err_clear(&err);
	if (gather(&in, &o, argv + optind, argc - optind, &err)) {
		kvf_report(&err);
		inputs_free(&in);
		free((char *)o.filter.kinds);
		free((char *)o.filter.k8s_kinds);
		return KVF_EXIT_TROUBLE;
	}
	size_t nothing = 0;
	for (size_t i = 0; i < in.n; i++)
		nothing += in.v[i].segs.n == 0 && in.v[i].n_snaps == 0;
	if (nothing || in.n == 0) {
		kvf_warn("nothing to read: no WAL segments or .snap files found");
		inputs_free(&in);
		free((char *)o.filter.kinds);
		free((char *)o.filter.k8s_kinds);
		return KVF_EXIT_TROUBLE;
	}
	run_ctx c = { &o, in.n > 1, NULL };
	if (c.multi && o.mode != MODE_LIST && o.format == KVF_FORMAT_JSON)
		c.docs = json_array();
	int rc = KVF_EXIT_CLEAN;
	for (size_t i = 0; i < in.n; i++) {
		int r = run_member(&in.v[i], &c);
		rc = r > rc ? r : rc;
	}
	if (c.docs) {
		json_t *all = json_pack("{s:o}", "members", c.docs);
		kvf_json_write_doc(stdout, all);
		json_decref(all);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		kvf_warn("write error on standard output");
		rc = KVF_EXIT_TROUBLE;
	}
	inputs_free(&in);
	free((char *)o.filter.kinds);
	free((char *)o.filter.k8s_kinds);
	return rc;
}
