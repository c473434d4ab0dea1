/* Cluster and member identity of each input (identity.h). */
#include "analysis/identity.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/buf.h"
#include "wal/raft.h"
#include "wal/wal.h"

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

/* The member JSON with its numeric id turned into a hex string, parsed.
 * membership/member.go marshals the id as a JSON number (uint64): jansson
 * refuses integers past INT64_MAX, so it is rewritten before parsing. */
static json_t *member_load(const uint8_t *p, size_t n, uint64_t *id_out, bool *has_id)
{
	static const char tag[] = "\"id\":";
	const char *text = (const char *)p;
	*has_id = false;
	if (!p || n == 0 || n > (1u << 20))
		return NULL;
	const char *at = memmem(text, n, tag, sizeof tag - 1);
	json_t *j = NULL;
	if (at) {
		size_t pre = (size_t)(at - text) + sizeof tag - 1, digits = 0;
		uint64_t id = 0;
		bool overflow = false;
		while (pre + digits < n && text[pre + digits] >= '0' && text[pre + digits] <= '9') {
			unsigned d = (unsigned)(text[pre + digits] - '0');
			overflow |= id > (UINT64_MAX - d) / 10;
			id = id * 10 + d;
			digits++;
		}
		if (digits && !overflow) {
			char *copy = malloc(n + 24);
			if (!copy)
				return NULL;
			int hex = snprintf(copy + pre, 24, "\"%016" PRIx64 "\"", id);
			memcpy(copy, text, pre);
			memcpy(copy + pre + (size_t)hex, text + pre + digits, n - pre - digits);
			j = json_loadb(copy, n - digits + (size_t)hex, 0, NULL);
			free(copy);
			if (j) {
				*id_out = id;
				*has_id = true;
			}
		}
	}
	if (!j)
		j = json_loadb(text, n, 0, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

char *kvf_member_canonical(const uint8_t *p, size_t n)
{
	uint64_t id;
	bool has_id;
	json_t *j = member_load(p, n, &id, &has_id);
	if (!j)
		return NULL;
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

static char *join_urls(json_t *a)
{
	kvf_buf b = KVF_BUF_INIT;
	size_t k;
	json_t *u;
	json_array_foreach(a, k, u) {
		if (json_is_string(u))
			kvf_buf_printf(&b, "%s%s", k ? "," : "", json_string_value(u));
	}
	return b.p ? kvf_buf_detach(&b, NULL) : strdup("");
}

bool kvf_member_parse(const uint8_t *p, size_t n, kvf_member_entry *m)
{
	memset(m, 0, sizeof(*m));
	bool has_id;
	json_t *j = member_load(p, n, &m->id, &has_id);
	if (!j)
		return false;
	const char *name = json_string_value(json_object_get(j, "name"));
	m->name = strdup(name ? name : "");
	m->peer_urls = join_urls(json_object_get(j, "peerURLs"));
	m->learner = json_is_true(json_object_get(j, "isLearner"));
	json_decref(j);
	if (!m->name || !m->peer_urls || !has_id) {
		kvf_member_entry_free(m);
		return false;
	}
	return true;
}

void kvf_member_entry_free(kvf_member_entry *m)
{
	free(m->name);
	free(m->peer_urls);
	m->name = m->peer_urls = NULL;
}

/* A bucket key is the member id as types.ID.String() writes it: hex, no
 * leading zeros. */
static bool hex_id(kvf_span k, uint64_t *id)
{
	if (k.len == 0 || k.len > 16)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < k.len; i++) {
		uint8_t c = k.p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
		           : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16u;
		if (d > 15)
			return false;
		v = v << 4 | d;
	}
	*id = v;
	return true;
}

static kvf_member_entry *member_slot(kvf_identity *id, uint64_t member_id)
{
	for (size_t i = 0; i < id->n_members; i++)
		if (id->members[i].id == member_id)
			return &id->members[i];
	if (!kvf_grow_array((void **)&id->members, &id->cap_members, id->n_members, sizeof(*id->members)))
		return NULL;
	kvf_member_entry *m = &id->members[id->n_members++];
	memset(m, 0, sizeof(*m));
	m->id = member_id;
	return m;
}

static kvf_status read_bucket(kvf_identity *id, kvf_backend *be, const char *bucket, bool removed, kvf_err *err)
{
	kvf_cursor *c;
	kvf_status st = kvf_cursor_open(be, bucket, strlen(bucket), &c, err);
	if (st == KVF_E_NOTFOUND) {
		kvf_err_clear(err);
		return KVF_OK;
	}
	if (st)
		return st;
	kvf_pair p;
	bool got;
	while ((st = kvf_cursor_next(c, &p, &got, err)) == KVF_OK && got) {
		uint64_t mid;
		if (p.is_bucket || !hex_id(p.key, &mid))
			continue;   /* not a member: the comparison shows the bucket as it is */
		kvf_member_entry *m = member_slot(id, mid);
		if (!m) {
			st = nomem(err);
			break;
		}
		if (removed) {
			m->removed = true;
			continue;
		}
		kvf_member_entry parsed;
		if (kvf_member_parse(p.value.p, p.value.len, &parsed)) {
			kvf_member_entry_free(m);
			m->name = parsed.name;
			m->peer_urls = parsed.peer_urls;
			m->learner = parsed.learner;
		}
	}
	kvf_cursor_close(c);
	return st;
}

/* The first metadata record of the WAL: it opens every segment (after the
 * crc record), so a few records are enough. */
static void read_metadata(kvf_identity *id, const char *wal_dir)
{
	kvf_err err;
	kvf_err_clear(&err);
	kvf_wal_segments segs = { 0 };
	kvf_wal_reader *r = NULL;
	if (kvf_wal_segments_add(&segs, wal_dir, &err) == KVF_OK && segs.n) {
		kvf_wal_segments_order(&segs);
		kvf_wal_options o = { 0 };
		if (kvf_wal_open(&r, &segs, &o, &err) == KVF_OK) {
			kvf_wal_event ev;
			for (int records = 0; records < 16 && kvf_wal_next(r, &ev, &err) == KVF_OK &&
			                      ev.kind != KVF_WAL_EV_END;) {
				if (ev.kind != KVF_WAL_EV_RECORD)
					continue;
				records++;
				kvf_wal_metadata md;
				if (ev.rec.type == KVF_WAL_METADATA && ev.rec.crc_state != KVF_CRC_MISMATCH &&
				    kvf_wal_metadata_parse(ev.rec.data, ev.rec.len, &md) && md.parsed) {
					id->has_metadata = true;
					id->member_id = md.node_id;
					id->cluster_id = md.cluster_id;
					break;
				}
			}
			kvf_wal_close(r);
		}
	}
	kvf_wal_segments_free(&segs);
}

kvf_status kvf_identity_read(kvf_identity *id, kvf_backend *be, const char *db_path, const char *wal_dir,
                             kvf_err *err)
{
	memset(id, 0, sizeof(*id));
	id->cluster = -1;
	struct stat sb;
	if (db_path && stat(db_path, &sb) == 0) {
		id->have_file = true;
		id->dev = (uint64_t)sb.st_dev;
		id->ino = (uint64_t)sb.st_ino;
	}
	kvf_status st = read_bucket(id, be, "members", false, err);
	if (!st)
		st = read_bucket(id, be, "members_removed", true, err);
	if (st)
		return st;
	if (wal_dir)
		read_metadata(id, wal_dir);
	return KVF_OK;
}

const kvf_member_entry *kvf_identity_member(const kvf_identity *id, uint64_t member_id)
{
	for (size_t i = 0; i < id->n_members; i++)
		if (id->members[i].id == member_id)
			return &id->members[i];
	return NULL;
}

static bool share_member(const kvf_identity *a, const kvf_identity *b)
{
	for (size_t i = 0; i < a->n_members; i++)
		if (kvf_identity_member(b, a->members[i].id))
			return true;
	return false;
}

/* Do two inputs belong to one cluster? 1 yes, 0 no, -1 nothing to tell. */
static int same_cluster(const kvf_identity *a, const kvf_identity *b)
{
	if (a->has_metadata && b->has_metadata)
		return a->cluster_id == b->cluster_id;
	if (!a->n_members || !b->n_members)
		return -1;
	return share_member(a, b);
}

static size_t find_root(size_t *parent, size_t i)
{
	while (parent[i] != i)
		i = parent[i] = parent[parent[i]];
	return i;
}

kvf_status kvf_identity_group(kvf_identity_set *s, kvf_err *err)
{
	size_t n = s->n;
	s->n_clusters = 0;
	if (!n)
		return KVF_OK;
	size_t *parent = malloc(n * sizeof(*parent));
	bool *known = calloc(n, sizeof(*known));
	if (!parent || !known) {
		free(parent);
		free(known);
		return nomem(err);
	}
	for (size_t i = 0; i < n; i++)
		parent[i] = i;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			int same = same_cluster(&s->v[i], &s->v[j]);
			if (same >= 0)
				known[i] = known[j] = true;
			if (same == 1)
				parent[find_root(parent, j)] = find_root(parent, i);
		}
	/* An input that tells nothing about its cluster (no WAL, no members
	 * bucket) is not evidence of another cluster: it joins the first. */
	for (size_t i = 0; i < n; i++)
		if (!known[i] && !s->v[i].has_metadata && !s->v[i].n_members)
			parent[find_root(parent, i)] = find_root(parent, 0);
	for (size_t i = 0; i < n; i++)
		s->v[i].cluster = -1;
	for (size_t i = 0; i < n; i++) {
		size_t r = find_root(parent, i);
		if (s->v[r].cluster < 0)
			s->v[r].cluster = (int)s->n_clusters++;
		s->v[i].cluster = s->v[r].cluster;
	}
	free(parent);
	free(known);
	/* duplicates, and members others list as removed */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			const kvf_identity *a = &s->v[i], *b = &s->v[j];
			int kind = -1;
			if (a->have_file && b->have_file && a->dev == b->dev && a->ino == b->ino)
				kind = KVF_DUP_SAME_FILES;
			else if (a->has_metadata && b->has_metadata && a->member_id == b->member_id &&
			         a->cluster_id == b->cluster_id)
				kind = KVF_DUP_SAME_MEMBER;
			if (kind < 0)
				continue;
			kvf_identity_dup *nd = realloc(s->dups, (s->n_dups + 1) * sizeof(*nd));
			if (!nd)
				return nomem(err);
			s->dups = nd;
			s->dups[s->n_dups++] = (kvf_identity_dup){ i, j, (kvf_identity_dup_kind)kind };
		}
	for (size_t i = 0; i < n; i++) {
		if (!s->v[i].has_metadata)
			continue;
		for (size_t j = 0; j < n; j++) {
			const kvf_member_entry *m = kvf_identity_member(&s->v[j], s->v[i].member_id);
			if (!m || !m->removed || s->v[i].cluster != s->v[j].cluster)
				continue;
			kvf_identity_removed *nr = realloc(s->removed, (s->n_removed + 1) * sizeof(*nr));
			if (!nr)
				return nomem(err);
			s->removed = nr;
			s->removed[s->n_removed++] = (kvf_identity_removed){ i, j };
			break;
		}
	}
	return KVF_OK;
}

bool kvf_identity_refused(const kvf_identity_set *s)
{
	if (s->n_clusters > 1)
		return true;
	for (size_t i = 0; i < s->n_dups; i++)
		if (s->dups[i].kind == KVF_DUP_SAME_FILES)
			return true;
	return false;
}

void kvf_identity_set_free(kvf_identity_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t k = 0; k < s->v[i].n_members; k++)
			kvf_member_entry_free(&s->v[i].members[k]);
		free(s->v[i].members);
	}
	free(s->v);
	free(s->dups);
	free(s->removed);
	memset(s, 0, sizeof(*s));
}
