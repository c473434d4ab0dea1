/* diff-db: compare etcd replicas bucket by bucket, list divergent keys and
 * revisions, and explain why they differ. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/backend.h"
#include "analysis/diff.h"
#include "db/etcddb.h"
#include "render/render_db.h"
#include "render/render_diff.h"
#include "render/render_identity.h"
#include "render/render_html.h"
#include "analysis/record.h"
#include "analysis/timeline.h"
#include "db/schema.h"
#include "cli/tool.h"

static void usage(void)
{
	printf("usage: %s [options] NODE NODE [NODE...]\n"
	       "Compare etcd replicas: per-member table, bucket differences, divergent keys\n"
	       "traced to the WAL entries that wrote them, history, verdict and recovery.\n"
	       "NODE is an etcd data dir, a db file (bbolt or LMDB), or NAME=PATH.\n"
	       "\n"
	       "  -o, --output FORMAT  text (default) or json\n"
	       "      --wal NAME=DIR   the WAL of member NAME (found in data dirs otherwise)\n"
	       "      --keys           text: list every divergent key (default: by prefix)\n"
	       "      --kind LIST      show only divergent Kubernetes objects of these kinds (Pod,jobs,...)\n"
	       "      --namespace NS   show only divergent Kubernetes objects in namespace NS\n"
	       "                       (both: what is shown; the verdict and exit status cover every key)\n"
	       "      --report FILE    also write the incident report: one self-contained HTML page\n"
	       "      --verify         check every member against its own WAL even when they agree\n"
	       "      --color WHEN     auto (default), always, never\n"
	       "  -h, --help           this help\n"
	       "      --version        version\n"
	       "\n"
	       "Inputs of different clusters, or the same files twice, are refused (exit 2).\n"
	       "\n"
	       "Exit status: 0 the replicas agree, or differ only because some members have not\n"
	       "applied yet what others have (lag: copies taken at different moments);\n"
	       "1 divergence that catching up would not fix; 2 trouble (bad arguments, an\n"
	       "unreadable input, inputs that do not belong together, pages skipped).\n",
	       kvf_tool_name());
}

enum { OPT_WAL = 256, OPT_KEYS, OPT_COLOR, OPT_VERSION, OPT_REPORT, OPT_VERIFY, OPT_KIND, OPT_NAMESPACE };

static void progress(void *ctx, const char *stage, uint64_t done)
{
	kvf_progress *p = ctx;
	p->what = stage;
	kvf_progress_update(p, done, 0, "");
}

/* Can this member's db be opened and its bookkeeping read? The same steps
 * kvf_diff_run takes first, so a failure here is the one it would stop at. */
static bool readable(const char *path, kvf_err *err)
{
	char *db_path = NULL;
	kvf_backend *b = NULL;
	kvf_etcd_state st;
	bool ok = !kvf_etcd_db_path(path, &db_path, err) && !kvf_backend_open(&b, db_path, err) &&
	          !kvf_etcd_read_state(b, &st, err);
	if (!ok && !err->file && db_path) {
		snprintf(err->path, sizeof(err->path), "%s", db_path);
		err->file = err->path;
	}
	kvf_backend_close(b);
	free(db_path);
	return ok;
}

/* Inputs that do not belong together (analysis/identity.h): say why and
 * group them by cluster; in JSON, the same as a document on stdout. */
static void refuse(const kvf_diff *d, const kvf_err *err, char *const *labels, kvf_format format)
{
	kvf_report(err);
	kvf_buf b = KVF_BUF_INIT;
	char *paths[KVF_DIFF_MAX_NODES];
	for (size_t i = 0; i < d->n; i++)
		paths[i] = d->nodes[i].path;
	if (d->identity.n_clusters > 1) {
		kvf_text_identity_clusters(&b, &d->identity, labels, paths);
		kvf_buf_puts(&b, "  compare the members of one cluster at a time\n");
	}
	if (b.p)
		fputs(b.p, stderr);
	kvf_buf_free(&b);
	if (format == KVF_FORMAT_JSON) {
		json_t *doc = json_object();
		kvf_json_set(doc, "refused", json_string(err->msg));
		kvf_json_set(doc, "identity", kvf_json_identity(&d->identity, labels));
		kvf_json_write_doc(stdout, doc);
		json_decref(doc);
	}
}

/* --report FILE: the HTML page, from the records the run leaves. The
 * evidence files are hashed in a thread of their own while the comparison
 * reads them; the page must never land on one of them. */
