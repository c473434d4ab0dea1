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
	}
	/* kind and namespace as the text and JSON name the object (k8sdiff.h:
	 * the value's, else the key's layout) */
	size_t ki = (size_t)(k - d->keys);
	const kvf_k8s_ref *ref = d->objects.ref && ki < d->n_keys ? &d->objects.ref[ki] : NULL;
	if (ref && ref->listed) {
		k8s_str(rk->k8s_kind, sizeof(rk->k8s_kind), ref->kind);
		k8s_str(rk->k8s_namespace, sizeof(rk->k8s_namespace), ref->namespace_);
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
	/* where the db has no name or client URLs, the WAL's publish requests
	 * may (the v2 store's copy of them: etcd 3.4, 3.5.2) */
	for (size_t i = 0; i < r->n_members && !st; i++) {
		kvf_record_member *m = &r->members[i];
		for (size_t k = 0; k < d->n_wal_attrs; k++) {
			const struct kvf_wal_member_attrs *a = &d->wal_attrs[k];
			if (a->id != m->id)
				continue;
			if (!m->client_urls[0])
				copy_str(m->client_urls, sizeof(m->client_urls), a->client_urls);
			if (!m->name[0])
				copy_str(m->name, sizeof(m->name), a->name);
		}
	}
	if (!st && d->n_keys) {
		if (!(r->keys = calloc(d->n_keys, sizeof(*r->keys))))
			return nomem(err);
		for (size_t k = 0; k < d->n_keys && !st; k++)
			st = key_facts(&r->keys[k], d, &d->keys[k], err);
	}
	return st;
}

/* Hashing. Two files at a time, side by side in one thread
 * (kvf_sha256_update2: nearly twice the bytes a second of one after the
 * other), and a file whose bytes equal an earlier file's takes that file's
 * digest: copies of one member taken seconds apart share most of their WAL
 * segments, and comparing costs a fraction of hashing. */
enum { HASH_CHUNK = 1 << 20 };   /* a multiple of the 64-byte block */

typedef struct hash_lane {
	kvf_record_file *f;        /* NULL: idle */
	int fd;
	kvf_sha256_ctx c;
	uint8_t *buf;
	size_t off, len;           /* bytes of buf not hashed yet */
	uint64_t size;             /* read so far */
} hash_lane;

/* read() until n bytes or the end of the file: so every chunk but the last
 * is whole, and the digests stay block-aligned. -1 with errno on error. */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void lane_open(hash_lane *l, kvf_record_file *f)
{
	l->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0) {
		snprintf(f->error, sizeof(f->error), "%s", strerror(errno));
		return;
	}
	l->f = f;
	l->off = l->len = 0;
	l->size = 0;
	kvf_sha256_init(&l->c);
}

/* Refills an empty lane; at the end of its file records the digest and
 * leaves the lane idle, as it does on a read error (noted in the file). */
static void lane_fill(hash_lane *l)
{
	ssize_t n = read_full(l->fd, l->buf, HASH_CHUNK);
	if (n > 0) {
		l->off = 0;
		l->len = (size_t)n;
		l->size += (uint64_t)n;
		return;
	}
	if (n < 0)
		snprintf(l->f->error, sizeof(l->f->error), "read at offset %llu: %s", (unsigned long long)l->size,
		         strerror(errno));
	else {
		kvf_sha256_final(&l->c, l->f->sha256);
		l->f->size = l->size;
		l->f->hashed = true;
	}
	close(l->fd);
	l->f = NULL;
}

static void lane_take(hash_lane *l, size_t n)
{
	l->off += n;
	l->len -= n;
}

/* True when the two files hold the same bytes (the same file, or equal
 * sizes and contents); a difference usually shows in the first chunk. */
