/* SPDX-License-Identifier: MIT */
/*
 * udax mkdir, rmdir, rm, mv, ln, cat, stat, truncate: file operations on a
 * device's file system without mounting it anywhere.  Each mounts the
 * partition, does what it is asked, unmounts: every change is durable when
 * the command exits 0.  Like coreutils, a command given several paths goes
 * on after one fails and then exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <udax/dev.h>
#include <udax/fs.h>

#include "cli.h"

#define PATH_BUF (4096 + UDAX_NAME_MAX + 2)

/* Mount for @c; the index of the first operand after DEVICE, or -status. */
static int fs_start(struct cli_fscmd *c, int argc, char **argv, bool ro,
		    struct udax_dev **dev, struct udax_fs **fs)
{
	int i = cli_fscmd_parse(c, argc, argv);

	if (i <= 0)
		return i;
	if (cli_mount(c->name, argv[i], c->part, ro, dev, fs))
		return -EXIT_FAIL;
	return i + 1;
}

static int fs_end(struct cli_fscmd *c, struct udax_dev **dev, struct udax_fs **fs, int status)
{
	if (cli_unmount(c->name, dev, fs))
		status = EXIT_FAIL;
	return status;
}

/* "udax CMD: PATH: reason" with the library's message. */
static void fs_fail(const struct cli_fscmd *c, const char *path)
{
	cli_err(c->name, 0, "%s: %s", path, cli_libmsg(udax_fs_last_error()));
}

/* ---- mkdir -------------------------------------------------------------------- */

struct mkdir_opts {
	bool parents;
	mode_t mode;
};

static int mkdir_opt(struct cli_fscmd *c, int ch, const char *arg)
{
	struct mkdir_opts *o = c->priv;
	char *end;
	unsigned long m;

	if (ch == 'p') {
		o->parents = true;
		return 0;
	}
	m = strtoul(arg, &end, 8);
	if (!*arg || *end || m > 07777) {
		cli_err(c->name, 0, "bad mode '%s' (octal, e.g. 755)", arg);
		return -1;
	}
	o->mode = (mode_t)m;
	return 0;
}

/* mkdir -p: each missing component, like mkdir(1). */
static int mkdir_parents(struct udax_fs *fs, const char *path, mode_t mode)
{
	char buf[PATH_BUF];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char save = *p;
			struct udax_stat st;
			int ret;

			*p = '\0';
			ret = udax_mkdir(fs, buf, mode);
			if (ret == -EEXIST) {
				ret = udax_stat(fs, buf, &st);
				if (!ret && !S_ISDIR(st.mode))
					ret = -ENOTDIR;
			}
			*p = save;
			if (ret)
				return ret;
			if (!save || !p[1])
				return 0;
		}
	}
}

