#include "analysis/record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encoding/k8s.h"
#include "io/buf.h"

static kvf_status nomem(kvf_err *err)
{
	return kvf_err_set(err, KVF_E_NOMEM, NULL, KVF_NO_OFFSET, "out of memory");
}

static kvf_status add_file(kvf_record *r, const char *path, int member, const char *role, kvf_err *err)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (strcmp(r->files[i].path, path) == 0)
			return KVF_OK;
	if (!kvf_grow_array((void **)&r->files, &r->cap_files, r->n_files, sizeof(*r->files)))
		return nomem(err);
	kvf_record_file *f = &r->files[r->n_files];
	memset(f, 0, sizeof(*f));
	if (!(f->path = strdup(path)))
		return nomem(err);
	f->member = member;
	f->role = role;
	struct stat sb;
	if (stat(path, &sb) == 0)
		f->size = (uint64_t)sb.st_size;
	r->n_files++;
	return KVF_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The WAL segments of a member, in name order (which is log order). */
static kvf_status add_wal(kvf_record *r, const char *dir, int member, kvf_err *err)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return KVF_OK;   /* diff-db read it; if it is gone now, the db and the other files still count */
	char **names = NULL;
	size_t n = 0, cap = 0;
	kvf_status st = KVF_OK;
	struct dirent *de;
	while ((de = readdir(dp))) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".wal") != 0)
			continue;
		if (!kvf_grow_array((void **)&names, &cap, n, sizeof(*names)) || !(names[n] = strdup(de->d_name))) {
			st = nomem(err);
			break;
		}
		n++;
	}
	closedir(dp);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *p;
		if (!st && asprintf(&p, "%s/%s", dir, names[i]) >= 0) {
			st = add_file(r, p, member, "wal", err);
			free(p);
		}
		free(names[i]);
	}
	free(names);
	return st;
}

static void copy_str(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static void join_urls(char *dst, size_t cap, json_t *arr)
{
	dst[0] = '\0';
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		size_t l = strlen(dst);
		snprintf(dst + l, cap - l, "%s%s", l ? "," : "", json_string_value(v));
	}
}

/* membership/member.go: {"id","peerURLs","name","clientURLs","isLearner"};
 * etcd 3.4 keeps the name and client URLs only in the v2 store, so they may
 * be missing. */
static kvf_status read_members(kvf_record *r, kvf_backend *be, kvf_err *err)
{
	kvf_cursor *c;
	kvf_status st = kvf_cursor_open(be, "members", 7, &c, err);
	if (st == KVF_E_NOTFOUND) {
		kvf_err_clear(err);
		return KVF_OK;
	}
	if (st)
		return st;
	kvf_pair p;
	bool got;
	while ((st = kvf_cursor_next(c, &p, &got, err)) == KVF_OK && got) {
		json_t *j = json_loadb((const char *)p.value.p, p.value.len, JSON_DECODE_INT_AS_REAL, NULL);
		if (!j)
			continue;
		if (!kvf_grow_array((void **)&r->members, &r->cap_members, r->n_members, sizeof(*r->members))) {
			json_decref(j);
			st = nomem(err);
			break;
		}
		kvf_record_member *m = &r->members[r->n_members++];
		memset(m, 0, sizeof(*m));
		/* the key is the id in hex; the JSON's "id" is a uint64 that
		 * jansson cannot hold above INT64_MAX */
		if (p.key.len < 32) {
			char hex[33];
			memcpy(hex, p.key.p, p.key.len);
			hex[p.key.len] = '\0';
			m->id = strtoull(hex, NULL, 16);
		}
		copy_str(m->name, sizeof(m->name), json_string_value(json_object_get(j, "name")));
		join_urls(m->peer_urls, sizeof(m->peer_urls), json_object_get(j, "peerURLs"));
		join_urls(m->client_urls, sizeof(m->client_urls), json_object_get(j, "clientURLs"));
		m->learner = json_is_true(json_object_get(j, "isLearner"));
		json_decref(j);
	}
	kvf_cursor_close(c);
	return st;
}

static void k8s_str(char *dst, size_t cap, kvf_k8s_str s)
{
	dst[0] = '\0';
	if (!s.p)
		return;
	kvf_buf b = KVF_BUF_INIT;
	if (kvf_k8s_str_decode(s, &b) && b.p)
		snprintf(dst, cap, "%.*s", (int)b.len, b.p);
	kvf_buf_free(&b);
}

/* The API server's layout, /registry/RESOURCE/NAMESPACE/NAME, when the
 * object itself does not say (no ObjectMeta). */
