#include "wal/raft.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "io/crc32c.h"
#include "encoding/proto/snappb.pb-c.h"
#include "io/source.h"
#include "encoding/proto/walpb.pb-c.h"

bool kvf_raft_entry_parse(const uint8_t *p, size_t n, kvf_raft_entry *e)
{
	memset(e, 0, sizeof(*e));
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1) {
		bool varint = f.wire == KVF_PB_VARINT;
		switch (f.num) {
		case 1: if (!varint) return false; e->type = f.u64; break;
		case 2: if (!varint) return false; e->term = f.u64; break;
		case 3: if (!varint) return false; e->index = f.u64; break;
		case 4:
			if (f.wire != KVF_PB_LEN)
				return false;
			e->data = f.data;
			e->len = f.len;
			break;
		default: break;
		}
	}
	return rc == 0;
}

bool kvf_hardstate_parse(const uint8_t *p, size_t n, kvf_hardstate *hs)
{
	memset(hs, 0, sizeof(*hs));
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1) {
		if (f.num >= 1 && f.num <= 3 && f.wire != KVF_PB_VARINT)
			return false;
		if (f.num == 1) hs->term = f.u64;
		else if (f.num == 2) hs->vote = f.u64;
		else if (f.num == 3) hs->commit = f.u64;
	}
	return rc == 0;
}

bool kvf_wal_metadata_parse(const uint8_t *p, size_t n, kvf_wal_metadata *md)
{
	memset(md, 0, sizeof(*md));
	kvf_pb_reader r = kvf_pb_init(p, n);
	kvf_pb_field f;
	int rc;
	while ((rc = kvf_pb_next(&r, &f)) == 1) {
		if (f.num > 2)
			return false;   /* Metadata has two fields; anything else is not one */
		if (f.wire != KVF_PB_VARINT)
			return false;
		if (f.num == 1) md->node_id = f.u64;
		else md->cluster_id = f.u64;
	}
	md->parsed = rc == 0;
	return md->parsed;
}

bool kvf_wal_snapshot_parse(const uint8_t *p, size_t n, kvf_arena *arena, kvf_wal_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	if (!kvf_pb_depth_ok(&walpb__snapshot__descriptor, p, n, 8))
		return false;
	Walpb__Snapshot *m = walpb__snapshot__unpack(&arena->pc, n, p);
	if (!m)
		return false;
	s->index = m->index;
	s->term = m->term;
	s->conf_state = m->conf_state;
	s->has_conf_state = m->conf_state != NULL;
	return true;
}

const char *kvf_entry_type_name(uint64_t type)
{
	switch (type) {
	case KVF_ENTRY_NORMAL: return "normal";
	case KVF_ENTRY_CONF_CHANGE: return "conf_change";
	case KVF_ENTRY_CONF_CHANGE_V2: return "conf_change_v2";
	}
	return "unknown";
}

const char *kvf_conf_change_type_name(int type)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&raftpb__conf_change_type__descriptor, type);
	return v ? v->name : "unknown";
}

