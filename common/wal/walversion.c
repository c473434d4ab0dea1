#include "wal/walversion.h"

#include <stdlib.h>
#include <string.h>

#include "encoding/proto/etcdserverpb.pb-c.h"
#include "io/buf.h"
#include "wal/request.h"

kvf_etcd_version kvf_entry_version(const kvf_raft_entry *e, const char *kind, kvf_arena *arena,
                                   uint8_t *flags, const kvf_etcd_version *scanned)
{
	*flags = 0;
	kvf_etcd_version v = 0;
	const ProtobufCMessageDescriptor *irr = &etcdserverpb__internal_raft_request__descriptor;
	switch (e->type) {
	case KVF_ENTRY_CONF_CHANGE:
		/* version.go visitEntryData: a ConfChange is 3.0, a ConfChangeV2
		 * 3.4; one that does not parse is skipped, not an error */
		return kind && strcmp(kind, "undecodable") != 0 ? KVF_ETCD_VERSION(3, 0, 0) : 0;
	case KVF_ENTRY_CONF_CHANGE_V2:
		return kind && strcmp(kind, "undecodable") != 0 ? KVF_ETCD_VERSION(3, 4, 0) : 0;
	case KVF_ENTRY_NORMAL:
		break;
	default:
		*flags = KVF_VER_UNREADABLE;   /* visitEntryData panics: "unhandled" */
		return 0;
	}
	if (!kind || strcmp(kind, "undecodable") == 0) {
		*flags = KVF_VER_UNREADABLE;
		return 0;
	}
	if (strcmp(kind, "v2") == 0 || strncmp(kind, "v2_", 3) == 0) {
		/* 3.6 converts only these two (apply_v2.go v2ToV3Request) */
		*flags = KVF_VER_V2 | (strcmp(kind, "v2_member_attributes") != 0 &&
		                       strcmp(kind, "v2_cluster_version") != 0 ? KVF_VER_V2_REFUSED_36 : 0);
		kvf_request r;
		kvf_request_decode(e, arena, &r);
		if (r.cls != KVF_REQ_INTERNAL)
			return 0;   /* a bare etcdserverpb.Request: no annotation */
	}
	if (scanned && strcmp(kind, "downgrade_version_test") != 0)
		return *scanned;
	/* an empty entry is an empty InternalRaftRequest to etcd's visitor */
	if (!kvf_etcd_message_version(irr, e->data, e->len, &v)) {
		*flags |= KVF_VER_UNREADABLE;
		return v;
	}
	if (strcmp(kind, "downgrade_version_test") == 0) {
		/* its version is the one it names (semver.NewVersion; an error
		 * when it is not one) */
		kvf_request r;
		kvf_etcd_version named;
		kvf_request_decode(e, arena, &r);
		const Etcdserverpb__DowngradeVersionTestRequest *t = r.irr ? r.irr->downgrade_version_test : NULL;
		if (!t || !kvf_etcd_version_parse(t->ver.data, t->ver.len, &named))
			*flags |= KVF_VER_UNREADABLE;
		else if (named > v)
			v = named;
	}
	return v;
}

void kvf_wal_version_entry(kvf_wal_version *w, uint64_t index, kvf_etcd_version v, uint8_t flags)
{
	if (w->failed)
		return;
	/* an entry at or below the last index replaces the tail from there (a
	 * new leader truncated the log; etcd's reader keeps the newer one) */
	while (w->n && w->runs[w->n - 1].first >= index)
		w->n--;
	if (w->n && w->runs[w->n - 1].last >= index)
		w->runs[w->n - 1].last = index - 1;
	struct kvf_version_run *last = w->n ? &w->runs[w->n - 1] : NULL;
	if (last && last->v == v && last->flags == flags && last->last + 1 == index) {
		last->last = index;
		return;
	}
	if (!kvf_grow_array((void **)&w->runs, &w->cap, w->n, sizeof(*w->runs))) {
		w->failed = true;
		return;
	}
	w->runs[w->n++] = (struct kvf_version_run){ index, index, v, flags };
}

void kvf_wal_version_snapshot(kvf_wal_version *w, uint64_t index)
{
	if (w->failed)
		return;
	if (!kvf_grow_array((void **)&w->snaps, &w->cap_snaps, w->n_snaps, sizeof(*w->snaps))) {
		w->failed = true;
		return;
	}
	w->snaps[w->n_snaps++] = index;
}

/* The newest snapshot a commit makes valid (ValidSnapshotEntries keeps the
 * snapshot records whose index is at most the last HardState's commit). */
static uint64_t valid_snapshot(const kvf_wal_version *w, uint64_t commit)
{
	uint64_t best = 0;
	for (size_t i = 0; i < w->n_snaps; i++)
		if (w->snaps[i] <= commit && w->snaps[i] > best)
			best = w->snaps[i];
	return best;
}

void kvf_wal_version_state(kvf_wal_version *w, uint64_t commit)
{
	w->commit = commit;
	if (w->failed)
		return;
	/* A commit only grows, so a snapshot valid now stays valid: the
	 * entries it covers will never count, and their runs can go. */
	uint64_t s = valid_snapshot(w, commit);
	size_t drop = 0;
	while (drop < w->n && w->runs[drop].last <= s)
		drop++;
	if (drop) {
		memmove(w->runs, w->runs + drop, (w->n - drop) * sizeof(*w->runs));
		w->n -= drop;
	}
	size_t k = 0;
	for (size_t i = 0; i < w->n_snaps; i++)
		if (w->snaps[i] >= s)
			w->snaps[k++] = w->snaps[i];
	w->n_snaps = k;
}

void kvf_wal_version_result_of(const kvf_wal_version *w, kvf_wal_version_result *r)
{
	memset(r, 0, sizeof(*r));
	if (w->failed)
		return;
	r->known = true;
	r->after_index = valid_snapshot(w, w->commit);
	for (size_t i = 0; i < w->n; i++) {
		const struct kvf_version_run *run = &w->runs[i];
		if (run->last <= r->after_index)
			continue;
		uint64_t first = run->first > r->after_index ? run->first : r->after_index + 1;
		uint64_t count = run->last - first + 1;
		r->entries += count;
		if (run->v > r->min)
			r->min = run->v;
		if (run->flags & KVF_VER_V2) {
			if (!r->v2)
				r->first_v2 = first;
			r->v2 += count;
		}
		if (run->flags & KVF_VER_V2_REFUSED_36)
			r->v2_refused_36 += count;
		if (run->flags & KVF_VER_UNREADABLE)
			r->unreadable += count;
	}
}

void kvf_wal_version_free(kvf_wal_version *w)
{
	free(w->runs);
	free(w->snaps);
	memset(w, 0, sizeof(*w));
}