static void namespace_from_key(kvf_record_key *rk, kvf_span key)
{
	static const char pre[] = "/registry/";
	size_t n = sizeof(pre) - 1, slashes = 0, a = 0, b = 0;
	if (key.len <= n || memcmp(key.p, pre, n) != 0)
		return;
	for (size_t i = n; i < key.len; i++)
		if (key.p[i] == '/') {
			slashes++;
			if (slashes == 1)
				a = i + 1;
			else if (slashes == 2)
				b = i;
		}
	if (slashes == 2 && b > a)
		snprintf(rk->k8s_namespace, sizeof(rk->k8s_namespace), "%.*s", (int)(b - a), (const char *)key.p + a);
}

static kvf_status key_facts(kvf_record_key *rk, const kvf_diff *d, const kvf_divergent_key *k, kvf_err *err)
{
	if (!(rk->offset = malloc(d->n * sizeof(*rk->offset))))
		return nomem(err);
	bool decoded = false;
	for (size_t i = 0; i < d->n; i++) {
		rk->offset[i] = UINT64_MAX;
		const kvf_key_entry *e = kvf_keyindex_find(&d->nodes[i].ki, k->key.p, k->key.len);
		if (!e || !e->revisions)
			continue;
		rk->offset[i] = e->last_kv.file_offset;
		kvf_kv kv;
		kvf_k8s_object o;
		if (decoded || e->last_tombstone || !kvf_kv_parse(e->last_kv, &kv) || !kvf_k8s_decode(kv.value, &o))
			continue;
		decoded = true;
		rk->k8s_encoding = kvf_k8s_encoding_name(o.encoding);
		k8s_str(rk->k8s_kind, sizeof(rk->k8s_kind), o.kind);
		if (o.metadata_ok)
			k8s_str(rk->k8s_namespace, sizeof(rk->k8s_namespace), o.namespace_);
		if (!rk->k8s_kind[0] && o.encoding == KVF_K8S_ENCRYPTED)
			snprintf(rk->k8s_kind, sizeof(rk->k8s_kind), "(encrypted)");
		if (!o.metadata_ok)
			namespace_from_key(rk, k->key);
	}
	return KVF_OK;
}

kvf_status kvf_record_files(kvf_record *r, const kvf_diff *d, kvf_err *err)
{
	memset(r, 0, sizeof(*r));
	r->analysed_at = time(NULL);
	r->tool_version = KVF_VERSION;
	kvf_status st = KVF_OK;
	for (size_t i = 0; i < d->n && !st; i++) {
		const kvf_diff_node *nd = &d->nodes[i];
		if (!(st = add_file(r, nd->db_path, (int)i, "db", err)) && nd->wal_dir)
			st = add_wal(r, nd->wal_dir, (int)i, err);
	}
	return st;
}

kvf_status kvf_record_collect(kvf_record *r, const kvf_diff *d, kvf_err *err)
{
	kvf_status st = KVF_OK;
	if (d->n && d->nodes[d->reference].be)
		st = read_members(r, d->nodes[d->reference].be, err);
	if (!st && d->n_keys) {
		if (!(r->keys = calloc(d->n_keys, sizeof(*r->keys))))
			return nomem(err);
		for (size_t k = 0; k < d->n_keys && !st; k++)
			st = key_facts(&r->keys[k], d, &d->keys[k], err);
	}
	return st;
}

static void hash_one(kvf_record_file *f)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(f->error, sizeof(f->error), "%s", strerror(errno));
		return;
	}
	kvf_sha256_ctx c;
	kvf_sha256_init(&c);
	static uint8_t buf[1 << 20];
	uint64_t size = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(f->error, sizeof(f->error), "read at offset %llu: %s", (unsigned long long)size,
			         strerror(errno));
			close(fd);
			return;
		}
		if (n == 0)
			break;
		kvf_sha256_update(&c, buf, (size_t)n);
		size += (uint64_t)n;
	}
	close(fd);
	kvf_sha256_final(&c, f->sha256);
	f->size = size;
	f->hashed = true;
}

void kvf_record_hash_files(kvf_record *r)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (size_t i = 0; i < r->n_files; i++) {
		hash_one(&r->files[i]);
		if (r->files[i].hashed)
			r->bytes_hashed += r->files[i].size;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	r->seconds_hashing = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

void kvf_record_free(kvf_record *r, const kvf_diff *d)
{
	for (size_t i = 0; i < r->n_files; i++)
		free(r->files[i].path);
	free(r->files);
	free(r->members);
	for (size_t k = 0; r->keys && k < d->n_keys; k++)
		free(r->keys[k].offset);
	free(r->keys);
	memset(r, 0, sizeof(*r));
}
