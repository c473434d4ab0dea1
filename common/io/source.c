#include "io/source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/buf.h"

/* A plain stream reads this much at a time: measured on the bench WAL
 * (bench/), 256 KiB reads beat 64 KiB (syscalls) and 1 MiB (the buffer
 * falls out of the L2 cache before the CRC reads it). */
#define STREAM_CHUNK (256u << 10)
/* Inflate in chunks of this size into the gzip window. */
#define GZ_CHUNK (1u << 20)
/* A window grown for one large frame shrinks back once it is this much
 * larger than what is asked for. */
#define WIN_SLACK 4

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
		if (n == 0) {
			/* zlib reports a stream cut short (no end block, no CRC/ISIZE
			 * trailer) only through gzerror, with Z_BUF_ERROR: without this
			 * check a truncated .gz reads as a short, clean file. */
			int zerr;
			const char *msg = gzerror(gz, &zerr);
			if (zerr != Z_OK)
				st = kvf_err_set(err, KVF_E_TRUNCATED, path, len,
				                 "gzip stream ends early after %zu inflated bytes: %s", len, msg);
			break;
		}
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
	s->fd = -1;
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
	s->fd = fd;
	/* we read front to back: let the kernel read ahead generously */
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return KVF_OK;
}

bool kvf_stream_size(const kvf_stream *s, uint64_t *size)
{
	if (s->is_gz)
		return false;
	*size = s->file_size;
	return true;
}

uint64_t kvf_stream_next_data(const kvf_stream *s, uint64_t off)
{
	if (s->is_gz || s->fd < 0 || off >= s->file_size)
		return off;
	/* bytes already in the window are known; the hole question is about the rest */
	if (off < s->win_off + s->win_len)
		return off;
	off_t d = lseek(s->fd, (off_t)off, SEEK_DATA);
	if (d < 0)
		return errno == ENXIO ? s->file_size : off;   /* ENXIO: a hole to the end */
	return (uint64_t)d > off ? (uint64_t)d : off;
}

/* Room for `need` bytes in the window (its content is kept). A window that
 * grew for one large frame is given back once requests are small again. */
static kvf_status win_reserve(kvf_stream *s, size_t need, size_t chunk, uint64_t off, kvf_err *err)
{
	size_t want = need > chunk ? need : chunk;
	if (want >= s->win_len && s->win_cap / WIN_SLACK > want) {
		uint8_t *nw = realloc(s->win, want);
		if (nw) {
			s->win = nw;
			s->win_cap = want;
		}
	}
	if (need <= s->win_cap)
		return KVF_OK;
	uint8_t *nw = realloc(s->win, want);
	if (!nw)
		return kvf_err_set(err, KVF_E_NOMEM, s->path, off, "cannot buffer %zu bytes", want);
	s->win = nw;
	s->win_cap = want;
	return KVF_OK;
}

/* Drop the window's bytes before `from` (they are not asked for again). */
static void win_drop_before(kvf_stream *s, uint64_t from)
{
	if (from <= s->win_off)
		return;
	uint64_t drop = from - s->win_off;
	if (drop >= s->win_len) {
		s->win_off += s->win_len;
		s->win_len = 0;
	} else {
		memmove(s->win, s->win + drop, s->win_len - (size_t)drop);
		s->win_len -= (size_t)drop;
		s->win_off = from;
	}
}

/* Plain file: the window restarts at `off` (anything at or after the
 * release point can be read again) and holds [off, upto) when the file has
 * it, reading at least STREAM_CHUNK to keep the calls few. */