typedef struct report_job {
	const char *path;
	kvf_record rec;
	pthread_t thread;
	bool started, threaded;
} report_job;

static void *hash_thread(void *arg)
{
	kvf_record_hash_files(arg);
	return NULL;
}

static bool report_begin(report_job *j, const kvf_diff *d)
{
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_record_files(&j->rec, d, &err)) {
		kvf_report(&err);
		kvf_record_free(&j->rec, d);
		return false;
	}
	struct stat out;
	if (stat(j->path, &out) == 0)
		for (size_t i = 0; i < j->rec.n_files; i++) {
			struct stat in;
			if (stat(j->rec.files[i].path, &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
				kvf_warn("%s: --report would overwrite an evidence file", j->path);
				kvf_record_free(&j->rec, d);
				return false;
			}
		}
	/* KVF_REPORT_NO_SHA256=1: no hashes (the page says so), for a large
	 * input on a busy machine, where they cost as much as the comparison */
	const char *no = getenv("KVF_REPORT_NO_SHA256");
	if (no && strcmp(no, "1") == 0)
		return true;
	j->started = true;
	j->threaded = pthread_create(&j->thread, NULL, hash_thread, &j->rec) == 0;
	return true;
}

/* Wait for the hashes (or take them now); before anything is freed. Once:
 * every path out of main joins, and the one through report_finish has
 * joined already (a second call used to hash every file again). */
static void report_join(report_job *j)
{
	if (j->started && j->threaded)
		pthread_join(j->thread, NULL);
	else if (j->started)
		kvf_record_hash_files(&j->rec);
	j->started = j->threaded = false;
}

static bool report_finish(report_job *j, const kvf_diff *d, const kvf_timeline *t)
{
	report_join(j);
	kvf_err err;
	kvf_err_clear(&err);
	if (kvf_record_collect(&j->rec, d, &err)) {
		kvf_report(&err);
		return false;
	}
	kvf_buf b = KVF_BUF_INIT;
	kvf_html_diff(&b, d, t, &j->rec);
	FILE *f = fopen(j->path, "w");
	bool ok = f && b.p && fwrite(b.p, 1, b.len, f) == b.len;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		kvf_warn("%s: cannot write the report: %s", j->path, strerror(errno));
	kvf_buf_free(&b);
	return ok;
}