bool kvf_snap_parse_name(const char *name, uint64_t *term, uint64_t *index)
{
	size_t n = strlen(name);
	if (n != 38 || strcmp(name + 33, ".snap") != 0 || name[16] != '-')
		return false;
	uint64_t v[2] = { 0, 0 };
	for (int part = 0; part < 2; part++)
		for (int i = 0; i < 16; i++) {
			char c = name[part * 17 + i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
			if (d < 0)
				return false;
			v[part] = v[part] << 4 | (uint64_t)d;
		}
	*term = v[0];
	*index = v[1];
	return true;
}

kvf_status kvf_snap_read(const char *path, kvf_arena *arena, kvf_snap_file *out, kvf_err *err)
{
	memset(out, 0, sizeof(*out));
	const char *slash = strrchr(path, '/');
	out->name_ok = kvf_snap_parse_name(slash ? slash + 1 : path, &out->name_term, &out->name_index);
	kvf_map m;
	kvf_status st = kvf_map_open(&m, path, err);
	if (st)
		return st;
	out->file_size = m.size;
	if (m.size == 0) {
		kvf_map_close(&m);
		return kvf_err_set(err, KVF_E_TRUNCATED, path, 0, "empty snapshot file");
	}
	/* snappb.Snapshot: field 1 crc (varint), field 2 data (bytes) */
	kvf_pb_reader r = kvf_pb_init(m.data, (size_t)m.size);
	kvf_pb_field f;
	int rc;
	const uint8_t *data = NULL;
	size_t dlen = 0;
	bool have_crc = false;
	uint64_t at = 0;
	while ((rc = kvf_pb_next(&r, &f)) == 1) {
		if (f.num == 1 && f.wire == KVF_PB_VARINT && f.u64 <= UINT32_MAX) {
			out->crc_stored = (uint32_t)f.u64;
			have_crc = true;
		} else if (f.num == 2 && f.wire == KVF_PB_LEN) {
			data = f.data;
			dlen = f.len;
		}
		at = (uint64_t)(r.p - m.data);
	}
	if (rc < 0) {
		kvf_map_close(&m);
		return kvf_err_set(err, KVF_E_CORRUPT, path, at,
		                   "not a snappb.Snapshot: malformed field after byte %llu",
		                   (unsigned long long)at);
	}
	if (!have_crc || !data) {
		kvf_map_close(&m);
		return kvf_err_set(err, KVF_E_CORRUPT, path, 0,
		                   "not a snappb.Snapshot: %s missing", have_crc ? "data" : "crc");
	}
	out->crc_computed = kvf_crc32c(0, data, dlen);
	out->crc_ok = out->crc_computed == out->crc_stored;
	out->data_len = dlen;
	/* raftpb.Snapshot: take the metadata, keep the v2 store bytes */
	uint64_t data_off = (uint64_t)(data - m.data);
	st = KVF_OK;
	if (!kvf_pb_depth_ok(&raftpb__snapshot__descriptor, data, dlen, 8)) {
		st = kvf_err_set(err, KVF_E_CORRUPT, path, data_off, "snapshot data is not a raftpb.Snapshot");
	} else {
		Raftpb__Snapshot *s = raftpb__snapshot__unpack(&arena->pc, dlen, data);
		if (!s) {
			st = kvf_err_set(err, KVF_E_CORRUPT, path, data_off,
			                 "snapshot data is not a raftpb.Snapshot%s",
			                 out->crc_ok ? "" : " (and its crc does not match)");
		} else {
			if (s->metadata) {
				out->index = s->metadata->index;
				out->term = s->metadata->term;
				out->conf_state = s->metadata->conf_state;
			}
			out->data = s->has_data ? s->data.data : NULL;
			out->data_len = s->has_data ? s->data.len : 0;
			if (out->data_len)
				kvf_snap_v2_parse(out->data, out->data_len, &out->v2);
		}
	}
	kvf_map_close(&m);
	return st;
}

/* ---- the v2 store in a .snap file ---- */

static json_t *children(json_t *node)
{
	json_t *c = json_object_get(node, "Children");
	return json_is_object(c) ? c : NULL;
}

/* Leaf nodes under node (a node with Children is a directory). */
static void count_leaves(json_t *node, kvf_snap_v2 *out, int depth)
{
	json_t *kids = children(node);
	if (!kids) {
		const char *path = json_string_value(json_object_get(node, "Path"));
		if (!out->other_keys++ && path)
			snprintf(out->first_other, sizeof(out->first_other), "%s", path);
		return;
	}
	if (depth > 64)
		return;
	const char *k;
	json_t *v;
	json_object_foreach(kids, k, v)
		count_leaves(v, out, depth + 1);
}

void kvf_snap_v2_parse(const uint8_t *data, size_t len, kvf_snap_v2 *out)
{
	memset(out, 0, sizeof(*out));
	json_t *doc = json_loadb((const char *)data, len, 0, NULL);
	json_t *root = json_object_get(doc, "Root");
	json_t *top = children(root);
	if (!json_is_object(root)) {
		json_decref(doc);
		return;
	}
	out->parsed = true;
	const char *k;
	json_t *v;
	/* (json_object_foreach takes NULL as an empty object) */
	json_object_foreach(top, k, v) {
		if (strcmp(k, "0") != 0) {
			/* /1 (v2 user keys; etcd keeps an empty /1: "Children":{}, where
			 * a key has "Children":null) and anything else */
			count_leaves(v, out, 0);
			continue;
		}
		json_t *zero = children(v);
		const char *ck;
		json_t *cv;
		json_object_foreach(zero, ck, cv) {
			if (strcmp(ck, "members") == 0) {
				json_t *ms = children(cv);
				const char *id;
				json_t *m;
				json_object_foreach(ms, id, m) {
					out->members++;
					/* raftAttributes: {"peerURLs":[..],"isLearner":true} */
					json_t *ra = json_object_get(children(m), "raftAttributes");
					const char *val = json_string_value(json_object_get(ra, "Value"));
					json_t *attrs = val ? json_loads(val, 0, NULL) : NULL;
					out->learners += json_is_true(json_object_get(attrs, "isLearner"));
					json_decref(attrs);
				}
			} else if (strcmp(ck, "removed_members") == 0) {
				out->removed += children(cv) ? (uint32_t)json_object_size(children(cv)) : 0;
			} else if (strcmp(ck, "version") == 0) {
				const char *ver = json_string_value(json_object_get(cv, "Value"));
				if (ver)
					snprintf(out->version, sizeof(out->version), "%s", ver);
			} else {
				count_leaves(cv, out, 0);
			}
		}
	}
	json_decref(doc);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

kvf_status kvf_snap_list(const char *dir, char ***paths, size_t *np, kvf_err *err)
{
	*paths = NULL;
	*np = 0;
	DIR *d = opendir(dir);
	if (!d)
		return kvf_err_sys(err, errno, dir, "cannot list directory");
	char **v = NULL;
	size_t n = 0, cap = 0;
	kvf_status st = KVF_OK;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".snap") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				st = kvf_err_set(err, KVF_E_NOMEM, dir, KVF_NO_OFFSET, "out of memory");
				break;
			}
			v = nv;
		}
		if (!(v[n] = kvf_path_join(dir, de->d_name))) {
			st = kvf_err_set(err, KVF_E_NOMEM, dir, KVF_NO_OFFSET, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (st) {
		kvf_snap_list_free(v, n);
		return st;
	}
	if (n)   /* an empty snap dir leaves v NULL, which qsort may not be given */
		qsort(v, n, sizeof(*v), cmp_str);
	*paths = v;
	*np = n;
	return KVF_OK;
}

void kvf_snap_list_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
