#include "render/render_html.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/verify.h"
#include "render/render_diff.h"
#include "io/sha256.h"
#include "io/text.h"
#include "render/render.h"

/* What the page lists one by one before it summarises: the file must stay
 * small (a ticket attachment) whatever the number of divergent keys. */
#define MAX_KEYS_LISTED 1500
#define MAX_KEYS_PER_GROUP 200
#define MAX_TOUCHES_SHOWN 4
#define MAX_STATEMENTS 300
/* marks of one kind on one lane drawn one by one up to this; beyond it,
 * one mark per pixel column, with the count */
#define MAX_MARKS 300

/* ---- escaping ---- */

static void esc_n(kvf_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': kvf_buf_puts(b, "&amp;"); break;
		case '<': kvf_buf_puts(b, "&lt;"); break;
		case '>': kvf_buf_puts(b, "&gt;"); break;
		case '"': kvf_buf_puts(b, "&quot;"); break;
		case '\'': kvf_buf_puts(b, "&#39;"); break;
		default:
			/* control bytes are not allowed in HTML text */
			if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t')
				kvf_buf_printf(b, "\\x%02x", (unsigned char)s[i]);
			else
				kvf_buf_putc(b, s[i]);
		}
	}
}

static void esc(kvf_buf *b, const char *s)
{
	if (s)
		esc_n(b, s, strlen(s));
}

/* Key bytes as the text output shows them (io/text.h), then escaped. */
static void esc_bytes(kvf_buf *b, const uint8_t *p, size_t n)
{
	kvf_buf t = KVF_BUF_INIT;
	kvf_text_bytes(&t, p, n);
	if (t.p)
		esc_n(b, t.p, t.len);
	kvf_buf_free(&t);
}

static void escf(kvf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void escf(kvf_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	esc(b, tmp);
}

static void base64(kvf_buf *b, const uint8_t *p, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		kvf_buf_putc(b, t[v >> 18 & 63]);
		kvf_buf_putc(b, t[v >> 12 & 63]);
		kvf_buf_putc(b, i + 1 < n ? t[v >> 6 & 63] : '=');
		kvf_buf_putc(b, i + 2 < n ? t[v & 63] : '=');
	}
}

static void csp_hash(kvf_buf *b, const char *s)
{
	uint8_t h[KVF_SHA256_LEN];
	kvf_sha256(s, strlen(s), h);
	kvf_buf_puts(b, "'sha256-");
	base64(b, h, sizeof(h));
	kvf_buf_putc(b, '\'');
}

/* ---- what the records say, gathered for drawing ---- */

enum { MK_REFUSED, MK_NOTYET, MK_MISSING, MK_TWICE, MK_KINDS };

typedef struct mark {
	uint64_t index;
	const kvf_touch *t;        /* a divergent key's entry, or NULL */
	const kvf_verify_item *vi; /* the member's own WAL check's entry, or NULL */
} mark;

typedef struct lane {
	mark *m[MK_KINDS];
	size_t n[MK_KINDS], cap[MK_KINDS];
	uint64_t first_div;        /* 0: none */
	size_t keys_present;       /* divergent keys live on this member */
} lane;

