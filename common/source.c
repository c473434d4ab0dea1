#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"

/* Pages are dropped from a streaming mapping in steps of this size: small
 * enough to keep RSS flat, large enough that madvise is not a hot path. */
#define STREAM_DROP_STEP (8u << 20)
/* Inflate in chunks of this size into the gzip window. */
#define GZ_CHUNK (1u << 20)

char *kvf_path_join(const char *a, const char *b)
{
	kvf_buf out = KVF_BUF_INIT;
	size_t la = strlen(a);
	if (!kvf_buf_append(&out, a, la) ||
	    ((la == 0 || a[la - 1] != '/') && !kvf_buf_putc(&out, '/')) ||
	    !kvf_buf_puts(&out, b)) {
		kvf_buf_free(&out);
		return NULL;
	}
	return kvf_buf_detach(&out, NULL);
}

bool kvf_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

kvf_status kvf_open_evidence(const char *path, int *fdp, uint64_t *size, kvf_err *err)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int fd = open(path, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)   /* O_NOATIME needs ownership or CAP_FOWNER */
		fd = open(path, flags);
	if (fd < 0)
		return kvf_err_sys(err, errno, path, "cannot open");
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return kvf_err_sys(err, e, path, "cannot stat");
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return kvf_err_set(err, KVF_E_IO, path, KVF_NO_OFFSET, "%s, not a regular file",
		                   S_ISDIR(st.st_mode) ? "a directory" :
		                   S_ISFIFO(st.st_mode) ? "a FIFO" :
		                   S_ISSOCK(st.st_mode) ? "a socket" : "a device");
	}
	/* Regular files ignore O_NONBLOCK; clear it anyway so zlib sees a plain fd. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fdp = fd;
	*size = (uint64_t)st.st_size;
	return KVF_OK;
}

static bool has_gzip_magic(int fd, uint64_t size)
{
	uint8_t m[2];
	return size >= 2 && pread(fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

static kvf_status map_fd(int fd, uint64_t size, const char *path, void **region, kvf_err *err)
{
	if (size > SIZE_MAX)
		return kvf_err_set(err, KVF_E_UNSUPPORTED, path, KVF_NO_OFFSET,
		                   "file of %llu bytes does not fit the address space",
		                   (unsigned long long)size);
	if (size == 0) {
		*region = NULL;
		return KVF_OK;
	}
	/* MAP_PRIVATE + PROT_READ: nothing can be written back, ever. */
	void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return kvf_err_sys(err, errno, path, "cannot map %llu bytes",
		                   (unsigned long long)size);
	*region = p;
	return KVF_OK;
}

