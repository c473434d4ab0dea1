#include "db/version.h"

#include <string.h>

void kvf_db_schema_detect(const kvf_etcd_state *st, kvf_db_schema *out)
{
	memset(out, 0, sizeof(*out));
	kvf_etcd_version v;
	if (st->storage_version.p) {
		/* UnsafeReadStorageVersion: semver.NewVersion, else as if absent */
		if (kvf_etcd_version_parse(st->storage_version.p, st->storage_version.len, &v)) {
			out->source = KVF_SCHEMA_FROM_STORAGE_VERSION;
			out->version = v;
			return;
		}
		out->storage_version_ignored = true;
	}
	/* UnsafeReadConsistentIndex: the term is read only with an index */
	if (st->has_consistent_index && st->has_term && st->term != 0) {
		out->source = KVF_SCHEMA_FROM_TERM;
		out->version = KVF_ETCD_VERSION(3, 5, 0);
		return;
	}
	out->source = KVF_SCHEMA_NONE;
}

const char *kvf_schema_source_name(kvf_schema_source s)
{
	switch (s) {
	case KVF_SCHEMA_FROM_STORAGE_VERSION: return "storageVersion";
	case KVF_SCHEMA_FROM_TERM: return "term";
	case KVF_SCHEMA_NONE: break;
	}
	return "none";
}

bool kvf_hashkv_at_compaction_ok(const kvf_db_schema *s)
{
	return s->source != KVF_SCHEMA_NONE;
}

kvf_status kvf_compaction_tombstones(kvf_backend *b, int64_t compact_rev, uint64_t *count, kvf_err *err)
{
	*count = 0;
	if (compact_rev <= 0)
		return KVF_OK;
	kvf_cursor *c;
	kvf_status s = kvf_cursor_open(b, KVF_BUCKET_KEY, 3, &c, err);
	if (s == KVF_E_NOTFOUND) {
		kvf_err_clear(err);
		return KVF_OK;
	}
	if (s)
		return s;
	uint8_t from[17];
	kvf_revkey_make((kvf_revision){ compact_rev, 0 }, from);
	s = kvf_cursor_seek(c, from, sizeof(from), err);
	kvf_pair p;
	bool got;
	while (!s && (s = kvf_cursor_next(c, &p, &got, err)) == KVF_OK && got) {
		kvf_revision rev;
		bool tomb;
		if (p.is_bucket || !kvf_revkey_parse(p.key, &rev, &tomb))
			continue;
		if (rev.main != compact_rev)
			break;
		*count += tomb;
	}
	kvf_cursor_close(c);
	return s;
}

bool kvf_schema_saves_applied_index(const kvf_db_schema *s)
{
	return s->source != KVF_SCHEMA_NONE;
}

bool kvf_meta_key_version_dependent(kvf_span key)
{
	static const char *const keys[] = { "term", "confState", "storageVersion" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (key.len == strlen(keys[i]) && memcmp(key.p, keys[i], key.len) == 0)
			return true;
	return false;
}