static int cmp_mark(const void *a, const void *b)
{
	const mark *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

static void add_mark(lane *l, int kind, uint64_t index, const kvf_touch *t, const kvf_verify_item *vi)
{
	if (!kvf_grow_array((void **)&l->m[kind], &l->cap[kind], l->n[kind], sizeof(mark)))
		return;
	l->m[kind][l->n[kind]++] = (mark){ index, t, vi };
}

/* A mark for each index the verification listed, and for each item it
 * details: both lists are in the order found, the items the first few, so
 * they agree where they overlap and the longer one is every mark (the
 * items, when memory ran out for the indexes). */
static void add_verify_marks(lane *l, int kind, const uint64_t *idx, size_t n_idx, const kvf_verify_item *items,
                             size_t n_items)
{
	size_t n = n_idx > n_items ? n_idx : n_items;
	for (size_t k = 0; k < n; k++)
		add_mark(l, kind, k < n_idx ? idx[k] : items[k].index, NULL, k < n_items ? &items[k] : NULL);
}

/* One mark per entry: an entry that touches several divergent keys (a
 * range delete, a txn) is one refusal, not several. */
static void dedupe(lane *l, int kind)
{
	if (l->n[kind] < 2)
		return;
	qsort(l->m[kind], l->n[kind], sizeof(mark), cmp_mark);
	size_t w = 1;
	for (size_t r = 1; r < l->n[kind]; r++)
		if (l->m[kind][r].index != l->m[kind][w - 1].index)
			l->m[kind][w++] = l->m[kind][r];
	l->n[kind] = w;
}

/* The member's first entry it did not apply although another member did:
 * where its story departs from the others'. The same rule a reader of the
 * JSON output applies to divergent_keys[].wal[].fate (tests/integration/report.py). */
static lane *gather(const kvf_diff *d)
{
	lane *L = calloc(d->n, sizeof(*L));
	if (!L)
		return NULL;
	for (size_t k = 0; k < d->n_keys; k++) {
		const kvf_divergent_key *dk = &d->keys[k];
		for (size_t i = 0; i < d->n; i++)
			L[i].keys_present += dk->v[i].present;
		for (size_t x = 0; x < dk->n_touches; x++) {
			const kvf_touch *t = &dk->touches[x];
			bool some_applied = false;
			for (size_t i = 0; i < d->n; i++)
				some_applied |= t->fate[i] == KVF_APPLIED;
			for (size_t i = 0; i < d->n; i++) {
				if (t->fate[i] == KVF_REJECTED_AUTH)
					add_mark(&L[i], MK_REFUSED, t->index, t, NULL);
				else if (t->fate[i] == KVF_NOT_YET)
					add_mark(&L[i], MK_NOTYET, t->index, t, NULL);
				else
					continue;
				if (some_applied && (!L[i].first_div || t->index < L[i].first_div))
					L[i].first_div = t->index;
			}
		}
	}
	/* each member against its own WAL (verify.h): entries its
	 * consistent_index covers that left no revision, and effects applied
	 * twice: every one (the first few with their details); only when
	 * memory ran out while they were listed, the first few */
	for (size_t i = 0; i < d->n; i++) {
		const kvf_verify *v = d->nodes[i].verify;
		if (!v)
			continue;
		add_verify_marks(&L[i], MK_MISSING, v->missing_indexes, v->n_missing_indexes, v->missing_items,
		                 v->n_missing_items);
		add_verify_marks(&L[i], MK_TWICE, v->twice_indexes, v->n_twice_indexes, v->twice_items, v->n_twice_items);
		uint64_t f = v->first_missing_index;
		if (v->first_twice_index && (!f || v->first_twice_index < f))
			f = v->first_twice_index;
		if (f && (!L[i].first_div || f < L[i].first_div))
			L[i].first_div = f;
	}
	for (size_t i = 0; i < d->n; i++)
		for (int k = 0; k < MK_KINDS; k++)
			dedupe(&L[i], k);
	return L;
}

static void free_lanes(lane *L, size_t n)
{
	for (size_t i = 0; L && i < n; i++)
		for (int k = 0; k < MK_KINDS; k++)
			free(L[i].m[k]);
	free(L);
}

/* ---- members ---- */

static const kvf_record_member *member_of(const kvf_record *r, const kvf_diff_node *nd)
{
	for (size_t i = 0; nd->has_metadata && i < r->n_members; i++)
		if (r->members[i].id == nd->member_id)
			return &r->members[i];
	for (size_t i = 0; i < r->n_members; i++)   /* no WAL metadata: by name */
		if (strcmp(r->members[i].name, nd->label) == 0)
			return &r->members[i];
	return NULL;
}

static void first_url(char *out, size_t cap, const char *list)
{
	size_t n = strcspn(list, ",");
	snprintf(out, cap, "%.*s", (int)n, list);
}

static const char *fate_sym(int f)
{
	switch (f) {
	case KVF_APPLIED: return "<span class=\"f-ok\" title=\"applied\">&#10003; applied</span>";
	case KVF_REJECTED_AUTH: return "<span class=\"f-ref\" title=\"refused: old auth revision\">&#9650; refused</span>";
	case KVF_NOT_YET: return "<span class=\"f-ny\" title=\"not yet applied\">&#9675; not yet</span>";
	}
	return "<span class=\"f-unk\" title=\"unknown\">? unknown</span>";
}

/* ---- page ---- */

static const char CSS[] =
	":root{--bg:#fff;--fg:#1a1a1a;--dim:#666;--line:#ccc;--band:#f3f3f3;--applied:#0072B2;--refused:#D55E00;"
	"--notyet:#E69F00;--missing:#CC79A7;--auth:#009E73;--conf:#56B4E9;--mark:#000;--ok:#009E73;--bad:#D55E00}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#16181c;--fg:#e8e8e8;--dim:#a0a0a0;--line:#444;--band:#23262b;"
	"--applied:#56B4E9;--refused:#FF8A3D;--notyet:#F0C050;--missing:#E3A0C8;--auth:#3CC59A;--conf:#9AD3F5;--mark:#fff}}\n"
	"html{background:var(--bg);color:var(--fg)}body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:0 auto;padding:1em}\n"
	"h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;border-bottom:2px solid var(--line);margin-top:1.6em}\n"
	".wide{overflow-x:auto}table.small{font-size:12px}table.small th{font-size:11px}"
	"table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid var(--line);padding:2px 6px;vertical-align:top}\n"
	"th{background:var(--band);text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td.d{font-weight:bold;outline:2px dashed var(--bad);outline-offset:-2px}code,pre{font-family:ui-monospace,monospace;font-size:12px}\n"
	"pre.cmd{background:var(--band);border-left:4px solid var(--applied);padding:.6em;white-space:pre-wrap;user-select:all}\n"
	".verdict{border:2px solid var(--line);padding:.4em .8em;margin:.4em 0}.verdict.div{border-color:var(--bad)}\n"
	".badge{font-weight:bold;padding:0 .4em;border:1px solid currentColor}.div .badge{color:var(--bad)}.ok .badge{color:var(--ok)}\n"
	".dim,.note{color:var(--dim)}svg{max-width:100%;height:auto;display:block}svg text{fill:var(--fg);font:11px system-ui,sans-serif}\n"
	"svg .axis{stroke:var(--dim);stroke-width:1}svg .grid{stroke:var(--line);stroke-width:.5}svg .band{fill:var(--band)}\n"
	"svg .applied{fill:var(--applied)}svg .notyet{fill:url(#hatch);stroke:var(--notyet)}svg .hatchline{stroke:var(--notyet);stroke-width:2}\n"
	"svg .refused{fill:var(--refused);stroke:var(--bg);stroke-width:.5}svg .nymark{fill:var(--bg);stroke:var(--notyet);stroke-width:1.5}\n"
	"svg .missing{stroke:var(--missing);stroke-width:2.2;fill:none}svg .twice{stroke:var(--refused);stroke-width:2}svg .firstdiv{fill:none;stroke:var(--mark);stroke-width:1.8}\n"
	"svg .ci{stroke:var(--mark);stroke-width:2}svg .snap{fill:var(--bg);stroke:var(--mark);stroke-width:1}\n"
	"svg .density{fill:var(--dim);opacity:.5}svg .ev-term{fill:var(--dim)}svg .ev-auth{fill:var(--auth)}svg .ev-conf{fill:var(--conf);stroke:var(--mark);stroke-width:.5}\n"
	"svg .ev-compaction{stroke:var(--mark);stroke-dasharray:2 2;stroke-width:1}svg .ev-snapshot{fill:none;stroke:var(--dim)}\n"
	"svg .drift{fill:none;stroke-width:2}svg .m0{stroke:var(--applied)}svg .m1{stroke:var(--refused);stroke-dasharray:6 3}\n"
	"svg .m2{stroke:var(--auth);stroke-dasharray:2 2}svg .m3{stroke:var(--missing);stroke-dasharray:8 2 2 2}svg .m4{stroke:var(--notyet);stroke-dasharray:1 3}\n"
	"svg .pt{stroke:var(--mark);fill:var(--bg)}\n"
	"details{border:1px solid var(--line);margin:.3em 0;padding:.2em .5em}summary{cursor:pointer}\n"
	".f-ok{color:var(--ok)}.f-ref{color:var(--refused);font-weight:bold}.f-ny{color:var(--notyet)}.f-unk{color:var(--dim)}\n"
	".legend span{margin-right:1.2em;white-space:nowrap}.legend svg{display:inline;vertical-align:middle}\n"
	"@page{size:A4;margin:12mm}@media print{body{max-width:none;font-size:10pt;padding:0}h2{break-after:avoid}"
	".wide{overflow:visible}table.small{font-size:7pt}svg,.verdict{break-inside:avoid}details{border:none}details>summary{list-style:none}button{display:none}"
	"details::details-content{content-visibility:visible;display:contents}}\n";

/* Sort a table by a clicked header; open every <details> before printing
 * (and the button to do it by hand). The page reads the same without it. */
static const char JS[] =
	"document.querySelectorAll('table.sortable th').forEach(function(th,c){th.addEventListener('click',function(){"
	"var tb=th.closest('table').tBodies[0],rows=Array.from(tb.rows),dir=th.dataset.dir==='a'?-1:1;th.dataset.dir=dir>0?'a':'d';"
	"rows.sort(function(x,y){var a=x.cells[c].dataset.v||x.cells[c].textContent,b=y.cells[c].dataset.v||y.cells[c].textContent;"
	"var p=parseFloat(a),q=parseFloat(b);return dir*(isNaN(p)||isNaN(q)?a.localeCompare(b):p-q)});rows.forEach(function(r){tb.appendChild(r)})})});"
	"window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(e){e.open=true})});"
	"var eb=document.getElementById('expand');if(eb){eb.hidden=false;eb.addEventListener('click',function(){"
	"document.querySelectorAll('details').forEach(function(e){e.open=true})})}";

static bool divergent(const kvf_diff *d)
{
	if (d->verdicts.n)
		return kvf_verdicts_divergent(&d->verdicts);
	return d->cause == KVF_CAUSE_AUTH_SKEW || d->cause == KVF_CAUSE_UNEXPLAINED;
}

static void head(kvf_buf *b, const kvf_diff *d)
{
	kvf_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src ");
	csp_hash(b, CSS);
	kvf_buf_puts(b, "; script-src ");
	csp_hash(b, JS);
	kvf_buf_puts(b, "; img-src data:\">\n<meta name=\"generator\" content=\"diff-db (kvforensics) " KVF_VERSION "\">\n<title>");
	escf(b, "etcd replicas: %s", d->cause_text);
	kvf_buf_puts(b, "</title>\n<style>");
	kvf_buf_puts(b, CSS);
	kvf_buf_puts(b, "</style>\n</head>\n<body>\n");
}

static void member_id(kvf_buf *b, const kvf_diff_node *nd)
{
	if (nd->has_metadata)
		kvf_buf_printf(b, "%016" PRIx64, nd->member_id);
	else
		kvf_buf_puts(b, "-");
}

/* A verdict as the list has it, or the comparison's own headline while the
 * list is empty. */
static void verdicts(kvf_buf *b, const kvf_diff *d)
{
	if (!d->verdicts.n) {
		bool div = d->differ && d->cause != KVF_CAUSE_BEHIND;
		kvf_buf_printf(b, "<div class=\"verdict %s\" data-kind=\"%s\"><span class=\"badge\">%s %s</span> ",
		               div ? "div" : "ok", kvf_cause_name(d->cause), div ? "&#9650;" : "&#10003;",
		               kvf_cause_name(d->cause));
		esc(b, d->cause_text);
		kvf_buf_puts(b, "</div>\n");
		return;
	}
	for (size_t v = 0; v < d->verdicts.n; v++) {
		const kvf_verdict *vd = &d->verdicts.v[v];
		kvf_buf_printf(b, "<div class=\"verdict %s\" data-kind=\"%s\"><span class=\"badge\">%s %s</span> ",
		               vd->divergence ? "div" : "ok", kvf_verdict_kind_name(vd->kind),
		               vd->divergence ? "&#9650;" : "&#10003;", kvf_verdict_kind_name(vd->kind));
		esc(b, vd->headline);
		if (vd->member >= 0 && (size_t)vd->member < d->n) {
			kvf_buf_puts(b, " <span class=\"dim\">(member ");
			esc(b, d->nodes[vd->member].label);
			kvf_buf_puts(b, ")</span>");
		}
		if (vd->first_divergent_index)
			kvf_buf_printf(b, " <span class=\"dim\">first divergent entry %" PRIu64 "</span>", vd->first_divergent_index);
		if (vd->versions) {
			kvf_buf_puts(b, "<br><span class=\"note\">");
			esc(b, vd->versions);
			kvf_buf_puts(b, "</span>");
		}
		kvf_buf_puts(b, "</div>\n");
	}
}

static void recovery_commands(kvf_buf *b, const kvf_diff *d, const kvf_record *r)
{
	const kvf_diff_node *ref = &d->nodes[d->reference];
	const kvf_record_member *rm = member_of(r, ref);
	char ep[256], id[40];
	if (rm && rm->client_urls[0])
		first_url(ep, sizeof(ep), rm->client_urls);
	else
		snprintf(ep, sizeof(ep), "<client URL of %.100s>", ref->label);
	if (ref->has_metadata)
		snprintf(id, sizeof(id), "%" PRIx64, ref->member_id);
	else
		snprintf(id, sizeof(id), "<member id of %.20s>", ref->label);
	kvf_buf t = KVF_BUF_INIT;
	if (!divergent(d)) {
		/* lag: wait, and watch it catch up */
		for (size_t i = 0; i < d->n; i++) {
			const kvf_diff_node *nd = &d->nodes[i];
			if (i == d->reference || nd->hist == KVF_HIST_SAME)
				continue;
			const kvf_record_member *m = member_of(r, nd);
			char e[256];
			if (m && m->client_urls[0])
				first_url(e, sizeof(e), m->client_urls);
			else
				snprintf(e, sizeof(e), "<client URL of %.100s>", nd->label);
			char mid[40];
			if (nd->has_metadata)
				snprintf(mid, sizeof(mid), "%" PRIx64, nd->member_id);
			else
				snprintf(mid, sizeof(mid), "<member id of %.20s>", nd->label);
			kvf_buf_printf(&t, "# %s (%s) lags: start it if it is stopped, then wait until its raft index matches "
			               "%s's (%s)\n"
			               "etcdctl --endpoints=%s,%s endpoint status -w table\n", nd->label, mid, ref->label, id, e, ep);
		}
	} else {
		kvf_buf_printf(&t, "# 1. make %s (%s), the most complete member, the leader\n", ref->label, id);
		kvf_buf_printf(&t, "etcdctl --endpoints=%s move-leader %s\n", ep, id);
		int step = 2;
		for (size_t i = 0; i < d->n; i++) {
			const kvf_diff_node *nd = &d->nodes[i];
			if (i == d->reference || nd->group == ref->group)
				continue;
			const kvf_record_member *m = member_of(r, nd);
			char mid[40], peer[600], cli[256];
			if (nd->has_metadata)
				snprintf(mid, sizeof(mid), "%" PRIx64, nd->member_id);
			else
				snprintf(mid, sizeof(mid), "<member id of %.20s>", nd->label);
			if (m && m->peer_urls[0])
				snprintf(peer, sizeof(peer), "%s", m->peer_urls);
			else
				snprintf(peer, sizeof(peer), "<peer URL of %.100s>", nd->label);
			if (m && m->client_urls[0])
				first_url(cli, sizeof(cli), m->client_urls);
			else
				snprintf(cli, sizeof(cli), "<client URL of %.100s>", nd->label);
			const char *name = m && m->name[0] ? m->name : nd->label;
			kvf_buf_printf(&t, "# %d. %s (%s), then check before the next member\n", step++, nd->label, mid);
			kvf_buf_printf(&t, "etcdctl --endpoints=%s member remove %s\n", ep, mid);
			kvf_buf_printf(&t, "#    stop etcd on %s; move its data directory aside (keep it: it is evidence)\n", nd->label);
			kvf_buf_printf(&t, "etcdctl --endpoints=%s member add %s --peer-urls=%s\n", ep, name, peer);
			kvf_buf_printf(&t, "#    start %s with an empty data directory and --initial-cluster-state existing\n", nd->label);
			kvf_buf_printf(&t, "etcdctl --endpoints=%s,%s endpoint hashkv\n", ep, cli);
		}
	}
	if (t.p) {
		kvf_buf_puts(b, "<pre class=\"cmd\" id=\"recovery-commands\">");
		esc_n(b, t.p, t.len);
		kvf_buf_puts(b, "</pre>\n");
	}
	kvf_buf_free(&t);
}

static void headline(kvf_buf *b, const kvf_diff *d, const kvf_record *r)
{
	const kvf_diff_node *ref = &d->nodes[d->reference];
	kvf_buf_puts(b, "<header>\n<h1>etcd replica comparison: ");
	esc(b, divergent(d) ? "the replicas diverged" : d->differ ? "the replicas differ (lag)" : "the replicas agree");
	kvf_buf_printf(b, "</h1>\n<p class=\"dim\">%zu members:", d->n);
	for (size_t i = 0; i < d->n; i++) {
		kvf_buf_puts(b, i ? ", " : " ");
		esc(b, d->nodes[i].label);
	}
	char when[64];
	struct tm tm;
	gmtime_r(&r->analysed_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	kvf_buf_printf(b, ". Analysed %s by diff-db (kvforensics) %s. Divergent keys: "
	               "<strong id=\"n-divergent\" data-value=\"%zu\">%zu</strong>.</p>\n</header>\n",
	               when, r->tool_version, d->n_keys, d->n_keys);
	kvf_buf_puts(b, "<section id=\"headline\">\n<h2>1. Verdict</h2>\n");
	verdicts(b, d);
	kvf_buf_puts(b, "<p>Most complete member: <strong id=\"most-complete\">");
	esc(b, ref->label);
	kvf_buf_puts(b, "</strong> (member id <code>");
	member_id(b, ref);
	kvf_buf_printf(b, "</code>, consistent_index %" PRIu64 ", revision %" PRId64 ").</p>\n",
	               ref->st.state.consistent_index, ref->st.revision);
	kvf_buf_puts(b, "<h3>Recovery</h3>\n");
	bool any = false;
	for (size_t v = 0; v < d->verdicts.n; v++) {
		const char *rec = d->verdicts.v[v].recovery;
		bool seen = false;
		for (size_t u = 0; u < v && !seen; u++)
			seen = strcmp(d->verdicts.v[u].recovery, rec) == 0;
		if (!rec[0] || seen)
			continue;
		kvf_buf_printf(b, "<p class=\"recovery\"><strong>%s</strong>: ", kvf_verdict_kind_name(d->verdicts.v[v].kind));
		esc(b, rec);
		kvf_buf_puts(b, "</p>\n");
		any = true;
	}
	if (!any) {
		kvf_buf_puts(b, "<p>");
		esc(b, d->recovery[0] ? d->recovery : "None needed: the replicas agree.");
		kvf_buf_puts(b, "</p>\n");
	}
	if (d->recovery_plan[0]) {
		kvf_buf_puts(b, "<p>If no member can be kept as it is: ");
		esc(b, d->recovery_plan);
		kvf_buf_puts(b, "</p>\n");
	}
	if (d->differ)
		recovery_commands(b, d, r);
	kvf_buf_puts(b, "</section>\n");
}

static void num_cell(kvf_buf *b, const char *text, bool differs)
{
	kvf_buf_printf(b, "<td class=\"n%s\" data-v=\"%s\">%s", differs ? " d" : "", text, differs ? "&#8800; " : "");
	esc(b, text);
	kvf_buf_puts(b, "</td>");
}

static void members_table(kvf_buf *b, const kvf_diff *d, const lane *L)
{
	const kvf_diff_node *ref = &d->nodes[d->reference];
	kvf_buf_puts(b, "<section id=\"members\">\n<h2>2. Members</h2>\n<p class=\"note\">The columns of the text "
	                "output. A cell marked &#8800; (dashed frame) differs from the most complete member's.</p>\n"
	                "<div class=\"wide\"><table class=\"sortable\" id=\"members-table\">\n<thead><tr><th>member</th>"
	                "<th>cons_index</th><th>term</th><th>auth_rev</th><th>auth</th><th>revision</th><th>compact</th>"
	                "<th>live</th><th>revisions</th><th>tombstones</th><th>db_size</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		const kvf_db_status *s = &nd->st, *rs = &ref->st;
		char v[64];
		kvf_buf_printf(b, "<tr data-member=\"%zu\"><th>", i);
		esc(b, nd->label);
		if (i == d->reference)
			kvf_buf_puts(b, " &#9733;");
		kvf_buf_puts(b, "</th>");
#define CELL(fmt, x, rx) do { snprintf(v, sizeof(v), fmt, x); num_cell(b, v, (x) != (rx)); } while (0)
		CELL("%" PRIu64, s->state.consistent_index, rs->state.consistent_index);
		if (s->state.has_term)
			CELL("%" PRIu64, s->state.term, rs->state.term);
		else
			num_cell(b, "-", rs->state.has_term);
		if (s->state.has_auth_revision)
			CELL("%" PRIu64, s->state.auth_revision, rs->state.auth_revision);
		else
			num_cell(b, "-", rs->state.has_auth_revision);
		kvf_buf_printf(b, "<td%s>%s</td>", s->state.auth_enabled != rs->state.auth_enabled ? " class=\"d\"" : "",
		               s->state.auth_enabled ? "on" : "off");
		CELL("%" PRId64, s->revision, rs->revision);
		CELL("%" PRId64, s->compact_revision, rs->compact_revision);
		CELL("%" PRIu64, s->live_keys, rs->live_keys);
		CELL("%" PRIu64, s->revisions, rs->revisions);
		CELL("%" PRIu64, s->tombstones, rs->tombstones);
#undef CELL
		kvf_buf t = KVF_BUF_INIT;
		kvf_text_size(&t, s->info ? s->info->file_size : 0);
		kvf_buf_printf(b, "<td class=\"n\" data-v=\"%" PRIu64 "\">%s</td>", s->info ? s->info->file_size : 0,
		               t.p ? t.p : "");
		kvf_buf_free(&t);
		kvf_buf_puts(b, "</tr>\n");
	}
	kvf_buf_puts(b, "</tbody>\n</table></div>\n");
	/* what the analysis found for each member */
	kvf_buf_puts(b, "<div class=\"wide\"><table class=\"sortable\" id=\"findings-table\">\n<thead><tr><th>member</th>"
	                "<th>member id</th><th>history</th><th>refused writes</th><th>unapplied writes</th>"
	                "<th>divergent keys present</th><th>first divergent entry</th><th>own WAL check</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		kvf_buf_printf(b, "<tr data-finding=\"%zu\"><th>", i);
		esc(b, nd->label);
		kvf_buf_puts(b, "</th><td><code>");
		member_id(b, nd);
		kvf_buf_puts(b, "</code></td>");
		kvf_buf_printf(b, "<td%s>%s</td>", nd->hist != KVF_HIST_SAME ? " class=\"d\"" : "",
		               i == d->reference ? "reference" : kvf_history_name(nd->hist));
		kvf_buf_printf(b, "<td class=\"n\" data-name=\"rejected_writes\">%" PRIu64 "</td>", nd->rejected_writes);
		kvf_buf_printf(b, "<td class=\"n\" data-name=\"unapplied_writes\">%" PRIu64 "</td>", nd->unapplied_writes);
		kvf_buf_printf(b, "<td class=\"n\" data-name=\"keys_present\">%zu</td>", L ? L[i].keys_present : 0);
		if (L && L[i].first_div)
			kvf_buf_printf(b, "<td class=\"n\" data-name=\"first_divergent_index\" data-v=\"%" PRIu64 "\">%" PRIu64 "</td>",
			               L[i].first_div, L[i].first_div);
		else
			kvf_buf_puts(b, "<td class=\"n\" data-name=\"first_divergent_index\" data-v=\"0\">-</td>");
		const kvf_verify *v = nd->verify;
		if (v && v->checked_to)
			kvf_buf_printf(b, "<td>entries %" PRIu64 "..%" PRIu64 ": %" PRIu64 " writes applied, %" PRIu64 " refused, "
			               "%s%" PRIu64 " missing%s, %s%" PRIu64 " applied twice%s</td>", v->checked_from, v->checked_to,
			               v->applied, v->refused, v->missing ? "<strong>&#10007; " : "", v->missing,
			               v->missing ? "</strong>" : "", v->applied_twice ? "<strong>&#10007; " : "",
			               v->applied_twice, v->applied_twice ? "</strong>" : "");
		else if (v && v->why_unaligned[0]) {
			kvf_buf_puts(b, "<td class=\"dim\">");
			esc(b, v->why_unaligned);
			kvf_buf_puts(b, "</td>");
		} else
			kvf_buf_puts(b, "<td class=\"dim\">not run</td>");
		kvf_buf_puts(b, "</tr>\n");
	}
	kvf_buf_puts(b, "</tbody>\n</table></div>\n");
	if (d->n_ranking) {
		kvf_buf_puts(b, "<h3>Members ranked as the source of a recovery</h3>\n<table id=\"ranking\">\n<thead><tr>"
		                "<th>rank</th><th>member</th><th>complete</th><th>why</th></tr></thead>\n<tbody>\n");
		for (size_t k = 0; k < d->n_ranking; k++) {
			const struct kvf_rank *rk = &d->ranking[k];
			kvf_buf_printf(b, "<tr><td class=\"n\">%zu</td><td>", k + 1);
			if (rk->member < d->n)
				esc(b, d->nodes[rk->member].label);
			kvf_buf_printf(b, "</td><td>%s</td><td>", rk->complete ? "<span class=\"f-ok\">&#10003; yes</span>"
			               : "<span class=\"f-ref\">&#10007; no</span>");
			esc(b, rk->reasons);
			kvf_buf_puts(b, "</td></tr>\n");
		}
		kvf_buf_puts(b, "</tbody>\n</table>\n");
	}
	if (d->n_items) {
		kvf_buf_puts(b, "<h3>Other buckets that differ</h3>\n<table>\n<thead><tr><th>bucket</th><th>key</th>");
		for (size_t j = 0; j < d->n; j++) {
			kvf_buf_puts(b, "<th>");
			esc(b, d->nodes[j].label);
			kvf_buf_puts(b, "</th>");
		}
		kvf_buf_puts(b, "</tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < d->n_items && i < 200; i++) {
			const kvf_bucket_item *it = &d->items[i];
			kvf_buf_puts(b, "<tr><td>");
			esc(b, it->bucket);
			kvf_buf_puts(b, "</td><td><code>");
			esc(b, it->key);
			kvf_buf_puts(b, "</code></td>");
			for (size_t j = 0; j < d->n; j++) {
				kvf_buf_puts(b, "<td><code>");
				esc(b, it->values[j] ? it->values[j] : "(absent)");
				kvf_buf_puts(b, "</code></td>");
			}
			kvf_buf_puts(b, "</tr>\n");
		}
		kvf_buf_puts(b, "</tbody>\n</table>\n");
	}
	kvf_buf_puts(b, "</section>\n");
}

/* ---- the timeline ---- */

#define W 1000.0
#define LM 120.0          /* left margin: the lane names */
#define RM 20.0

typedef struct scale {
	uint64_t lo, hi;
} scale;

static double xof(const scale *s, uint64_t index)
{
	if (index <= s->lo)
		return LM;
	if (index >= s->hi)
		return W - RM;
	return LM + (double)(index - s->lo) / (double)(s->hi - s->lo) * (W - LM - RM);
}

static scale index_scale(const kvf_diff *d, const kvf_timeline *t)
{
	scale s = { UINT64_MAX, 0 };
	if (t && t->have) {
		s.lo = t->first_index;
		s.hi = t->last_index;
	}
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		uint64_t ci = nd->st.state.consistent_index;
		if (nd->have_wal && nd->wal_first_index && nd->wal_first_index < s.lo)
			s.lo = nd->wal_first_index;
		if (nd->have_wal && nd->wal_last_index > s.hi)
			s.hi = nd->wal_last_index;
		if (ci && ci < s.lo)
			s.lo = ci;
		if (ci > s.hi)
			s.hi = ci;
	}
	if (s.lo == UINT64_MAX)
		s.lo = 0;
	if (s.lo > 0)
		s.lo--;
	if (s.hi <= s.lo)
		s.hi = s.lo + 1;
	return s;
}