static bool same_bytes(const char *pa, const struct stat *sa, const char *pb, const struct stat *sb, uint8_t *ba,
                       uint8_t *bb)
{
	if (!S_ISREG(sa->st_mode) || !S_ISREG(sb->st_mode) || sa->st_size != sb->st_size)
		return false;
	if (sa->st_dev == sb->st_dev && sa->st_ino == sb->st_ino)
		return true;
	int fa = open(pa, O_RDONLY | O_CLOEXEC), fb = fa < 0 ? -1 : open(pb, O_RDONLY | O_CLOEXEC);
	bool same = fa >= 0 && fb >= 0;
	while (same) {
		ssize_t na = read_full(fa, ba, HASH_CHUNK), nb = read_full(fb, bb, HASH_CHUNK);
		if (na < 0 || na != nb || memcmp(ba, bb, (size_t)na) != 0)
			same = false;
		else if (na == 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

static void hash_all(kvf_record *r, uint8_t *bufs)
{
	size_t n = r->n_files;
	size_t *copy_of = malloc(n * sizeof(*copy_of));   /* SIZE_MAX: hash it */
	struct stat *st = calloc(n, sizeof(*st));
	if (!copy_of || !st) {
		free(copy_of);
		free(st);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		copy_of[i] = SIZE_MAX;
		if (stat(r->files[i].path, &st[i]) != 0)
			st[i].st_mode = 0;   /* not compared; lane_open says why */
		for (size_t j = 0; j < i && copy_of[i] == SIZE_MAX; j++)
			if (copy_of[j] == SIZE_MAX &&
			    same_bytes(r->files[j].path, &st[j], r->files[i].path, &st[i], bufs, bufs + HASH_CHUNK))
				copy_of[i] = j;
	}
	free(st);
	hash_lane lane[2] = { { .buf = bufs }, { .buf = bufs + HASH_CHUNK } };
	size_t next = 0;
	for (;;) {
		for (int k = 0; k < 2; k++) {
			while (!lane[k].f && next < n) {
				size_t i = next++;
				if (copy_of[i] == SIZE_MAX)
					lane_open(&lane[k], &r->files[i]);
			}
			if (lane[k].f && lane[k].len == 0)
				lane_fill(&lane[k]);
		}
		hash_lane *a = &lane[0], *b = &lane[1];
		if (!a->f && !b->f) {
			if (next == n)
				break;
			continue;
		}
		if (a->f && b->f) {
			size_t m = (a->len < b->len ? a->len : b->len) & ~(size_t)63;
			if (m) {
				kvf_sha256_update2(&a->c, a->buf + a->off, &b->c, b->buf + b->off, m);
				lane_take(a, m);
				lane_take(b, m);
				continue;
			}
			/* one holds its file's last bytes, under a block: alone */
			if (b->len < a->len)
				a = b;
		} else if (!a->f) {
			a = b;
		}
		kvf_sha256_update(&a->c, a->buf + a->off, a->len);
		lane_take(a, a->len);
	}
	for (size_t i = 0; i < n; i++) {
		kvf_record_file *f = &r->files[i], *src = copy_of[i] == SIZE_MAX ? NULL : &r->files[copy_of[i]];
		if (src && src->hashed) {
			memcpy(f->sha256, src->sha256, sizeof(f->sha256));
			f->size = src->size;
			f->hashed = true;
			r->bytes_compared += f->size;
		} else if (src) {   /* the original could not be read after all: on its own */
			hash_lane l = { .buf = bufs };
			lane_open(&l, f);
			while (l.f) {
				lane_fill(&l);
				if (l.f) {
					kvf_sha256_update(&l.c, l.buf, l.len);
					lane_take(&l, l.len);
				}
			}
		}
	}
	free(copy_of);
}

void kvf_record_hash_files(kvf_record *r)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint8_t *bufs = malloc(2 * (size_t)HASH_CHUNK);
	if (bufs)
		hash_all(r, bufs);
	free(bufs);
	for (size_t i = 0; i < r->n_files; i++) {
		if (!bufs && !r->files[i].error[0])
			snprintf(r->files[i].error, sizeof(r->files[i].error), "out of memory");
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