/* Inflate a whole gzip file into anonymous memory that grows with mremap. */
static kvf_status inflate_all(int fd, const char *path, kvf_map *m, kvf_err *err)
{
	int dfd = dup(fd);
	if (dfd < 0)
		return kvf_err_sys(err, errno, path, "dup");
	gzFile gz = gzdopen(dfd, "rb");
	if (!gz) {
		close(dfd);
		return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "gzdopen failed");
	}
	gzbuffer(gz, 1u << 17);
	size_t cap = 1u << 20, len = 0;
	uint8_t *p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	kvf_status st = KVF_OK;
	if (p == MAP_FAILED) {
		gzclose(gz);
		return kvf_err_sys(err, errno, path, "cannot allocate inflate buffer");
	}
	for (;;) {
		if (cap - len < GZ_CHUNK) {
			size_t ncap = cap * 2;
			void *np = mremap(p, cap, ncap, MREMAP_MAYMOVE);
			if (np == MAP_FAILED) {
				st = kvf_err_sys(err, errno, path, "cannot grow inflate buffer past %zu bytes", cap);
				break;
			}
			p = np;
			cap = ncap;
		}
		int n = gzread(gz, p + len, GZ_CHUNK);
		if (n < 0) {
			int zerr;
			const char *msg = gzerror(gz, &zerr);
			st = kvf_err_set(err, KVF_E_CORRUPT, path, len,
			                 "gzip stream damaged after %zu inflated bytes: %s", len, msg);
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	gzclose(gz);
	if (st != KVF_OK) {
		munmap(p, cap);
		return st;
	}
	mprotect(p, cap, PROT_READ);
	m->region = p;
	m->region_len = cap;
	m->data = p;
	m->size = len;
	return KVF_OK;
}

kvf_status kvf_map_open(kvf_map *m, const char *path, kvf_err *err)
{
	memset(m, 0, sizeof(*m));
	int fd;
	uint64_t size;
	kvf_status st = kvf_open_evidence(path, &fd, &size, err);
	if (st)
		return st;
	m->file_size = size;
	if (has_gzip_magic(fd, size)) {
		m->gz = true;
		st = inflate_all(fd, path, m, err);
	} else {
		st = map_fd(fd, size, path, &m->region, err);
		m->region_len = (size_t)size;
		m->data = m->region;
		m->size = size;
	}
	close(fd);   /* the mapping keeps the file alive */
	if (st == KVF_OK && !(m->path = strdup(path))) {
		kvf_map_close(m);
		return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
	}
	return st;
}

void kvf_map_advise_sequential(kvf_map *m)
{
	if (m->region && !m->gz)
		madvise(m->region, m->region_len, MADV_SEQUENTIAL);
}

void kvf_map_close(kvf_map *m)
{
	if (m->region)
		munmap(m->region, m->region_len);
	free(m->path);
	memset(m, 0, sizeof(*m));
}

kvf_status kvf_stream_open(kvf_stream *s, const char *path, kvf_err *err)
{
	memset(s, 0, sizeof(*s));
	int fd;
	uint64_t size;
	kvf_status st = kvf_open_evidence(path, &fd, &size, err);
	if (st)
		return st;
	s->file_size = size;
	if (!(s->path = strdup(path))) {
		close(fd);
		return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "out of memory");
	}
	if (has_gzip_magic(fd, size)) {
		s->is_gz = true;
		gzFile gz = gzdopen(fd, "rb");
		if (!gz) {
			close(fd);
			kvf_stream_close(s);
			return kvf_err_set(err, KVF_E_NOMEM, path, KVF_NO_OFFSET, "gzdopen failed");
		}
		gzbuffer(gz, 1u << 17);
		s->gzf = gz;
		return KVF_OK;
	}
	void *region = NULL;
	st = map_fd(fd, size, path, &region, err);
	close(fd);
	if (st) {
		kvf_stream_close(s);
		return st;
	}
	s->map = region;
	s->map_size = size;
	if (region)
		madvise(region, (size_t)size, MADV_SEQUENTIAL);
	return KVF_OK;
}

bool kvf_stream_size(const kvf_stream *s, uint64_t *size)
{
	if (s->is_gz)
		return false;
	*size = s->map_size;
	return true;
}

static kvf_status gz_read(kvf_stream *s, uint8_t *dst, size_t n, size_t *got, kvf_err *err)
{
	unsigned ask = n > (1u << 30) ? (1u << 30) : (unsigned)n;
	int r = gzread(s->gzf, dst, ask);
	if (r < 0) {
		int zerr;
		const char *msg = gzerror(s->gzf, &zerr);
		return kvf_err_set(err, KVF_E_CORRUPT, s->path, s->win_off + s->win_len,
		                   "gzip stream damaged: %s", msg);
	}
	if (r == 0)
		s->gz_eof = true;
	*got = (size_t)r;
	return KVF_OK;
}

/* The window holds inflated bytes [win_off, win_off + win_len). Bytes before
 * `released` are dropped; everything after it up to the furthest request is
 * kept, so a reader may look ahead and come back. */
static kvf_status gz_fill(kvf_stream *s, uint64_t off, size_t want, kvf_err *err)
{
	kvf_status st;
	size_t got = 0;
	if (s->released > s->win_off) {
		uint64_t drop = s->released - s->win_off;
		if (drop >= s->win_len) {
			s->win_off += s->win_len;
			s->win_len = 0;
		} else {
			memmove(s->win, s->win + drop, s->win_len - (size_t)drop);
			s->win_len -= (size_t)drop;
			s->win_off = s->released;
		}
	}
	/* Inflate and discard what lies between the window and `released`. */
	while (!s->gz_eof && s->win_len == 0 && s->win_off < s->released) {
		if (s->win_cap < GZ_CHUNK) {
			uint8_t *nw = realloc(s->win, GZ_CHUNK);
			if (!nw)
				return kvf_err_set(err, KVF_E_NOMEM, s->path, off, "out of memory");
			s->win = nw;
			s->win_cap = GZ_CHUNK;
		}
		uint64_t gap = s->released - s->win_off;
		if ((st = gz_read(s, s->win, gap < GZ_CHUNK ? (size_t)gap : GZ_CHUNK, &got, err)))
			return st;
		s->win_off += got;
	}
	uint64_t upto;
	if (__builtin_add_overflow(off, (uint64_t)want, &upto))
		upto = UINT64_MAX;
	while (!s->gz_eof && s->win_off + s->win_len < upto) {
		uint64_t need64 = upto - (s->win_off + s->win_len);
		size_t need = need64 < GZ_CHUNK ? GZ_CHUNK : need64 > (1u << 30) ? (1u << 30) : (size_t)need64;
		size_t cap;
		if (!kvf_add_ok(s->win_len, need, &cap))
			return kvf_err_set(err, KVF_E_NOMEM, s->path, off, "window too large");
		if (cap > s->win_cap) {
			uint8_t *nw = realloc(s->win, cap);
			if (!nw)
				return kvf_err_set(err, KVF_E_NOMEM, s->path, off,
				                   "cannot buffer %zu bytes", cap);
			s->win = nw;
			s->win_cap = cap;
		}
		if ((st = gz_read(s, s->win + s->win_len, need, &got, err)))
			return st;
		s->win_len += got;
	}
	return KVF_OK;
}