static void axis(kvf_buf *b, const scale *s, double y0, double y1)
{
	/* about 8 ticks at round numbers */
	uint64_t span = s->hi - s->lo, step = 1;
	for (uint64_t m = 1;; m *= 10) {
		if (span / m <= 8) { step = m; break; }
		if (span / (2 * m) <= 8) { step = 2 * m; break; }
		if (span / (5 * m) <= 8) { step = 5 * m; break; }
		if (m > UINT64_MAX / 100) { step = m; break; }
	}
	kvf_buf_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", LM, y1, W - RM, y1);
	for (uint64_t v = (s->lo / step + 1) * step; v <= s->hi; v += step) {
		double x = xof(s, v);
		kvf_buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
		               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%" PRIu64 "</text>\n",
		               x, y0, x, y1 + 4, x, y1 + 15, v);
	}
}

/* Shapes, so that no meaning rests on colour alone. */
static void triangle(kvf_buf *b, double x, double y, double r)
{
	kvf_buf_printf(b, "M%.1f %.1fL%.1f %.1fL%.1f %.1fZ", x, y - r, x + r, y + r * .8, x - r, y + r * .8);
}

static void draw_marks(kvf_buf *b, const kvf_diff *d, size_t member, const lane *l, int kind, const scale *s,
                       double y)
{
	static const char *const what[] = { "refused", "not yet applied",
	                                    "missing: covered by consistent_index, no revision in the db",
	                                    "applied twice: its effect repeats in the db" };
	static const char *const name[] = { "refused", "notyet", "missing", "twice" };
	size_t n = l->n[kind];
	const mark *m = l->m[kind];
	for (size_t a = 0; a < n;) {
		/* one mark per entry, or per pixel column once there are many */
		size_t e = a + 1;
		if (n > MAX_MARKS)
			while (e < n && (int)xof(s, m[e].index) == (int)xof(s, m[a].index))
				e++;
		double x = xof(s, m[a].index);
		kvf_buf_printf(b, "<g class=\"mark mk-%s\" data-member=\"%zu\" data-index=\"%" PRIu64 "\" data-count=\"%zu\">",
		               name[kind], member, m[a].index, e - a);
		kvf_buf_puts(b, "<title>");
		if (e - a > 1) {
			escf(b, "%zu entries %s on %s, index %" PRIu64 "..%" PRIu64, e - a, what[kind], d->nodes[member].label,
			     m[a].index, m[e - 1].index);
		} else if (m[a].t) {
			const kvf_touch *t = m[a].t;
			escf(b, "entry %" PRIu64 " (term %" PRIu64 ", %s, user %s, header auth_revision %" PRIu64 "): %s on %s",
			     t->index, t->term, t->kind, t->username[0] ? t->username : "-", t->auth_revision, what[kind],
			     d->nodes[member].label);
			if (kind == MK_REFUSED)
				escf(b, ": its authRevision was at least %" PRIu64 " (etcd refuses a header auth_revision below "
				     "the member's: ErrAuthOldRevision)", t->auth_lo[member]);
			else if (kind == MK_NOTYET)
				escf(b, ": past its consistent_index %" PRIu64, d->nodes[member].st.state.consistent_index);
		} else {
			const kvf_verify_item *vi = m[a].vi;
			if (vi)
				escf(b, "entry %" PRIu64 " (term %" PRIu64 ", %s %s): %s on %s", vi->index, vi->term,
				     vi->kind ? vi->kind : "?", vi->key, what[kind], d->nodes[member].label);
			else
				escf(b, "entry %" PRIu64 ": %s", m[a].index, what[kind]);
		}
		kvf_buf_puts(b, "</title>");
		if (kind == MK_REFUSED) {
			kvf_buf_printf(b, "<path class=\"refused\" d=\"");
			triangle(b, x, y, 5);
			kvf_buf_puts(b, "\"/>");
		} else if (kind == MK_NOTYET) {
			kvf_buf_printf(b, "<circle class=\"nymark\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>", x, y);
		} else if (kind == MK_MISSING) {
			kvf_buf_printf(b, "<path class=\"missing\" d=\"M%.1f %.1fl8 8m0 -8l-8 8\"/>", x - 4, y - 4);
		} else {
			kvf_buf_printf(b, "<path class=\"twice\" d=\"M%.1f %.1fv12m4 -12v12\"/>", x - 2, y - 6);
		}
		kvf_buf_puts(b, "</g>\n");
		a = e;
	}
}

