/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The content cache of boot artifacts: hashing, atomic files, the stat index. */
#include "boot_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/io.h"
#include "../base/cleanup.h"

#define INDEX_MAGIC "husk-vm-index 1\n"

uint64_t boot_hash(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t boot_hash_str(uint64_t h, const char *s)
{
	return boot_hash(h, s, strlen(s) + 1);
}

int boot_read_file(const char *path, char **data, size_t *len, husk_error **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return husk_fail(err, errno, "read `%s`", path);
	if (!S_ISREG(st.st_mode))
		return husk_fail(err, 0, "read `%s`: not a regular file", path);
	size_t cap = (size_t)st.st_size + 1, n = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return husk_fail(err, ENOMEM, "read `%s`", path);
	for (;;) {
		if (n + 1 == cap) { /* the file grew while we read it */
			char *bigger = realloc(buf, cap *= 2);
			if (!bigger)
				return husk_fail(err, ENOMEM, "read `%s`", path);
			buf = bigger;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return husk_fail(err, errno, "read `%s`", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*data = TAKE_PTR(buf);
	*len = n;
	return 0;
}


int boot_write_atomic(const char *dir, const char *name, const void *data, size_t len,
		      husk_error **err)
{
	_cleanup_free_ char *tmp = NULL, *dst = NULL;
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0 || asprintf(&dst, "%s/%s", dir, name) < 0)
		abort();
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return husk_fail(err, errno, "create a file in `%s`", dir);
	/* fsync before rename: after a crash the name holds all of it or nothing. */
	if (io_write_all(fd, data, len) < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0 ||
	    rename(tmp, dst) < 0) {
		int e = errno;
		unlink(tmp);
		return husk_fail(err, e, "write `%s`", dst);
	}
	return 0;
}

/* "dev ino size mtime.nsec" of a path; "-" when it cannot be stat'ed, so
 * a file appearing later is a change too. */
static void stat_key(const char *path, char *key, size_t size)
{
	struct stat st;
	if (stat(path, &st) < 0)
		snprintf(key, size, "-");
	else
		snprintf(key, size, "%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 ".%09ld",
			 (uint64_t)st.st_dev, (uint64_t)st.st_ino, (int64_t)st.st_size,
			 (int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

int boot_mkdir_p(const char *path, husk_error **err)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		abort();
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return husk_fail(err, errno, "create `%s`", p);
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return husk_fail(err, errno, "create `%s`", p);
	return 0;
}

int boot_cache_lock(const char *dir, husk_error **err)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/.lock", dir) < 0)
		abort();
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return husk_fail(err, errno, "open `%s`", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return husk_fail(err, errno, "lock `%s`", path);
	return TAKE_FD(fd);
}

int boot_index_add_in(struct boot_index *ix, const char *path)
{
	if (ix->n_in == BOOT_INDEX_MAX_IN || strchr(path, '\n'))
		return -1;
	stat_key(path, ix->key[ix->n_in], sizeof(ix->key[0]));
	if (!(ix->in[ix->n_in++] = strdup(path)))
		abort();
	return 0;
}

int boot_index_add_out(struct boot_index *ix, const char *value)
{
	if (ix->n_out == BOOT_INDEX_MAX_OUT || strchr(value, '\n'))
		return -1;
	if (!(ix->out[ix->n_out++] = strdup(value)))
		abort();
	return 0;
}

void boot_index_clear(struct boot_index *ix)
{
	for (size_t i = 0; i < ix->n_in; i++)
		free(ix->in[i]);
	for (size_t i = 0; i < ix->n_out; i++)
		free(ix->out[i]);
	ix->n_in = ix->n_out = 0;
}

/* One "in KEY\tPATH" line: the key still holds for the path. */
static bool in_line_holds(char *line, struct boot_index *ix)
{
	char *tab = strchr(line, '\t');
	if (!tab)
		return false;
	*tab = '\0';
	return boot_index_add_in(ix, tab + 1) == 0 && strcmp(ix->key[ix->n_in - 1], line) == 0;
}

static bool out_line_exists(const char *cache_dir, const char *value)
{
	/* Outputs that look like cache file names must still be there. */
	if (strncmp(value, "vmlinux-", 8) && strncmp(value, "initrd-", 7))
		return true;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", cache_dir, value);
	return access(path, R_OK) == 0;
}

int boot_index_lookup(const char *cache_dir, const char *name, struct boot_index *ix)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", cache_dir, name);
	_cleanup_free_ char *data = NULL;
	size_t len;
	if (boot_read_file(path, &data, &len, NULL) < 0 || strlen(data) != len ||
	    strncmp(data, INDEX_MAGIC, strlen(INDEX_MAGIC)))
		return 0;
	char *save = NULL;
	for (char *l = strtok_r(data + strlen(INDEX_MAGIC), "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		bool ok = false;
		if (!strncmp(l, "in ", 3))
			ok = in_line_holds(l + 3, ix);
		else if (!strncmp(l, "out ", 4))
			ok = out_line_exists(cache_dir, l + 4) && boot_index_add_out(ix, l + 4) == 0;
		if (!ok) {
			boot_index_clear(ix);
			return 0;
		}
	}
	return 1;
}

int boot_index_store(const char *cache_dir, const char *name, const struct boot_index *ix,
		     husk_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	_cleanup_fclose_ FILE *f = open_memstream(&text, &size);
	if (!f)
		abort();
	fputs(INDEX_MAGIC, f);
	for (size_t i = 0; i < ix->n_in; i++)
		fprintf(f, "in %s\t%s\n", ix->key[i], ix->in[i]);
	for (size_t i = 0; i < ix->n_out; i++)
		fprintf(f, "out %s\n", ix->out[i]);
	if (fflush(f) != 0)
		abort();
	return boot_write_atomic(cache_dir, name, text, size, err);
}