static kvf_status plain_fill(kvf_stream *s, uint64_t off, uint64_t upto, kvf_err *err)
{
	if (off < s->win_off || off > s->win_off + s->win_len) {
		s->win_off = off;
		s->win_len = 0;
	} else {
		win_drop_before(s, off);
	}
	if (upto > s->file_size)
		upto = s->file_size;
	uint64_t have = s->win_off + s->win_len;
	if (have >= upto)
		return KVF_OK;
	uint64_t need64 = upto - off;
	if (need64 > SIZE_MAX / 2)
		return kvf_err_set(err, KVF_E_NOMEM, s->path, off, "window too large");
	size_t need = (size_t)need64, target = need;
	if (target < STREAM_CHUNK)
		target = (size_t)(s->file_size - off < STREAM_CHUNK ? s->file_size - off : STREAM_CHUNK);
	kvf_status st = win_reserve(s, target, STREAM_CHUNK, off, err);
	if (st)
		return st;
	while (s->win_len < target) {
		ssize_t r = pread(s->fd, s->win + s->win_len, target - s->win_len,
		                  (off_t)(s->win_off + s->win_len));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return kvf_err_sys(err, errno, s->path, "read error at offset %llu",
			                   (unsigned long long)(s->win_off + s->win_len));
		if (r == 0) {
			/* the file shrank under us: it ends here */
			s->file_size = s->win_off + s->win_len;
			break;
		}
		s->win_len += (size_t)r;
	}
	return KVF_OK;
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
	if (r == 0) {
		/* A stream cut short is only visible through gzerror (Z_BUF_ERROR,
		 * "unexpected end of file"). Everything inflated before the cut has
		 * been served; the content ends here, and the reader is told it
		 * was cut (kvf_stream_truncated) rather than that it ended. */
		int zerr;
		const char *msg = gzerror(s->gzf, &zerr);
		if (zerr != Z_OK && !s->truncated) {
			s->truncated = true;
			s->truncated_at = s->win_off + s->win_len;
			/* zlib names a gzdopen'd file "<fd:N>": drop that */
			const char *colon = msg && msg[0] == '<' ? strstr(msg, ">: ") : NULL;
			snprintf(s->truncated_why, sizeof(s->truncated_why), "%s",
			         colon ? colon + 3 : msg ? msg : "?");
		}
		s->eof = true;
	}
	*got = (size_t)r;
	return KVF_OK;
}

/* gzip: the window keeps every inflated byte from the release point up to
 * the furthest request, so a reader may look ahead and come back; the
 * stream cannot seek back. */
static kvf_status gz_fill(kvf_stream *s, uint64_t off, uint64_t upto, kvf_err *err)
{
	kvf_status st;
	size_t got = 0;
	win_drop_before(s, s->released);
	/* Inflate and discard what lies between the window and `released`. */
	while (!s->eof && s->win_len == 0 && s->win_off < s->released) {
		if ((st = win_reserve(s, GZ_CHUNK, GZ_CHUNK, off, err)))
			return st;
		uint64_t gap = s->released - s->win_off;
		if ((st = gz_read(s, s->win, gap < GZ_CHUNK ? (size_t)gap : GZ_CHUNK, &got, err)))
			return st;
		s->win_off += got;
	}
	while (!s->eof && s->win_off + s->win_len < upto) {
		uint64_t need64 = upto - (s->win_off + s->win_len);
		size_t need = need64 < GZ_CHUNK ? GZ_CHUNK : need64 > (1u << 30) ? (1u << 30) : (size_t)need64;
		size_t cap;
		if (!kvf_add_ok(s->win_len, need, &cap))
			return kvf_err_set(err, KVF_E_NOMEM, s->path, off, "window too large");
		if ((st = win_reserve(s, cap, GZ_CHUNK, off, err)))
			return st;
		if ((st = gz_read(s, s->win + s->win_len, need, &got, err)))
			return st;
		s->win_len += got;
	}
	return KVF_OK;
}