static void legend_item(kvf_buf *b, const char *svg, const char *text)
{
	kvf_buf_printf(b, "<span><svg width=\"16\" height=\"14\" viewBox=\"0 0 16 14\" aria-hidden=\"true\">%s</svg> %s</span>",
	               svg, text);
}

static void event_mark(kvf_buf *b, kvf_tl_event_kind k, double x, double y, const char *title, uint64_t index,
                       uint64_t count)
{
	kvf_buf_printf(b, "<g class=\"event ev-k-%s\" data-index=\"%" PRIu64 "\" data-count=\"%" PRIu64 "\"><title>",
	               kvf_tl_event_name(k), index, count);
	esc(b, title);
	kvf_buf_puts(b, "</title>");
	switch (k) {
	case KVF_TL_TERM:
		kvf_buf_printf(b, "<path class=\"ev-term\" d=\"M%.1f %.1fl4 -7h-8z\"/>", x, y + 4);
		break;
	case KVF_TL_AUTH:
		kvf_buf_printf(b, "<circle class=\"ev-auth\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>", x, y);
		break;
	case KVF_TL_CONF:
		kvf_buf_printf(b, "<rect class=\"ev-conf\" x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\"/>", x - 4, y - 4);
		break;
	case KVF_TL_COMPACT:
		kvf_buf_printf(b, "<line class=\"ev-compaction\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, y - 6, x, y + 6);
		break;
	default:
		kvf_buf_printf(b, "<rect class=\"ev-snapshot\" x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"10\"/>", x - 3, y - 5);
	}
	kvf_buf_puts(b, "</g>\n");
}

static void timeline(kvf_buf *b, const kvf_diff *d, const kvf_timeline *t, const lane *L)
{
	const scale s = index_scale(d, t);
	const double top = 10, log_h = 80, lane_h = 40;
	double h = top + log_h + lane_h * (double)d->n + 30;
	kvf_buf_puts(b, "<section id=\"timeline\">\n<h2>3. Timeline of the raft log</h2>\n");
	if (t && t->have)
	{
		kvf_buf_printf(b, "<p class=\"note\">x is the raft index: entries %" PRIu64 "..%" PRIu64 " of the WAL <code>",
		               t->first_index, t->last_index);
		esc(b, t->wal_dir);
		kvf_buf_printf(b, "</code> (the longest), %" PRIu64 " entries in %zu bins of %" PRIu64 " indexes. One lane per "
		               "member. Hover a mark for its entry.</p>\n", t->entries, t->n_bins, t->width);
	}
	else
		kvf_buf_puts(b, "<p class=\"note\">No WAL was read: the lanes show each member's consistent_index only.</p>\n");
	kvf_buf_printf(b, "<svg id=\"timeline-svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
	               "aria-label=\"raft log timeline\"><title>raft log timeline, one lane per member</title>\n"
	               "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
	               "patternTransform=\"rotate(45)\"><line class=\"hatchline\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\"/></pattern></defs>\n",
	               W, h, W, h);
	/* the log itself: entries per bin, and the rare events above them */
	kvf_buf_printf(b, "<text x=\"4\" y=\"%.1f\">terms</text><text x=\"4\" y=\"%.1f\">auth</text>"
	               "<text x=\"4\" y=\"%.1f\">conf</text><text x=\"4\" y=\"%.1f\">compact, snap</text>"
	               "<text x=\"4\" y=\"%.1f\">entries per bin</text>\n",
	               top + 10, top + 22, top + 34, top + 46, top + 66);
	if (t && t->have && t->n_bins) {
		uint32_t max = 1;
		for (size_t i = 0; i < t->n_bins; i++)
			max = t->bins[i].entries > max ? t->bins[i].entries : max;
		kvf_buf_puts(b, "<path class=\"density\" d=\"");
		double base = top + log_h - 8;
		for (size_t i = 0; i < t->n_bins; i++) {
			if (!t->bins[i].entries)
				continue;
			uint64_t from = t->base + i * t->width;
			double x0 = xof(&s, from), x1 = xof(&s, from + t->width);
			if (x1 - x0 < .5)
				x1 = x0 + .5;
			double hh = 24.0 * t->bins[i].entries / max;
			kvf_buf_printf(b, "M%.1f %.1fh%.1fv%.1fh%.1fz", x0, base, x1 - x0, -hh, x0 - x1);
		}
		kvf_buf_puts(b, "\"/>\n");
		/* events: one by one when few, per bin (with the count) when many */
		/* a row per kind, so that marks of different kinds never cover each other */
		const double ey[KVF_TL_KINDS] = { top + 6, top + 18, top + 30, top + 42, top + 42 };
		for (int k = 0; k < KVF_TL_KINDS; k++) {
			if (!t->events_total[k])
				continue;
			bool each = t->events_total[k] <= MAX_MARKS && !t->events_truncated;
			if (each) {
				for (size_t e = 0; e < t->n_events; e++) {
					const kvf_tl_event *ev = &t->events[e];
					if ((int)ev->kind != k)
						continue;
					char title[200];
					if (k == KVF_TL_TERM)
						snprintf(title, sizeof(title), "term %" PRIu64 " starts at entry %" PRIu64 " (an election: often a restart)",
						         ev->term, ev->index);
					else
						snprintf(title, sizeof(title), "%s: entry %" PRIu64 " (term %" PRIu64 ")", ev->what, ev->index, ev->term);
					event_mark(b, (kvf_tl_event_kind)k, xof(&s, ev->index), ey[k], title, ev->index, 1);
				}
			} else {
				for (size_t i = 0; i < t->n_bins; i++) {
					if (!t->bins[i].events[k])
						continue;
					uint64_t from = t->base + i * t->width;
					char title[200];
					snprintf(title, sizeof(title), "%u %s events in entries %" PRIu64 "..%" PRIu64,
					         t->bins[i].events[k], kvf_tl_event_name((kvf_tl_event_kind)k), from, from + t->width - 1);
					event_mark(b, (kvf_tl_event_kind)k, xof(&s, from), ey[k], title, from, t->bins[i].events[k]);
				}
			}
		}
	}
	/* lanes */
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		double y = top + log_h + lane_h * (double)i, mid = y + lane_h / 2;
		uint64_t ci = nd->st.state.consistent_index;
		uint64_t from = nd->have_wal && nd->wal_first_index ? nd->wal_first_index : s.lo;
		kvf_buf_printf(b, "<g class=\"lane\" data-member=\"%zu\" data-name=\"", i);
		esc(b, nd->label);
		kvf_buf_printf(b, "\" data-consistent-index=\"%" PRIu64 "\">\n<rect class=\"band\" x=\"%.1f\" y=\"%.1f\" "
		               "width=\"%.1f\" height=\"%.1f\"/>\n<text x=\"4\" y=\"%.1f\">", ci, LM, y + 4, W - LM - RM,
		               lane_h - 8, mid + 4);
		esc(b, nd->label);
		if (i == d->reference)
			kvf_buf_puts(b, " &#9733;");
		kvf_buf_puts(b, "</text>\n");
		double x0 = xof(&s, from), xc = xof(&s, ci);
		if (xc > x0)
			kvf_buf_printf(b, "<rect class=\"applied\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"8\"><title>entries "
			               "up to consistent_index %" PRIu64 ": applied</title></rect>\n", x0, mid - 4, xc - x0, ci);
		uint64_t end = nd->have_wal && nd->wal_last_index > ci ? nd->wal_last_index : s.hi;
		if (end > ci && xof(&s, end) > xc)
			kvf_buf_printf(b, "<rect class=\"notyet\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"8\"><title>entries "
			               "%" PRIu64 "..%" PRIu64 ": past its consistent_index, not (yet) applied</title></rect>\n",
			               xc, mid - 4, xof(&s, end) - xc, ci + 1, end);
		kvf_buf_printf(b, "<line class=\"ci\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"><title>consistent_index %"
		               PRIu64 "</title></line>\n", xc, y + 2, xc, y + lane_h - 2, ci);
		if (nd->wal_snap_index)
			kvf_buf_printf(b, "<rect class=\"snap\" x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"6\"><title>last snapshot "
			               "in its WAL: index %" PRIu64 "</title></rect>\n", xof(&s, nd->wal_snap_index) - 3, y + 4,
			               nd->wal_snap_index);
		if (L) {
			draw_marks(b, d, i, &L[i], MK_NOTYET, &s, mid);
			draw_marks(b, d, i, &L[i], MK_MISSING, &s, mid);
			draw_marks(b, d, i, &L[i], MK_TWICE, &s, mid);
			draw_marks(b, d, i, &L[i], MK_REFUSED, &s, mid);
			if (L[i].first_div) {
				double x = xof(&s, L[i].first_div);
				kvf_buf_printf(b, "<g class=\"first-divergent\" data-member=\"%zu\" data-index=\"%" PRIu64 "\"><title>"
				               "first entry %s did not apply while another member did: %" PRIu64 "</title>"
				               "<path class=\"firstdiv\" d=\"M%.1f %.1fl7 7l-7 7l-7 -7z\"/>"
				               "<text x=\"%.1f\" y=\"%.1f\"%s>first %" PRIu64 "</text></g>\n", i, L[i].first_div,
				               nd->label, L[i].first_div, x, mid - 7, x + (x > W - 150 ? -9 : 9), y + 12,
				               x > W - 150 ? " text-anchor=\"end\"" : "", L[i].first_div);
			}
		}
		kvf_buf_puts(b, "</g>\n");
	}
	axis(b, &s, top, top + log_h + lane_h * (double)d->n);
	kvf_buf_puts(b, "</svg>\n<p class=\"legend\">");
	legend_item(b, "<rect class=\"applied\" x=\"1\" y=\"3\" width=\"14\" height=\"8\"/>", "applied (up to consistent_index)");
	legend_item(b, "<rect class=\"notyet\" x=\"1\" y=\"3\" width=\"14\" height=\"8\"/>", "not yet applied");
	legend_item(b, "<path class=\"refused\" d=\"M8 2L13 12L3 12Z\"/>", "refused (old auth revision)");
	legend_item(b, "<circle class=\"nymark\" cx=\"8\" cy=\"7\" r=\"3.5\"/>", "write of a divergent key not yet applied");
	legend_item(b, "<path class=\"missing\" d=\"M4 3l8 8m0 -8l-8 8\"/>", "missing though covered by consistent_index");
	legend_item(b, "<path class=\"twice\" d=\"M6 1v12m4 -12v12\"/>", "applied twice");
	legend_item(b, "<path class=\"firstdiv\" d=\"M8 1l6 6l-6 6l-6 -6z\"/>", "first divergent entry");
	legend_item(b, "<line class=\"ci\" x1=\"8\" y1=\"0\" x2=\"8\" y2=\"14\"/>", "consistent_index");
	legend_item(b, "<rect class=\"snap\" x=\"5\" y=\"4\" width=\"6\" height=\"6\"/>", "last snapshot");
	legend_item(b, "<path class=\"ev-term\" d=\"M8 11l4 -7h-8z\"/>", "new term");
	legend_item(b, "<circle class=\"ev-auth\" cx=\"8\" cy=\"7\" r=\"4\"/>", "auth change");
	legend_item(b, "<rect class=\"ev-conf\" x=\"4\" y=\"3\" width=\"8\" height=\"8\"/>", "conf change");
	legend_item(b, "<line class=\"ev-compaction\" x1=\"8\" y1=\"1\" x2=\"8\" y2=\"13\"/>", "compaction");
	kvf_buf_puts(b, "</p>\n");
	if (t && t->have) {
		kvf_buf_puts(b, "<p class=\"note\">In the log:");
		for (int k = 0; k < KVF_TL_KINDS; k++)
			kvf_buf_printf(b, " %s <span data-event=\"%s\">%" PRIu64 "</span>;", kvf_tl_event_name((kvf_tl_event_kind)k),
			               kvf_tl_event_name((kvf_tl_event_kind)k), t->events_total[k]);
		kvf_buf_printf(b, " writes %" PRIu64 " of %" PRIu64 " entries.</p>\n", t->writes, t->entries);
	}
	kvf_buf_puts(b, "</section>\n");
}

