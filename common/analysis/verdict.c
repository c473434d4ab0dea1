/* Verdicts: a list of causes, each with its evidence (see verdict.h). */
#include "analysis/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The versions of a known bug that more than one analysis names. */
const char KVF_VERSIONS_18667[] =
	"every release up to 3.6.14 / 3.5.33 / 3.4.x: members that do not serve the client drop a txn's range "
	"operations, the serving member evaluates them and fails with ErrCompacted (18667); fixed in 3.7.0 (21432)";
const char KVF_VERSIONS_11689[] =
	"etcd 3.2 -> 3.3 rolling upgrades with auth: a LeaseRevoke with no user was refused at apply by the newer "
	"members only (11689); fixed in 3.2.31 / 3.3 by revoking expired leases as root (11691). Later releases "
	"revoke expired leases as root, so a revoke without a user comes from a client that did not authenticate";
static const char *const kind_names[KVF_VERDICT_KINDS] = {
	[KVF_VERDICT_CONSISTENT] = "consistent",
	[KVF_VERDICT_LAG] = "lag",
	[KVF_VERDICT_AUTH_SKEW] = "auth_skew",
	[KVF_VERDICT_LOST_WRITES] = "lost_writes",
	[KVF_VERDICT_APPLIED_TWICE] = "applied_twice",
	[KVF_VERDICT_PARTIAL_TXN] = "partial_txn",
	[KVF_VERDICT_REVISION_SHIFT] = "revision_shift",
	[KVF_VERDICT_STALE_DB] = "stale_db",
	[KVF_VERDICT_ZOMBIE_MEMBER] = "zombie_member",
	[KVF_VERDICT_PROMOTION_LOST] = "promotion_lost",
	[KVF_VERDICT_MEMBERSHIP] = "membership",
	[KVF_VERDICT_TXN_COMPACTED_RANGE] = "txn_compacted_range",
	[KVF_VERDICT_LEASE_REVOKE_AUTH] = "lease_revoke_auth",
	[KVF_VERDICT_COMPACTION_UNFINISHED] = "compaction_unfinished",
	[KVF_VERDICT_LEFTOVER_SNAPSHOT] = "leftover_snapshot",
	[KVF_VERDICT_INTERRUPTED_DEFRAG] = "interrupted_defrag",
	[KVF_VERDICT_FALSE_CORRUPT_ALARM] = "false_corrupt_alarm",
	[KVF_VERDICT_PAGE_DAMAGE] = "page_damage",
	[KVF_VERDICT_RESTORED_SNAPSHOT] = "restored_snapshot",
	[KVF_VERDICT_UNEXPLAINED] = "unexplained",
};

const char *kvf_verdict_kind_name(kvf_verdict_kind k)
{
	return (unsigned)k < KVF_VERDICT_KINDS && kind_names[k] ? kind_names[k] : "unknown";
}

/* Grow *p (of *cap elements of size sz) to hold one more than n. */
static bool grow(void *p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 4;
	void *q = realloc(*(void **)p, ncap * sz);
	if (!q)
		return false;
	*(void **)p = q;
	*cap = ncap;
	return true;
}

kvf_verdict *kvf_verdict_add(kvf_verdicts *vs, kvf_verdict_kind kind, bool divergence, int member,
                             const char *fmt, ...)
{
	if (!grow(&vs->v, &vs->cap, vs->n, sizeof(*vs->v)))
		return NULL;
	kvf_verdict *v = &vs->v[vs->n++];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->divergence = divergence;
	v->member = member;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->headline, sizeof(v->headline), fmt, ap);
	va_end(ap);
	return v;
}

kvf_status kvf_verdict_evidence(kvf_verdict *v, int member, const char *file, uint64_t offset,
                                uint64_t wal_index, const char *fmt, ...)
{
	if (!grow(&v->evidence, &v->cap_evidence, v->n_evidence, sizeof(*v->evidence)))
		return kvf_err_set(NULL, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
	kvf_evidence *e = &v->evidence[v->n_evidence++];
	memset(e, 0, sizeof(*e));
	e->member = member;
	e->offset = offset;
	e->wal_index = wal_index;
	if (file)
		snprintf(e->file, sizeof(e->file), "%s", file);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return KVF_OK;
}

kvf_status kvf_verdicts_rule_out(kvf_verdicts *vs, const char *fmt, ...)
{
	if (!grow(&vs->ruled_out, &vs->cap_ruled_out, vs->n_ruled_out, sizeof(*vs->ruled_out)))
		return kvf_err_set(NULL, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vs->ruled_out[vs->n_ruled_out++], sizeof(*vs->ruled_out), fmt, ap);
	va_end(ap);
	return KVF_OK;
}

bool kvf_verdicts_divergent(const kvf_verdicts *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		if (vs->v[i].divergence)
			return true;
	return false;
}

static int rank(const kvf_verdict *v)
{
	if (v->divergence)
		return 0;
	if (v->kind == KVF_VERDICT_LAG)
		return 1;
	return v->kind == KVF_VERDICT_CONSISTENT ? 3 : 2;
}

void kvf_verdicts_sort(kvf_verdicts *vs)
{
	/* insertion sort: a handful of verdicts, and it is stable */
	for (size_t i = 1; i < vs->n; i++) {
		kvf_verdict t = vs->v[i];
		size_t j = i;
		for (; j > 0 && rank(&vs->v[j - 1]) > rank(&t); j--)
			vs->v[j] = vs->v[j - 1];
		vs->v[j] = t;
	}
}

void kvf_verdicts_free(kvf_verdicts *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		free(vs->v[i].evidence);
	free(vs->v);
	free(vs->ruled_out);
	memset(vs, 0, sizeof(*vs));
}
