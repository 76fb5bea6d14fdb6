/* SPDX-License-Identifier: MIT */
/*
 * fs_crash: capture a file system tree (every entry's attributes and
 * contents, free counts) without exiting on errors, since a recovered image
 * may be damaged, and compare two captures, allowing torn bytes where an
 * unsynced in-place overwrite may have left them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fs_crash.h"

static int fail(int err, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(why, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		snprintf(why + n, len - n, ": %d (%s)", err, udax_fs_last_error());
	return err < 0 ? err : -EIO;
}

static int add(struct cs_state *st, size_t *cap, const char *path,
	       const struct udax_stat *s)
{
	struct cs_ent *e;

	if (st->n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		e = realloc(st->e, *cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		st->e = e;
	}
	e = &st->e[st->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	if (!e->path)
		return -ENOMEM;
	st->n++;
	e->ino = s->ino;
	e->mode = s->mode;
	e->nlink = s->nlink;
	e->uid = s->uid;
	e->gid = s->gid;
	e->size = s->size;
	e->blocks = s->blocks;
	e->rdev = s->rdev;
	e->atime = s->atime.tv_sec * 1000000000ll + s->atime.tv_nsec;
	e->mtime = s->mtime.tv_sec * 1000000000ll + s->mtime.tv_nsec;
	return 0;
}

static int read_all(struct udax_fs *fs, struct cs_ent *e, char *why, size_t len)
{
	struct udax_file *f;
	ssize_t r;
	int ret;

	e->data = malloc(e->size + 1);
	if (!e->data)
		return -ENOMEM;
	ret = udax_open(fs, e->path, O_RDONLY, 0, &f);
	if (ret)
		return fail(ret, why, len, "open %s", e->path);
	r = udax_pread(f, e->data, e->size, 0);
	udax_close(&f);
	if (r != (ssize_t)e->size)
		return fail((int)r, why, len, "read %s: %zd of %llu bytes", e->path,
			    r, (unsigned long long)e->size);
	return 0;
}

/* A symbolic link's target as its data. */
static int read_link(struct udax_fs *fs, struct cs_ent *e, char *why, size_t len)
{
	ssize_t r;

	e->data = malloc(e->size + 1);
	if (!e->data)
		return -ENOMEM;
	r = udax_readlink(fs, e->path, (char *)e->data, e->size + 1);
	if (r != (ssize_t)e->size)
		return fail(r < 0 ? (int)r : -EUCLEAN, why, len,
			    "readlink %s: %zd of %llu bytes", e->path, r,
			    (unsigned long long)e->size);
	return 0;
}

/* Every extended attribute, as listed: the names, then each value with
 * its length (links: none through a path, which follows them). */
static int read_xattrs(struct udax_fs *fs, struct cs_ent *e, char *why,
		       size_t len)
{
	char names[4096];
	ssize_t n = udax_listxattr(fs, e->path, names, sizeof(names));
	size_t at;

	if (n < 0)
		return fail((int)n, why, len, "listxattr %s", e->path);
	e->xattr = malloc((size_t)n + 4096 * 2);
	if (!e->xattr)
		return -ENOMEM;
	memcpy(e->xattr, names, (size_t)n);
	at = (size_t)n;
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		ssize_t v = udax_getxattr(fs, e->path, p, e->xattr + at + 2, 4096);

		if (v < 0)
			return fail((int)v, why, len, "getxattr %s %s", e->path, p);
		e->xattr[at] = (uint8_t)v;
		e->xattr[at + 1] = (uint8_t)(v >> 8);
		at += 2 + (size_t)v;
	}
	e->xlen = at;
	return 0;
}

static int walk(struct udax_fs *fs, const char *dir, struct cs_state *st,
		size_t *cap, char *why, size_t len)
{
	struct udax_dirent de;
	struct udax_dir *d;
	int ret, r;

	ret = udax_opendir(fs, dir, &d);
	if (ret)
		return fail(ret, why, len, "opendir %s", dir);
	while ((r = udax_readdir(d, &de)) > 0) {
		char p[4096];
		struct udax_stat s;

		snprintf(p, sizeof(p), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
			 de.name);
		ret = udax_lstat(fs, p, &s);
		if (ret)
			break;
		if (s.ino != de.ino || de.type != (s.mode & S_IFMT) >> 12) {
			ret = fail(-EUCLEAN, why, len, "%s: entry says ino %u type %u, "
				   "inode %u mode %o", p, de.ino, de.type, s.ino, s.mode);
			udax_closedir(&d);
			return ret;
		}
		ret = add(st, cap, p, &s);
		if (!ret && S_ISREG(s.mode))
			ret = read_all(fs, &st->e[st->n - 1], why, len);
		if (!ret && S_ISLNK(s.mode))
			ret = read_link(fs, &st->e[st->n - 1], why, len);
		if (!ret && !S_ISLNK(s.mode))
			ret = read_xattrs(fs, &st->e[st->n - 1], why, len);
		if (!ret && S_ISDIR(s.mode))
			ret = walk(fs, p, st, cap, why, len);
		if (ret) {
			udax_closedir(&d);
			return ret;
		}
	}
	udax_closedir(&d);
	if (r < 0)
		return fail(r, why, len, "readdir %s", dir);
	return ret ? fail(ret, why, len, "stat in %s", dir) : 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct cs_ent *)a)->path, ((const struct cs_ent *)b)->path);
}