/* ---- revision drift ---- */

/* Member i's writes it refused (the timeline's refused marks) up to the end
 * of each bin, counted: along the log, a member that refuses writes the
 * others apply falls behind their revision by one per write. */
static int64_t *refused_by_bin(const lane *l, const kvf_timeline *t)
{
	int64_t *c = calloc(t->n_bins, sizeof(*c));
	if (!c)
		return NULL;
	for (size_t m = 0; l && m < l->n[MK_REFUSED]; m++)
		c[kvf_timeline_bin_of(t, l->m[MK_REFUSED][m].index)]++;
	for (size_t i = 1; i < t->n_bins; i++)
		c[i] += c[i - 1];
	return c;
}

static void drift(kvf_buf *b, const kvf_diff *d, const kvf_timeline *t, const lane *L)
{
	const scale s = index_scale(d, t);
	const kvf_diff_node *ref = &d->nodes[d->reference];
	const double top = 10, ph = 220, h = top + ph + 40;
	int64_t rmin = INT64_MAX, rmax = 0;
	/* the reference's revision along the log: its own revision at its
	 * consistent_index, less the writes the log holds after each bin */
	size_t nb = t && t->have ? t->n_bins : 0;
	int64_t *rref = nb ? calloc(nb, sizeof(*rref)) : NULL;
	if (rref) {
		size_t cb = kvf_timeline_bin_of(t, ref->st.state.consistent_index);
		int64_t after = 0;
		for (size_t i = nb; i-- > 0;) {
			rref[i] = i >= cb ? ref->st.revision : ref->st.revision - after;
			if (i <= cb)
				after += t->bins[i].writes;
		}
		for (size_t i = 0; i < nb; i++)
			if (rref[i] < 1)
				rref[i] = 1;
	}
	for (size_t i = 0; i < d->n; i++) {
		int64_t r = d->nodes[i].st.revision;
		rmax = r > rmax ? r : rmax;
		rmin = r < rmin ? r : rmin;
	}
	if (rref)
		for (size_t i = 0; i < nb; i++)
			rmin = rref[i] < rmin ? rref[i] : rmin;
	if (rmin >= rmax)
		rmin = rmax > 10 ? rmax - 10 : 0;
	kvf_buf_puts(b, "<section id=\"drift\">\n<h2>4. Revision drift</h2>\n<p class=\"note\">Each member's MVCC revision "
	                "against the raft index. The end of each line is the member's own (consistent_index, revision); "
	                "along the log it is the most complete member's revision estimated from the log's writes, less "
	                "the writes the member refused (the timeline's marks). "
	                "Lines that part and run parallel: a constant offset (writes skipped, or applied twice).</p>\n");
	kvf_buf_printf(b, "<svg id=\"drift-svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
	               "aria-label=\"revision drift\"><title>revision against raft index per member</title>\n",
	               W, h, W, h);
#define YOF(r) (top + ph - (double)((r) - rmin) / (double)(rmax - rmin) * (ph - 10))
	kvf_buf_printf(b, "<text x=\"4\" y=\"%.1f\">rev %" PRId64 "</text><text x=\"4\" y=\"%.1f\">rev %" PRId64 "</text>\n",
	               YOF(rmax) + 4, rmax, YOF(rmin), rmin);
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		uint64_t ci = nd->st.state.consistent_index;
		kvf_buf_printf(b, "<g class=\"drift-member\" data-member=\"%zu\"><title>", i);
		escf(b, "%s: revision %" PRId64 " at consistent_index %" PRIu64, nd->label, nd->st.revision, ci);
		kvf_buf_printf(b, "</title><polyline class=\"drift m%zu\" points=\"", i % 5);
		int64_t *mine = rref ? refused_by_bin(L ? &L[i] : NULL, t) : NULL;
		int64_t *refs = rref ? refused_by_bin(L ? &L[d->reference] : NULL, t) : NULL;
		if (mine && refs) {
			size_t cb = kvf_timeline_bin_of(t, ci);
			for (size_t k = 0; k < nb && k < cb; k++) {
				if (!t->bins[k].entries)
					continue;
				int64_t r = rref[k] - mine[k] + refs[k];
				if (r > nd->st.revision)
					r = nd->st.revision;
				kvf_buf_printf(b, "%.1f,%.1f ", xof(&s, t->base + (k + 1) * t->width), YOF(r));
			}
		}
		free(mine);
		free(refs);
		kvf_buf_printf(b, "%.1f,%.1f\"/>", xof(&s, ci), YOF(nd->st.revision));
		/* the end point: a shape per member */
		double x = xof(&s, ci), y = YOF(nd->st.revision);
		switch (i % 4) {
		case 0: kvf_buf_printf(b, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/>", x, y); break;
		case 1: kvf_buf_printf(b, "<rect class=\"pt\" x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\"/>", x - 4, y - 4); break;
		case 2: kvf_buf_printf(b, "<path class=\"pt\" d=\"M%.1f %.1fl5 8h-10z\"/>", x, y - 5); break;
		default: kvf_buf_printf(b, "<path class=\"pt\" d=\"M%.1f %.1fl5 5l-5 5l-5 -5z\"/>", x, y - 5);
		}
		kvf_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x - 8, y - 6 - 12.0 * (double)i);
		esc(b, nd->label);
		kvf_buf_printf(b, " %" PRId64 "</text></g>\n", nd->st.revision);
	}
	axis(b, &s, top, top + ph);
	kvf_buf_puts(b, "</svg>\n<ul class=\"offsets\">\n");
	bool any = false;
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		if (i == d->reference || nd->hist == KVF_HIST_SAME)
			continue;
		any = true;
		kvf_buf_printf(b, "<li data-member=\"%zu\" data-first-divergent-revision=\"%" PRId64 "\">line style m%zu: ",
		               i, nd->first_divergent_rev, i % 5);
		esc(b, nd->label);
		kvf_buf_printf(b, " vs ");
		esc(b, ref->label);
		kvf_buf_printf(b, ": %s from revision %" PRId64, kvf_history_name(nd->hist), nd->first_divergent_rev);
		for (size_t k = 0; k < nd->n_offsets; k++)
			kvf_buf_printf(b, "%s <strong class=\"offset\" data-offset=\"%" PRId64 "\">%+" PRId64 "</strong> (%s revisions "
			               "%" PRId64 "..%" PRId64 ", %" PRIu64 " writes)", k ? "," : "; offset", nd->offsets[k].offset,
			               nd->offsets[k].offset, ref->label, nd->offsets[k].from, nd->offsets[k].to, nd->offsets[k].writes);
		kvf_buf_puts(b, "</li>\n");
	}
	if (!any)
		kvf_buf_puts(b, "<li>every member has the same history</li>\n");
	kvf_buf_puts(b, "</ul>\n</section>\n");