int main(int argc, char **argv)
{
	kvf_tool_init("diff-db");
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "wal", required_argument, NULL, OPT_WAL },
		{ "keys", no_argument, NULL, OPT_KEYS },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "namespace", required_argument, NULL, OPT_NAMESPACE },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	kvf_format format = KVF_FORMAT_TEXT;
	kvf_render_opts ro = { .color = kvf_color_default() };
	bool all_keys = false, verify_all = false;
	const char *report_path = NULL, *kinds = NULL, *ns = NULL;
	kvf_timeline timeline = { 0 };
	report_job job = { 0 };
	char *wals[KVF_DIFF_MAX_NODES];
	int n_wals = 0, c;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!kvf_parse_format(optarg, &format))
				kvf_usage_error("unknown output format '%s' (text or json)", optarg);
			break;
		case OPT_WAL:
			if (!strchr(optarg, '=') || n_wals == KVF_DIFF_MAX_NODES)
				kvf_usage_error("--wal wants NAME=DIR");
			wals[n_wals++] = optarg;
			break;
		case OPT_KEYS: all_keys = true; break;
		case OPT_KIND:
			if (!*optarg)
				kvf_usage_error("--kind wants a comma-separated list of kinds");
			kinds = optarg;
			break;
		case OPT_NAMESPACE: ns = optarg; break;
		case OPT_REPORT: report_path = optarg; break;
		case OPT_VERIFY: verify_all = true; break;
		case OPT_COLOR:
			if (!kvf_parse_color(optarg, &ro.color))
				kvf_usage_error("--color wants auto, always or never");
			break;
		case 'h': usage(); return KVF_EXIT_CLEAN;
		case OPT_VERSION: kvf_print_version(); return KVF_EXIT_CLEAN;
		default: kvf_option_error(c, argv, "o:h", longopts);
		}
	}
	if (format == KVF_FORMAT_JSON)
		ro.color = false;
	if (argc - optind < 2)
		kvf_usage_error("compare at least two NODEs");

	kvf_diff d = { 0 };
	kvf_err err;
	kvf_err_clear(&err);
	int rc = KVF_EXIT_TROUBLE;
	bool skipped = false;
	for (int i = optind; i < argc; i++) {
		/* NAME=PATH, unless PATH itself exists with an '=' in it */
		char *arg = argv[i], *eq = strchr(arg, '=');
		const char *label = NULL, *path = arg;
		if (eq && eq != arg) {
			*eq = '\0';
			label = arg;
			path = eq + 1;
		}
		/* One unreadable replica must not hide what the others say: name
		 * it, leave it out, compare the rest, and exit 2 (trouble). */
		if (!readable(path, &err)) {
			kvf_report(&err);
			kvf_err_clear(&err);
			skipped = true;
			continue;
		}
		if (kvf_diff_add_node(&d, label, path, NULL, &err))
			goto fail;
	}
	if (d.n < 2) {
		kvf_warn("fewer than two readable members: nothing to compare");
		kvf_diff_free(&d);
		return KVF_EXIT_TROUBLE;
	}
	for (int i = 0; i < n_wals; i++) {
		char *eq = strchr(wals[i], '=');
		*eq = '\0';
		if (kvf_diff_set_wal(&d, wals[i], eq + 1, &err))
			goto fail;
	}
	job.path = report_path;
	if (report_path) {
		d.timeline = &timeline;
		if (!report_begin(&job, &d)) {
			kvf_diff_free(&d);
			return KVF_EXIT_TROUBLE;
		}
	}
	d.verify_all = verify_all;
	kvf_progress prog;
	kvf_progress_start(&prog, "comparing");
	kvf_status s = kvf_diff_run(&d, progress, &prog, &err);
	kvf_progress_end(&prog);
	char *labels[KVF_DIFF_MAX_NODES];
	for (size_t i = 0; i < d.n; i++)
		labels[i] = d.nodes[i].label;
	if (s && kvf_identity_refused(&d.identity)) {
		refuse(&d, &err, labels, format);
		report_join(&job);   /* the hash thread reads the records: stop it first */
		kvf_record_free(&job.rec, &d);
		kvf_diff_free(&d);
		kvf_timeline_free(&timeline);
		return KVF_EXIT_TROUBLE;
	}
	if (s)
		goto fail;
	kvf_diff_objects_filter(&d, kinds, ns);
	if (format == KVF_FORMAT_JSON) {
		json_t *doc = kvf_json_diff(&d);
		kvf_json_set(doc, "identity", kvf_json_identity(&d.identity, labels));
		kvf_json_write_doc(stdout, doc);
		json_decref(doc);
	} else {
		kvf_buf b = KVF_BUF_INIT;
		kvf_text_identity_notes(&b, &d.identity, labels);
		kvf_text_diff(&b, &d, all_keys, &ro);
		fwrite(b.p, 1, b.len, stdout);
		kvf_buf_free(&b);
	}
	rc = kvf_verdicts_divergent(&d.verdicts) ? KVF_EXIT_FINDINGS : KVF_EXIT_CLEAN;
	if (report_path && !report_finish(&job, &d, &timeline))
		rc = KVF_EXIT_TROUBLE;
	/* Pages the readers had to skip (damaged, cyclic, past the end) make the
	 * comparison partial: never silent, and not a clean answer either. */
	for (size_t i = 0; i < d.n; i++) {
		const kvf_db_finding *f;
		size_t nf = d.nodes[i].be ? kvf_backend_findings(d.nodes[i].be, &f) : 0;
		for (size_t j = 0; j < nf; j++) {
			kvf_buf b = KVF_BUF_INIT;
			kvf_text_db_finding(&b, &f[j]);
			kvf_warn("%s: %s", d.nodes[i].db_path, b.p);
			kvf_buf_free(&b);
			rc = KVF_EXIT_TROUBLE;
		}
	}
	if (skipped)
		rc = KVF_EXIT_TROUBLE;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		kvf_warn("write error on standard output");
		rc = KVF_EXIT_TROUBLE;
	}
	report_join(&job);
	kvf_record_free(&job.rec, &d);
	kvf_diff_free(&d);
	kvf_timeline_free(&timeline);
	return rc;
fail:
	kvf_report(&err);
	report_join(&job);
	kvf_record_free(&job.rec, &d);
	kvf_diff_free(&d);
	kvf_timeline_free(&timeline);
	return KVF_EXIT_TROUBLE;
}