int cmd_mkdir(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "parents", no_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct mkdir_opts o = { .mode = 0755 };
	struct cli_fscmd c = {
		.name = "mkdir", .shortopts = "pm:", .opts = opts, .opt = mkdir_opt,
		.priv = &o, .min_args = 1, .max_args = -1,
		.usage = "usage: udax mkdir [-P N] [-p] [-m MODE] DEVICE PATH...\n"
			 "\n"
			 "Make directories.\n"
			 "\n"
			 CLI_HELP_PART
			 "  -p, --parents         make missing parents too; an existing\n"
			 "                        directory is no error\n"
			 "  -m, --mode MODE       octal permission bits (default 755)\n"
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	char pbuf[PATH_BUF];
	int i = fs_start(&c, argc, argv, false, &dev, &fs), status = EXIT_OK;

	if (i <= 0)
		return -i;
	for (; i < argc; i++) {
		const char *path = cli_fspath(argv[i], pbuf, sizeof(pbuf));
		int ret = o.parents ? mkdir_parents(fs, path, o.mode) : udax_mkdir(fs, path, o.mode);

		if (ret) {
			if (ret == -ENOTDIR && o.parents)
				cli_err("mkdir", ret, "%s", path);
			else
				fs_fail(&c, path);
			status = EXIT_FAIL;
		}
	}
	return fs_end(&c, &dev, &fs, status);
}

/* ---- rmdir, rm ------------------------------------------------------------------ */

int cmd_rmdir(int argc, char **argv)
{
	struct cli_fscmd c = {
		.name = "rmdir", .min_args = 1, .max_args = -1,
		.usage = "usage: udax rmdir [-P N] DEVICE PATH...\n"
			 "\n"
			 "Remove empty directories.\n"
			 "\n"
			 CLI_HELP_PART
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	char pbuf[PATH_BUF];
	int i = fs_start(&c, argc, argv, false, &dev, &fs), status = EXIT_OK;

	if (i <= 0)
		return -i;
	for (; i < argc; i++) {
		const char *path = cli_fspath(argv[i], pbuf, sizeof(pbuf));

		if (udax_rmdir(fs, path)) {
			fs_fail(&c, path);
			status = EXIT_FAIL;
		}
	}
	return fs_end(&c, &dev, &fs, status);
}

struct rm_opts {
	bool force, recursive;
};

static int rm_opt(struct cli_fscmd *c, int ch, const char *arg)
{
	struct rm_opts *o = c->priv;

	(void)arg;
	if (ch == 'f')
		o->force = true;
	else
		o->recursive = true;
	return 0;
}

/* rm -r of a directory: its entries, depth first, then itself.  Names are
 * read before any is removed, so removal never races the listing. */
static int rm_tree(const struct cli_fscmd *c, struct udax_fs *fs, const char *path, int depth)
{
	struct udax_dir *d;
	struct udax_dirent ent;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ret, first = 0;

	if (depth > 256) {
		cli_err(c->name, -ELOOP, "%s", path);
		return -ELOOP;
	}
	ret = udax_opendir(fs, path, &d);
	if (ret) {
		fs_fail(c, path);
		return ret;
	}
	while ((ret = udax_readdir(d, &ent)) > 0) {
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));

			if (!nn) {
				ret = -ENOMEM;
				break;
			}
			names = nn;
		}
		if (!(names[n] = strdup(ent.name))) {
			ret = -ENOMEM;
			break;
		}
		n++;
	}
	udax_closedir(&d);
	if (ret < 0) {
		cli_err(c->name, ret, "%s", path);
		first = ret;
	}
	for (size_t k = 0; k < n; k++) {
		char child[PATH_BUF];
		struct udax_stat st;

		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", path,
				     path[strlen(path) - 1] == '/' ? "" : "/",
				     names[k]) >= sizeof(child)) {
			cli_err(c->name, -ENAMETOOLONG, "%s/%s", path, names[k]);
			ret = -ENAMETOOLONG;
		} else if ((ret = udax_lstat(fs, child, &st))) {	/* a link: itself */
			fs_fail(c, child);
		} else if (S_ISDIR(st.mode)) {
			ret = rm_tree(c, fs, child, depth + 1);
		} else if ((ret = udax_unlink(fs, child))) {
			fs_fail(c, child);
		}
		if (ret && !first)
			first = ret;
		free(names[k]);
	}
	free(names);
	if (!first && strcmp(path, "/") && (first = udax_rmdir(fs, path)))
		fs_fail(c, path);
	return first;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "recursive", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct rm_opts o = { 0 };
	struct cli_fscmd c = {
		.name = "rm", .shortopts = "frR", .opts = opts, .opt = rm_opt, .priv = &o,
		.min_args = 1, .max_args = -1,
		.usage = "usage: udax rm [-P N] [-f] [-r] DEVICE PATH...\n"
			 "\n"
			 "Remove files (with -r, directories and what they hold).\n"
			 "\n"
			 CLI_HELP_PART
			 "  -f, --force           a missing PATH is no error\n"
			 "  -r, -R, --recursive   remove directories and their contents\n"
			 "                        (rm -r of / empties the file system)\n"
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	char pbuf[PATH_BUF];
	int i = fs_start(&c, argc, argv, false, &dev, &fs), status = EXIT_OK;

	if (i <= 0)
		return -i;
	for (; i < argc; i++) {
		const char *path = cli_fspath(argv[i], pbuf, sizeof(pbuf));
		struct udax_stat st;
		int ret = udax_lstat(fs, path, &st);	/* a link is removed, not followed */

		if (ret == -ENOENT && o.force)
			continue;
		if (ret) {
			fs_fail(&c, path);
		} else if (S_ISDIR(st.mode)) {
			if (o.recursive)
				ret = rm_tree(&c, fs, path, 0);
			else
				cli_err("rm", ret = -EISDIR, "%s (rm -r removes it)", path);
		} else if ((ret = udax_unlink(fs, path))) {
			fs_fail(&c, path);
		}
		if (ret)
			status = EXIT_FAIL;
	}
	return fs_end(&c, &dev, &fs, status);
}