#undef YOF
	free(rref);
}

/* ---- divergent keys ---- */

typedef struct kgroup {
	char label[300];
	bool k8s;
	size_t *keys;
	size_t n, cap;
} kgroup;

static size_t prefix_len(kvf_span k)
{
	size_t n = k.len;
	while (n > 0 && k.p[n - 1] != '/')
		n--;
	return n ? n : k.len;
}

static void group_label(char *out, size_t cap, const kvf_diff *d, const kvf_record *r, size_t k, bool *k8s)
{
	const kvf_record_key *rk = r->keys ? &r->keys[k] : NULL;
	if (rk && rk->k8s_kind[0]) {
		*k8s = true;
		snprintf(out, cap, "%s in namespace %s", rk->k8s_kind, rk->k8s_namespace[0] ? rk->k8s_namespace : "(cluster-scoped)");
		return;
	}
	*k8s = false;
	kvf_buf t = KVF_BUF_INIT;
	kvf_text_bytes(&t, d->keys[k].key.p, prefix_len(d->keys[k].key));
	snprintf(out, cap, "%s*", t.p ? t.p : "");
	kvf_buf_free(&t);
}

static void key_row(kvf_buf *b, const kvf_diff *d, const kvf_record *r, size_t k)
{
	const kvf_divergent_key *dk = &d->keys[k];
	kvf_buf_puts(b, "<tr><td><code>");
	esc_bytes(b, dk->key.p, dk->key.len);
	kvf_buf_puts(b, "</code></td>");
	for (size_t i = 0; i < d->n; i++) {
		const kvf_node_value *v = &dk->v[i];
		kvf_buf_printf(b, "<td data-member=\"%zu\" data-present=\"%d\">", i, v->present);
		if (v->present)
			kvf_buf_printf(b, "<span class=\"f-ok\">&#10003;</span> rev %" PRId64 " v%" PRId64, v->mod_revision, v->version);
		else if (v->seen)
			kvf_buf_printf(b, "<span class=\"f-ref\">&#10007;</span> deleted at %" PRId64, v->mod_revision);
		else
			kvf_buf_puts(b, "<span class=\"f-ref\">&#10007;</span> never");
		if (r->keys && r->keys[k].offset[i] != UINT64_MAX)
			kvf_buf_printf(b, "<br><span class=\"dim\">@%" PRIu64 "</span>", r->keys[k].offset[i]);
		kvf_buf_puts(b, "</td>");
	}
	kvf_buf_puts(b, "<td>");
	size_t from = dk->n_touches > MAX_TOUCHES_SHOWN ? dk->n_touches - MAX_TOUCHES_SHOWN : 0;
	for (size_t x = from; x < dk->n_touches; x++) {
		const kvf_touch *t = &dk->touches[x];
		kvf_buf_printf(b, "<div class=\"touch\" data-index=\"%" PRIu64 "\">WAL %" PRIu64 " term %" PRIu64 " %s user ",
		               t->index, t->index, t->term, t->kind);
		esc(b, t->username[0] ? t->username : "-");
		kvf_buf_printf(b, " auth_revision %" PRIu64 ":", t->auth_revision);
		for (size_t i = 0; i < d->n; i++) {
			kvf_buf_printf(b, " <span data-member=\"%zu\" data-fate=\"%s\">", i, kvf_fate_name(t->fate[i]));
			esc(b, d->nodes[i].label);
			kvf_buf_printf(b, " %s</span>", fate_sym(t->fate[i]));
		}
		kvf_buf_puts(b, "</div>");
	}
	if (dk->total_touches > dk->n_touches - from)
		kvf_buf_printf(b, "<div class=\"dim\">%" PRIu64 " older entries: diff-db -o json</div>", dk->total_touches - (dk->n_touches - from));
	kvf_buf_puts(b, "</td><td>");
	esc(b, dk->reason);
	kvf_buf_puts(b, "</td></tr>\n");
}