int cs_capture_at(struct udax_fs *fs, const char *dir, struct cs_state *st,
		  char *why, size_t len)
{
	struct udax_stat s;
	size_t cap = 0;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = udax_stat(fs, dir, &s);
	if (ret)
		return fail(ret, why, len, "stat %s", dir);
	ret = add(st, &cap, dir, &s);
	if (!ret)
		ret = walk(fs, dir, st, &cap, why, len);
	if (ret)
		return ret;
	qsort(st->e, st->n, sizeof(*st->e), by_path);
	return 0;
}

int cs_capture(struct udax_fs *fs, struct cs_state *st, char *why, size_t len)
{
	struct udax_statfs sf;
	int ret;

	ret = cs_capture_at(fs, "/", st, why, len);
	if (ret)
		return ret;
	ret = udax_statfs(fs, &sf);
	if (ret)
		return fail(ret, why, len, "statfs");
	st->blocks_free = sf.blocks_free;
	st->inodes_free = sf.inodes_free;
	return 0;
}

void cs_free(struct cs_state *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->e[i].path);
		free(st->e[i].data);
		free(st->e[i].xattr);
	}
	free(st->e);
	memset(st, 0, sizeof(*st));
}

const struct cs_ent *cs_find(const struct cs_state *st, const char *path)
{
	struct cs_ent key = { .path = (char *)path };

	return bsearch(&key, st->e, st->n, sizeof(*st->e), by_path);
}

static bool has_alt(const struct cs_alt *alt, size_t nalt, uint32_t ino)
{
	for (size_t i = 0; i < nalt; i++)
		if (alt[i].ino == ino)
			return true;
	return false;
}

/* Byte @b of @w's content as @g shows it: want's, or an alternative's. */
static bool byte_ok(const struct cs_ent *w, const struct cs_alt *alt,
		    size_t nalt, uint8_t got, uint64_t b)
{
	if (w->data[b] == got)
		return true;
	for (size_t i = 0; i < nalt; i++)
		if (alt[i].ino == w->ino && b < alt[i].len && alt[i].data[b] == got)
			return true;
	return false;
}

#define DIFF(...) do { snprintf(why, len, __VA_ARGS__); return false; } while (0)

bool cs_match(const struct cs_state *want, const struct cs_alt *alt,
	      size_t nalt, const struct cs_state *got, char *why, size_t len)
{
	for (size_t i = 0, j = 0; i < want->n || j < got->n; i++, j++) {
		const struct cs_ent *w = i < want->n ? &want->e[i] : NULL;
		const struct cs_ent *g = j < got->n ? &got->e[j] : NULL;
		bool torn;

		if (!g || (w && strcmp(w->path, g->path) < 0))
			DIFF("%s is missing", w->path);
		if (!w || strcmp(w->path, g->path) > 0)
			DIFF("%s should not exist", g->path);
		if (w->ino != g->ino || w->mode != g->mode || w->nlink != g->nlink ||
		    w->uid != g->uid || w->gid != g->gid || w->size != g->size ||
		    w->blocks != g->blocks)
			DIFF("%s: ino %u mode %o nlink %u uid %u gid %u size %llu "
			     "blocks %llu, want ino %u mode %o nlink %u uid %u gid %u "
			     "size %llu blocks %llu", g->path, g->ino, g->mode,
			     g->nlink, g->uid, g->gid, (unsigned long long)g->size,
			     (unsigned long long)g->blocks, w->ino, w->mode, w->nlink,
			     w->uid, w->gid, (unsigned long long)w->size,
			     (unsigned long long)w->blocks);
		if (w->rdev != g->rdev)
			DIFF("%s: rdev %llx, want %llx", g->path,
			     (unsigned long long)g->rdev, (unsigned long long)w->rdev);
		if (w->xlen != g->xlen || (w->xlen && memcmp(w->xattr, g->xattr, w->xlen)))
			DIFF("%s: extended attributes differ (%zu bytes listed, want %zu)",
			     g->path, g->xlen, w->xlen);
		torn = has_alt(alt, nalt, w->ino);
		if (!torn && (w->atime != g->atime || w->mtime != g->mtime))
			DIFF("%s: atime %lld mtime %lld, want %lld %lld", g->path,
			     (long long)g->atime, (long long)g->mtime,
			     (long long)w->atime, (long long)w->mtime);
		if (!w->data)
			continue;
		for (uint64_t b = 0; b < w->size; b++)
			if (!byte_ok(w, alt, nalt, g->data[b], b))
				DIFF("%s: byte %llu is %02x, want %02x%s", g->path,
				     (unsigned long long)b, g->data[b], w->data[b],
				     torn ? " or an unsynced older byte" :
				     " (no unsynced overwrite: must be exact)");
	}
	if (want->blocks_free != got->blocks_free || want->inodes_free != got->inodes_free)
		DIFF("free blocks %llu inodes %llu, want %llu %llu",
		     (unsigned long long)got->blocks_free,
		     (unsigned long long)got->inodes_free,
		     (unsigned long long)want->blocks_free,
		     (unsigned long long)want->inodes_free);
	return true;
}