kvf_status kvf_stream_get(kvf_stream *s, uint64_t off, size_t want,
                          const uint8_t **p, size_t *got, kvf_err *err)
{
	if (!s->is_gz) {
		if (off >= s->map_size) {
			*p = NULL;
			*got = 0;
			return KVF_OK;
		}
		uint64_t avail = s->map_size - off;
		*p = s->map + off;
		*got = avail < want ? (size_t)avail : want;
		return KVF_OK;
	}
	if (off < s->released)
		return kvf_err_set(err, KVF_E_USAGE, s->path, off,
		                   "internal: stream read before its release point (%llu)",
		                   (unsigned long long)s->released);
	kvf_status st = gz_fill(s, off, want, err);
	if (st)
		return st;
	if (off >= s->win_off + s->win_len) {
		*p = NULL;
		*got = 0;
		return KVF_OK;
	}
	size_t at = (size_t)(off - s->win_off);
	size_t avail = s->win_len - at;
	*p = s->win + at;
	*got = avail < want ? avail : want;
	return KVF_OK;
}

void kvf_stream_release(kvf_stream *s, uint64_t off)
{
	if (off > s->released)
		s->released = off;
	if (s->is_gz || !s->map)
		return;
	if (off > s->map_size)
		off = s->map_size;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t upto = off / page * page;
	if (upto < s->dropped + STREAM_DROP_STEP)
		return;
	/* Our mapping is private and read-only: dropping pages loses nothing,
	 * it only returns them to the page cache. */
	madvise((void *)(s->map + s->dropped), (size_t)(upto - s->dropped), MADV_DONTNEED);
	s->dropped = upto;
}

void kvf_stream_close(kvf_stream *s)
{
	if (s->map)
		munmap((void *)s->map, (size_t)s->map_size);
	if (s->gzf)
		gzclose(s->gzf);
	free(s->win);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static char *existing(const char *base, const char *rel, bool want_dir)
{
	char *p = kvf_path_join(base, rel);
	struct stat st;
	if (p && stat(p, &st) == 0 && (want_dir ? S_ISDIR(st.st_mode) : !S_ISDIR(st.st_mode)))
		return p;
	free(p);
	return NULL;
}

kvf_status kvf_path_classify(const char *path, kvf_path_kind *kind, kvf_datadir *dd, kvf_err *err)
{
	memset(dd, 0, sizeof(*dd));
	struct stat st;
	if (stat(path, &st) != 0) {
		*kind = KVF_PATH_MISSING;
		return kvf_err_sys(err, errno, path, "cannot stat");
	}
	if (S_ISREG(st.st_mode)) {
		*kind = KVF_PATH_FILE;
		return KVF_OK;
	}
	if (!S_ISDIR(st.st_mode)) {
		*kind = KVF_PATH_OTHER;
		return KVF_OK;
	}
	*kind = KVF_PATH_DIR;
	char *member = existing(path, "member", true);
	if (!member) {
		/* the member directory itself? */
		char *w = existing(path, "wal", true), *s = existing(path, "snap", true);
		if (w || s)
			member = strdup(path);
		free(w);
		free(s);
	}
	if (!member)
		return KVF_OK;
	*kind = KVF_PATH_DATADIR;
	dd->member_dir = member;
	dd->wal_dir = existing(member, "wal", true);
	dd->snap_dir = existing(member, "snap", true);
	dd->db_path = dd->snap_dir ? existing(dd->snap_dir, "db", false) : NULL;
	return KVF_OK;
}

void kvf_datadir_free(kvf_datadir *dd)
{
	free(dd->member_dir);
	free(dd->wal_dir);
	free(dd->snap_dir);
	free(dd->db_path);
	memset(dd, 0, sizeof(*dd));
}