/* ---- mv, ln --------------------------------------------------------------------- */

/* @dst, or @dst/basename(@src) if @dst is a directory (as mv and ln do). */
static const char *into_dir(struct udax_fs *fs, const char *src, const char *dst,
			    char *buf, size_t len)
{
	struct udax_stat st;
	const char *base = strrchr(src, '/') + 1;

	if (udax_stat(fs, dst, &st) || !S_ISDIR(st.mode) || !*base)
		return dst;
	snprintf(buf, len, "%s%s%s", dst, dst[strlen(dst) - 1] == '/' ? "" : "/", base);
	return buf;
}

/* mv -n, ln -s: the command's one flag. */
static int flag_opt(struct cli_fscmd *c, int ch, const char *arg)
{
	(void)ch;
	(void)arg;
	*(bool *)c->priv = true;
	return 0;
}

int cmd_mv(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-clobber", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	bool noclobber = false;
	struct cli_fscmd c = {
		.name = "mv", .shortopts = "n", .opts = opts, .opt = flag_opt,
		.priv = &noclobber, .min_args = 2, .max_args = 2,
		.usage = "usage: udax mv [-P N] [-n] DEVICE SOURCE DEST\n"
			 "\n"
			 "Rename SOURCE to DEST atomically (into DEST if it is a directory),\n"
			 "replacing an existing file DEST.\n"
			 "\n"
			 CLI_HELP_PART
			 "  -n, --no-clobber      fail if DEST exists\n"
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	char b1[PATH_BUF], b2[PATH_BUF], b3[PATH_BUF];
	const char *src, *dst;
	int i = fs_start(&c, argc, argv, false, &dev, &fs), status = EXIT_OK;

	if (i <= 0)
		return -i;
	src = cli_fspath(argv[i], b1, sizeof(b1));
	dst = into_dir(fs, src, cli_fspath(argv[i + 1], b2, sizeof(b2)), b3, sizeof(b3));
	if (udax_rename(fs, src, dst, noclobber ? UDAX_RENAME_NOREPLACE : 0)) {
		cli_err("mv", 0, "%s -> %s: %s", src, dst, cli_libmsg(udax_fs_last_error()));
		status = EXIT_FAIL;
	}
	return fs_end(&c, &dev, &fs, status);
}

int cmd_ln(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "symbolic", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	bool symbolic = false;
	struct cli_fscmd c = {
		.name = "ln", .shortopts = "s", .opts = opts, .opt = flag_opt,
		.priv = &symbolic, .min_args = 2, .max_args = 2,
		.usage = "usage: udax ln [-P N] [-s] DEVICE TARGET LINK\n"
			 "\n"
			 "Make LINK a hard link to the file TARGET (into LINK if it is a\n"
			 "directory).  With -s, a symbolic link whose target is TARGET as\n"
			 "given: a relative one from LINK's directory, an absolute one from\n"
			 "the file system's root; it need not exist.\n"
			 "\n"
			 CLI_HELP_PART
			 "  -s, --symbolic        make a symbolic link\n"
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	char b1[PATH_BUF], b2[PATH_BUF], b3[PATH_BUF];
	const char *src, *dst;
	int i = fs_start(&c, argc, argv, false, &dev, &fs), status = EXIT_OK;

	if (i <= 0)
		return -i;
	src = cli_fspath(argv[i], b1, sizeof(b1));
	dst = into_dir(fs, src, cli_fspath(argv[i + 1], b2, sizeof(b2)), b3, sizeof(b3));
	if (symbolic) {
		/* The target is kept as given, not made absolute. */
		if (udax_symlink(fs, argv[i], dst)) {
			cli_err("ln", 0, "%s -> %s: %s", dst, argv[i],
				cli_libmsg(udax_fs_last_error()));
			status = EXIT_FAIL;
		}
	} else if (udax_link(fs, src, dst)) {
		cli_err("ln", 0, "%s -> %s: %s", dst, src, cli_libmsg(udax_fs_last_error()));
		status = EXIT_FAIL;
	}
	return fs_end(&c, &dev, &fs, status);
}

/* ---- cat, stat ------------------------------------------------------------------ */

int cmd_cat(int argc, char **argv)
{
	struct cli_fscmd c = {
		.name = "cat", .min_args = 1, .max_args = -1,
		.usage = "usage: udax cat [-P N] DEVICE PATH...\n"
			 "\n"
			 "Write files to standard output, one after the other.\n"
			 "\n"
			 CLI_HELP_PART
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	char pbuf[PATH_BUF];
	int i = fs_start(&c, argc, argv, true, &dev, &fs), status = EXIT_OK;

	if (i <= 0)
		return -i;
	for (; i < argc; i++) {
		const char *path = cli_fspath(argv[i], pbuf, sizeof(pbuf));
		struct udax_file *f;
		int ret;

		if (udax_open(fs, path, O_RDONLY, 0, &f)) {
			fs_fail(&c, path);
			status = EXIT_FAIL;
			continue;
		}
		ret = cli_copy_out("cat", f, path, STDOUT_FILENO, "standard output", false);
		udax_close(&f);
		if (ret) {
			status = EXIT_FAIL;
			if (ret == -EPIPE)
				break;
		}
	}
	return fs_end(&c, &dev, &fs, status);
}

/* @target: a symbolic link's, or NULL. */
static void stat_text(const char *path, const struct udax_stat *st, const char *target)
{
	const struct timespec *t[] = { &st->atime, &st->mtime, &st->ctime, &st->btime };
	static const char *const tn[] = { "access", "modify", "change", "birth" };

	printf("  path: %s\n", path);
	printf("  type: %s  inode: %u  links: %u\n", cli_type_name(st->mode), st->ino,
	       st->nlink);
	if (target)
		printf("  target: %s\n", target);
	printf("  size: %llu  blocks: %llu (of %u bytes)\n", (unsigned long long)st->size,
	       (unsigned long long)st->blocks, UDAX_FS_BLOCK_SIZE);
	printf("  mode: %04o  uid: %u  gid: %u\n", st->mode & 07777, st->uid, st->gid);
	for (int k = 0; k < 4; k++)
		printf("%8s: %lld.%09ld\n", tn[k], (long long)t[k]->tv_sec, t[k]->tv_nsec);
}

int cmd_stat(int argc, char **argv)
{
	struct cli_fscmd c = {
		.name = "stat", .min_args = 1, .max_args = -1, .has_json = true,
		.usage = "usage: udax stat [-P N] [--json] DEVICE PATH...\n"
			 "\n"
			 "Show what the file system knows of each file: type, inode, links,\n"
			 "size, 4 KiB blocks allocated, mode, owner, times (seconds.nanoseconds\n"
			 "since the epoch).\n"
			 "\n"
			 CLI_HELP_PART
			 "      --json            one JSON object (docs/cli.md)\n"
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct cli_json j;
	char pbuf[PATH_BUF];
	int i = fs_start(&c, argc, argv, true, &dev, &fs), status = EXIT_OK;

	if (i <= 0)
		return -i;
	if (c.json) {
		cli_json_start(&j, stdout, "stat");
		cli_json_arr(&j, "files");
	}
	for (; i < argc; i++) {
		const char *path = cli_fspath(argv[i], pbuf, sizeof(pbuf)), *target = NULL;
		struct udax_stat st;
		char tbuf[4096];

		/* A symbolic link itself, as stat(1) shows it. */
		if (udax_lstat(fs, path, &st)) {
			fs_fail(&c, path);
			status = EXIT_FAIL;
			continue;
		}
		if (S_ISLNK(st.mode))
			target = cli_link_target(fs, path, tbuf, sizeof(tbuf));
		if (c.json) {
			cli_json_obj(&j, NULL);
			cli_json_str(&j, "path", path);
			cli_json_stat(&j, &st);
			if (target)
				cli_json_str(&j, "target", target);
			cli_json_close(&j);
		} else {
			stat_text(path, &st, target);
		}
	}
	if (c.json)
		cli_json_end(&j);
	return fs_end(&c, &dev, &fs, status);
}

/* ---- truncate ------------------------------------------------------------------- */

struct truncate_opts {
	bool size_set, no_create;
	uint64_t size;
};

static int truncate_opt(struct cli_fscmd *c, int ch, const char *arg)
{
	struct truncate_opts *o = c->priv;

	if (ch == 'c') {
		o->no_create = true;
		return 0;
	}
	if (!cli_parse_size(arg, &o->size)) {
		cli_err(c->name, 0, "bad size '%s'", arg);
		return -1;
	}
	o->size_set = true;
	return 0;
}

int cmd_truncate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "no-create", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct truncate_opts o = { 0 };
	struct cli_fscmd c = {
		.name = "truncate", .shortopts = "s:c", .opts = opts, .opt = truncate_opt,
		.priv = &o, .min_args = 1, .max_args = -1,
		.usage = "usage: udax truncate [-P N] [-c] -s SIZE DEVICE PATH...\n"
			 "\n"
			 "Set each file's size: shrinking frees the blocks past it, growing\n"
			 "leaves a hole that reads as zeros.  A missing file is created.\n"
			 "\n"
			 CLI_HELP_PART
			 "  -s, --size SIZE       the new size in bytes (K, M, G, T suffixes)\n"
			 "  -c, --no-create       a missing file is skipped, not created\n"
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	char pbuf[PATH_BUF];
	int i = cli_fscmd_parse(&c, argc, argv), status = EXIT_OK;

	if (i <= 0)
		return -i;
	if (!o.size_set) {
		cli_err("truncate", 0, "-s SIZE is required (udax truncate --help)");
		return EXIT_USAGE;
	}
	if (cli_mount("truncate", argv[i], c.part, false, &dev, &fs))
		return EXIT_FAIL;
	for (i++; i < argc; i++) {
		const char *path = cli_fspath(argv[i], pbuf, sizeof(pbuf));
		struct udax_file *f;
		int ret = udax_open(fs, path, O_WRONLY | (o.no_create ? 0 : O_CREAT), 0644, &f);

		if (ret == -ENOENT && o.no_create)
			continue;
		if (!ret) {
			ret = udax_ftruncate(f, o.size);
			if (ret)
				fs_fail(&c, path);
			udax_close(&f);
		} else {
			fs_fail(&c, path);
		}
		if (ret)
			status = EXIT_FAIL;
	}
	return fs_end(&c, &dev, &fs, status);
}