static void keys_section(kvf_buf *b, const kvf_diff *d, const kvf_record *r, const lane *L)
{
	kvf_buf_printf(b, "<section id=\"keys\">\n<h2>5. Divergent keys</h2>\n<p><span data-name=\"divergent-keys\">%zu</span> "
	               "keys differ in their latest state.", d->n_keys);
	if (L) {
		kvf_buf_puts(b, " Present on:");
		for (size_t i = 0; i < d->n; i++) {
			kvf_buf_puts(b, i ? ", " : " ");
			esc(b, d->nodes[i].label);
			kvf_buf_printf(b, " <span class=\"keys-present\" data-member=\"%zu\">%zu</span>", i, L[i].keys_present);
		}
		kvf_buf_puts(b, ".");
	}
	kvf_buf_puts(b, " Grouped by Kubernetes kind and namespace where the value is a Kubernetes object, by key prefix "
	                "otherwise.</p>\n");
	if (!d->n_keys) {
		kvf_buf_puts(b, "</section>\n");
		return;
	}
	kvf_buf_puts(b, "<p><button type=\"button\" id=\"expand\" hidden>expand all</button></p>\n");
	kgroup *g = NULL;
	size_t ng = 0, cg = 0;
	for (size_t k = 0; k < d->n_keys; k++) {
		char label[300];
		bool k8s;
		group_label(label, sizeof(label), d, r, k, &k8s);
		size_t j = ng;
		if (ng && strcmp(g[ng - 1].label, label) == 0)
			j = ng - 1;   /* sorted keys: groups mostly come in runs */
		for (size_t x = 0; j == ng && x < ng; x++)
			if (strcmp(g[x].label, label) == 0)
				j = x;
		if (j == ng) {
			if (!kvf_grow_array((void **)&g, &cg, ng, sizeof(*g)))
				break;
			memset(&g[ng], 0, sizeof(*g));
			snprintf(g[ng].label, sizeof(g[ng].label), "%s", label);
			g[ng].k8s = k8s;
			ng++;
		}
		if (!kvf_grow_array((void **)&g[j].keys, &g[j].cap, g[j].n, sizeof(size_t)))
			break;
		g[j].keys[g[j].n++] = k;
	}
	size_t listed = 0;
	kvf_buf_puts(b, "<table class=\"sortable\" id=\"groups-table\">\n<thead><tr><th>group</th><th>keys</th>");
	for (size_t i = 0; i < d->n; i++) {
		kvf_buf_puts(b, "<th>present on ");
		esc(b, d->nodes[i].label);
		kvf_buf_puts(b, "</th>");
	}
	kvf_buf_puts(b, "</tr></thead>\n<tbody>\n");
	for (size_t x = 0; x < ng; x++) {
		kvf_buf_printf(b, "<tr data-group=\"%zu\"><td>%s", x, g[x].k8s ? "&#9096; " : "");
		esc(b, g[x].label);
		kvf_buf_printf(b, "</td><td class=\"n\" data-name=\"group-keys\">%zu</td>", g[x].n);
		for (size_t i = 0; i < d->n; i++) {
			size_t c = 0;
			for (size_t y = 0; y < g[x].n; y++)
				c += d->keys[g[x].keys[y]].v[i].present;
			kvf_buf_printf(b, "<td class=\"n\" data-member=\"%zu\">%zu</td>", i, c);
		}
		kvf_buf_puts(b, "</tr>\n");
	}
	kvf_buf_puts(b, "</tbody>\n</table>\n");
	for (size_t x = 0; x < ng; x++) {
		kvf_buf_printf(b, "<details data-group=\"%zu\"%s><summary>%s", x, ng == 1 && g[x].n <= 50 ? " open" : "",
		               g[x].k8s ? "&#9096; " : "");
		esc(b, g[x].label);
		kvf_buf_printf(b, ": %zu key%s</summary>\n<table>\n<thead><tr><th>key</th>", g[x].n, g[x].n == 1 ? "" : "s");
		for (size_t i = 0; i < d->n; i++) {
			kvf_buf_puts(b, "<th>");
			esc(b, d->nodes[i].label);
			kvf_buf_puts(b, "</th>");
		}
		kvf_buf_puts(b, "<th>WAL entries (newest) and each member's fate</th><th>why</th></tr></thead>\n<tbody>\n");
		size_t y = 0;
		for (; y < g[x].n && y < MAX_KEYS_PER_GROUP && listed < MAX_KEYS_LISTED; y++, listed++)
			key_row(b, d, r, g[x].keys[y]);
		kvf_buf_puts(b, "</tbody>\n</table>\n");
		if (y < g[x].n)
			kvf_buf_printf(b, "<p class=\"note\">%zu more keys in this group: <code>diff-db --keys</code> or "
			               "<code>-o json</code> lists every one.</p>\n", g[x].n - y);
		kvf_buf_puts(b, "</details>\n");
	}
	for (size_t x = 0; x < ng; x++)
		free(g[x].keys);
	free(g);
	kvf_buf_puts(b, "</section>\n");
}

/* ---- evidence ---- */

static void evidence_item(kvf_buf *b, const kvf_diff *d, const kvf_evidence *e)
{
	kvf_buf_puts(b, "<li>");
	esc(b, e->text);
	if (e->file[0] || e->wal_index) {
		kvf_buf_puts(b, " <span class=\"dim\">[");
		if (e->file[0]) {
			esc(b, e->file);
			if (e->offset != KVF_NO_OFFSET)
				kvf_buf_printf(b, " at offset %" PRIu64, e->offset);
		}
		if (e->wal_index)
			kvf_buf_printf(b, "%sWAL index %" PRIu64, e->file[0] ? ", " : "", e->wal_index);
		kvf_buf_puts(b, "]</span>");
	}
	if (e->member >= 0 && (size_t)e->member < d->n) {
		kvf_buf_puts(b, " <span class=\"dim\">(");
		esc(b, d->nodes[e->member].label);
		kvf_buf_puts(b, ")</span>");
	}
	kvf_buf_puts(b, "</li>\n");
}