kvf_status kvf_stream_get(kvf_stream *s, uint64_t off, size_t want,
                          const uint8_t **p, size_t *got, kvf_err *err)
{
	if (off < s->released)
		return kvf_err_set(err, KVF_E_USAGE, s->path, off,
		                   "internal: stream read before its release point (%llu)",
		                   (unsigned long long)s->released);
	uint64_t upto;
	if (__builtin_add_overflow(off, (uint64_t)want, &upto))
		upto = UINT64_MAX;
	uint64_t win_end = s->win_off + s->win_len;
	/* nothing lies past the end: a request running over it is served by
	 * the window as it is */
	if (!s->is_gz && upto > s->file_size)
		upto = s->file_size;
	else if (s->is_gz && s->eof && upto > win_end)
		upto = win_end;
	/* the common case: a frame inside the window */
	if (!(off >= s->win_off && upto <= win_end)) {
		kvf_status st = s->is_gz ? gz_fill(s, off, upto, err) : plain_fill(s, off, upto, err);
		if (st)
			return st;
		win_end = s->win_off + s->win_len;
	}
	if (off >= win_end || off < s->win_off) {
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

bool kvf_stream_truncated(const kvf_stream *s, uint64_t *at)
{
	if (s->truncated && at)
		*at = s->truncated_at;
	return s->truncated;
}

void kvf_stream_release(kvf_stream *s, uint64_t off)
{
	if (off > s->released)
		s->released = off;
}

void kvf_stream_close(kvf_stream *s)
{
	if (s->path && !s->is_gz && s->fd >= 0)
		close(s->fd);
	if (s->gzf)
		gzclose(s->gzf);
	free(s->win);
	free(s->path);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
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

const char *kvf_leftover_kind_name(kvf_leftover_kind k)
{
	switch (k) {
	case KVF_LEFTOVER_SNAP_DB: return "a leader's db snapshot received and never applied";
	case KVF_LEFTOVER_DEFRAG_TMP: return "the copy of an interrupted defragmentation";
	case KVF_LEFTOVER_SNAP_TMP: return "a leader's db snapshot being received (incomplete)";
	}
	return "?";
}

const char *kvf_leftover_kind_id(kvf_leftover_kind k)
{
	switch (k) {
	case KVF_LEFTOVER_SNAP_DB: return "snap_db";
	case KVF_LEFTOVER_DEFRAG_TMP: return "defrag_tmp";
	case KVF_LEFTOVER_SNAP_TMP: return "snap_tmp";
	}
	return "?";
}

/* %016x.snap.db (snap/db.go dbFilePath): the index in the name */
static bool snap_db_name(const char *name, uint64_t *index)
{
	if (strlen(name) != 16 + 8 || strcmp(name + 16, ".snap.db") != 0)
		return false;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*index = v;
	return true;
}

static int cmp_leftover(const void *a, const void *b)
{
	return strcmp(((const kvf_leftover *)a)->name, ((const kvf_leftover *)b)->name);
}

/* The leftovers of member/snap (regular files only; a name that only looks
 * like one, a directory say, is not reported). */
static kvf_status find_leftovers(kvf_datadir *dd, kvf_err *err)
{
	DIR *d = opendir(dd->snap_dir);
	if (!d)
		return KVF_OK;   /* unreadable: whatever reads the db there says why */
	size_t cap = 0;
	kvf_status st = KVF_OK;
	struct dirent *de;
	while (st == KVF_OK && (de = readdir(d))) {
		const char *n = de->d_name;
		kvf_leftover lo = { 0 };
		if (snap_db_name(n, &lo.snap_index))
			lo.kind = KVF_LEFTOVER_SNAP_DB;
		else if (strncmp(n, "db.tmp", 6) == 0)
			lo.kind = KVF_LEFTOVER_DEFRAG_TMP;
		else if (strncmp(n, "tmp", 3) == 0)
			lo.kind = KVF_LEFTOVER_SNAP_TMP;
		else
			continue;
		char *p = kvf_path_join(dd->snap_dir, n);
		struct stat sb;
		if (!p) {
			st = kvf_err_set(err, KVF_E_NOMEM, dd->snap_dir, KVF_NO_OFFSET, "out of memory");
			break;
		}
		if (lstat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			free(p);
			continue;
		}
		if (!kvf_grow_array((void **)&dd->leftovers, &cap, dd->n_leftovers, sizeof(*dd->leftovers))) {
			free(p);
			st = kvf_err_set(err, KVF_E_NOMEM, dd->snap_dir, KVF_NO_OFFSET, "out of memory");
			break;
		}
		lo.path = p;
		lo.name = strrchr(p, '/') + 1;
		lo.size = (uint64_t)sb.st_size;
		lo.mtime = (int64_t)sb.st_mtime;
		dd->leftovers[dd->n_leftovers++] = lo;
	}
	closedir(d);
	if (dd->n_leftovers > 1)
		qsort(dd->leftovers, dd->n_leftovers, sizeof(*dd->leftovers), cmp_leftover);
	return st;
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
	if (dd->snap_dir)
		return find_leftovers(dd, err);
	return KVF_OK;
}

void kvf_datadir_free(kvf_datadir *dd)
{
	free(dd->member_dir);
	free(dd->wal_dir);
	free(dd->snap_dir);
	free(dd->db_path);
	for (size_t i = 0; i < dd->n_leftovers; i++)
		free(dd->leftovers[i].path);
	free(dd->leftovers);
	memset(dd, 0, sizeof(*dd));
}