static void evidence_section(kvf_buf *b, const kvf_diff *d, const kvf_timeline *t, const kvf_record *r, const lane *L)
{
	kvf_buf_puts(b, "<section id=\"evidence\">\n<h2>6. Evidence</h2>\n<h3>Behind the verdict</h3>\n<ul>\n");
	if (d->verdicts.n) {
		for (size_t v = 0; v < d->verdicts.n; v++) {
			const kvf_verdict *vd = &d->verdicts.v[v];
			kvf_buf_printf(b, "<li><strong>%s</strong>: ", kvf_verdict_kind_name(vd->kind));
			esc(b, vd->headline);
			if (vd->n_evidence) {
				kvf_buf_puts(b, "\n<ul>\n");
				for (size_t e = 0; e < vd->n_evidence; e++)
					evidence_item(b, d, &vd->evidence[e]);
				kvf_buf_puts(b, "</ul>");
			}
			kvf_buf_puts(b, "</li>\n");
		}
		for (size_t k = 0; k < d->verdicts.n_ruled_out; k++) {
			kvf_buf_puts(b, "<li class=\"dim\">ruled out: ");
			esc(b, d->verdicts.ruled_out[k]);
			kvf_buf_puts(b, "</li>\n");
		}
	} else {
		for (int e = 0; e < d->n_evidence; e++) {
			kvf_buf_puts(b, "<li>");
			esc(b, d->evidence[e]);
			kvf_buf_puts(b, "</li>\n");
		}
	}
	if (!d->verdicts.n && !d->n_evidence) {
		kvf_buf_puts(b, "<li>");
		esc(b, d->cause_text);
		kvf_buf_puts(b, ": every bucket compared, no difference</li>\n");
	}
	kvf_buf_puts(b, "</ul>\n");
	/* each member's state: where it was read */
	kvf_buf_puts(b, "<h3>Each member's state</h3>\n<ul>\n");
	for (size_t i = 0; i < d->n; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		kvf_buf_puts(b, "<li>");
		escf(b, "%s: consistent_index %" PRIu64 ", term %" PRIu64 ", authRevision %" PRIu64 ", revision %" PRId64
		     ", compacted at %" PRId64 ": bucket meta, auth and key of ", nd->label, nd->st.state.consistent_index,
		     nd->st.state.term, nd->st.state.auth_revision, nd->st.revision, nd->st.compact_revision);
		kvf_buf_puts(b, "<code>");
		esc(b, nd->db_path);
		kvf_buf_puts(b, "</code>");
		if (nd->have_wal) {
			kvf_buf_puts(b, "; its WAL <code>");
			esc(b, nd->wal_dir);
			kvf_buf_printf(b, "</code> holds entries %" PRIu64 "..%" PRIu64, nd->wal_first_index, nd->wal_last_index);
			if (nd->has_metadata)
				kvf_buf_printf(b, ", member id %016" PRIx64 " and cluster id %016" PRIx64 " in its metadata",
				               nd->member_id, nd->cluster_id);
		}
		kvf_buf_puts(b, "</li>\n");
	}
	kvf_buf_puts(b, "</ul>\n");
	/* the entries behind the marks */
	if (L) {
		size_t shown = 0, total = 0;
		kvf_buf_puts(b, "<h3>Entries some member did not apply</h3>\n<ul id=\"entry-statements\">\n");
		for (size_t i = 0; i < d->n; i++)
			for (int k = 0; k < MK_KINDS; k++)
				for (size_t m = 0; m < L[i].n[k]; m++, total++) {
					if (shown >= MAX_STATEMENTS)
						continue;
					shown++;
					const mark *mk = &L[i].m[k][m];
					kvf_buf_puts(b, "<li>");
					if (mk->t)
						escf(b, "WAL index %" PRIu64 " (term %" PRIu64 ", %s, user %s, header auth_revision %" PRIu64
						     "): %s %s", mk->index, mk->t->term, mk->t->kind, mk->t->username[0] ? mk->t->username : "-",
						     mk->t->auth_revision, d->nodes[i].label,
						     k == MK_REFUSED ? "refused it" : "has not applied it");
					else if (mk->vi)
						escf(b, "WAL index %" PRIu64 " (term %" PRIu64 ", %s %s, header auth_revision %" PRIu64 "): %s: %s"
						     " (db revision %" PRId64 ")", mk->index, mk->vi->term, mk->vi->kind ? mk->vi->kind : "?",
						     mk->vi->key, mk->vi->header_auth_revision, d->nodes[i].label,
						     k == MK_MISSING ? "covered by its consistent_index, but no revision in its db"
						     : "its effect appears twice in its db", mk->vi->revision);
					else   /* past the first few the verification details */
						escf(b, "WAL index %" PRIu64 ": %s: %s", mk->index, d->nodes[i].label,
						     k == MK_MISSING ? "covered by its consistent_index, but no revision in its db"
						     : "its effect appears twice in its db");
					if (k == MK_REFUSED && mk->t)
						escf(b, " (its authRevision was at least %" PRIu64 ")", mk->t->auth_lo[i]);
					if (k == MK_NOTYET)
						escf(b, " (its consistent_index is %" PRIu64 ")", d->nodes[i].st.state.consistent_index);
					const kvf_verify *v = d->nodes[i].verify;
					if (mk->vi && v && mk->vi->segment < v->n_wal_files && v->wal_files[mk->vi->segment]) {
						kvf_buf_puts(b, " <span class=\"dim\">[");
						esc(b, v->wal_files[mk->vi->segment]);
						kvf_buf_printf(b, " at offset %" PRIu64 "]</span>", mk->vi->offset);
					} else if (mk->t && mk->t->segment < d->n_wal_files && d->wal_files[mk->t->segment]) {
						kvf_buf_puts(b, " <span class=\"dim\">[");
						esc(b, d->wal_files[mk->t->segment]);
						kvf_buf_printf(b, " at offset %" PRIu64 "]</span>", mk->t->offset);
					} else if (t && t->wal_dir) {
						kvf_buf_puts(b, " <span class=\"dim\">[");
						esc(b, t->wal_dir);
						kvf_buf_puts(b, "]</span>");
					}
					kvf_buf_puts(b, "</li>\n");
				}
		if (total > shown)
			kvf_buf_printf(b, "<li class=\"dim\">%zu more: the timeline marks every one; diff-db -o json lists them per key</li>\n",
			               total - shown);
		if (!total)
			kvf_buf_puts(b, "<li>none</li>\n");
		kvf_buf_puts(b, "</ul>\n");
	}
	/* inputs */
	kvf_buf_printf(b, "<h3>Inputs</h3>\n<p>diff-db (kvforensics) %s; SHA-256 (%s) of %zu files, %" PRIu64 " bytes, "
	               "in %.2f s beside the comparison", r->tool_version, kvf_sha256_impl(), r->n_files, r->bytes_hashed,
	               r->seconds_hashing);
	if (r->bytes_compared)
		kvf_buf_printf(b, " (%" PRIu64 " of those bytes are files equal byte for byte to an earlier one, which share "
		               "its digest)", r->bytes_compared);
	kvf_buf_puts(b, ".</p>\n"
	             "<table id=\"inputs\">\n<thead><tr><th>member</th><th>what</th><th>path</th><th>bytes</th><th>SHA-256</th>"
	             "</tr></thead>\n<tbody>\n");
	for (size_t f = 0; f < r->n_files; f++) {
		const kvf_record_file *rf = &r->files[f];
		kvf_buf_puts(b, "<tr><td>");
		if (rf->member >= 0 && (size_t)rf->member < d->n)
			esc(b, d->nodes[rf->member].label);
		kvf_buf_printf(b, "</td><td>%s</td><td><code>", rf->role);
		esc(b, rf->path);
		kvf_buf_printf(b, "</code></td><td class=\"n\">%" PRIu64 "</td><td><code>", rf->size);
		if (rf->hashed)
			for (int i = 0; i < KVF_SHA256_LEN; i++)
				kvf_buf_printf(b, "%02x", rf->sha256[i]);
		else {
			kvf_buf_puts(b, "not hashed: ");
			esc(b, rf->error[0] ? rf->error : "left out (KVF_REPORT_NO_SHA256=1)");
		}
		kvf_buf_puts(b, "</code></td></tr>\n");
	}
	kvf_buf_puts(b, "</tbody>\n</table>\n</section>\n");
}

void kvf_html_diff(kvf_buf *b, const kvf_diff *d, const kvf_timeline *t, const kvf_record *r)
{
	lane *L = gather(d);
	head(b, d);
	headline(b, d, r);
	members_table(b, d, L);
	timeline(b, d, t, L);
	drift(b, d, t, L);
	keys_section(b, d, r, L);
	evidence_section(b, d, t, r, L);
	kvf_buf_puts(b, "<footer class=\"note\"><p>Made offline by diff-db --report from the files listed above; the same "
	                "analysis as <code>diff-db</code> and <code>diff-db -o json</code>.</p></footer>\n<script>");
	kvf_buf_puts(b, JS);
	kvf_buf_puts(b, "</script>\n</body>\n</html>\n");
	free_lanes(L, d->n);
}
