/* SPDX-License-Identifier: MIT */
/* udax ls, udax put, udax get: listing and copying files in and out. */
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

#define CHUNK (1u << 20)
#define PATH_BUF (4096 + UDAX_NAME_MAX + 2)

static char type_char(uint32_t mode)
{
	return S_ISDIR(mode) ? 'd' : S_ISREG(mode) ? '-' : S_ISLNK(mode) ? 'l' :
	       S_ISFIFO(mode) ? 'p' : S_ISSOCK(mode) ? 's' : S_ISCHR(mode) ? 'c' :
	       S_ISBLK(mode) ? 'b' : '?';
}

/* @target: a symbolic link's, or NULL. */
static void ls_line(const char *name, const struct udax_stat *st, const char *target)
{
	printf("%c%04o %3u %5u %5u %12llu %s%s%s\n", type_char(st->mode), st->mode & 07777,
	       st->nlink, st->uid, st->gid, (unsigned long long)st->size, name,
	       target ? " -> " : "", target ? target : "");
}

static void ls_json_entry(struct cli_json *j, const char *name, const struct udax_stat *st,
			  const char *target)
{
	cli_json_obj(j, NULL);
	cli_json_str(j, "name", name);
	cli_json_stat(j, st);
	if (target)
		cli_json_str(j, "target", target);
	cli_json_close(j);
}

/* One entry, @full its path: a symbolic link with its target. */
static void ls_entry(struct udax_fs *fs, struct cli_json *j, const char *full,
		     const char *name, const struct udax_stat *st)
{
	char tbuf[4096];
	const char *target = S_ISLNK(st->mode) ?
			     cli_link_target(fs, full, tbuf, sizeof(tbuf)) : NULL;

	if (j)
		ls_json_entry(j, name, st, target);
	else
		ls_line(name, st, target);
}

int cmd_ls(int argc, char **argv)
{
	struct cli_fscmd c = {
		.name = "ls", .min_args = 0, .max_args = 1, .has_json = true,
		.usage = "usage: udax ls [-P N] [--json] DEVICE [PATH]\n"
			 "\n"
			 "List a directory (default /) of the file system on partition N,\n"
			 "or a file itself: type and mode, links, uid, gid, size, name.\n"
			 "\n"
			 CLI_HELP_PART
			 "      --json            one JSON object (docs/cli.md)\n"
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_dir *d = NULL;
	struct udax_dirent ent;
	struct udax_stat st;
	struct cli_json j;
	const char *path;
	char full[PATH_BUF], pbuf[PATH_BUF];
	int i, ret;

	i = cli_fscmd_parse(&c, argc, argv);
	if (i <= 0)
		return -i;
	path = cli_fspath(argc - i == 2 ? argv[i + 1] : "/", pbuf, sizeof(pbuf));
	if (cli_mount("ls", argv[i], c.part, true, &dev, &fs))
		return EXIT_FAIL;
	/* A link to a directory lists the directory (as ls does); any other
	 * link, dangling ones too, is shown itself. */
	ret = udax_lstat(fs, path, &st);
	if (!ret && S_ISLNK(st.mode)) {
		struct udax_stat tst;

		if (!udax_stat(fs, path, &tst) && S_ISDIR(tst.mode))
			st = tst;
	}
	if (!ret && S_ISDIR(st.mode))
		ret = udax_opendir(fs, path, &d);
	if (ret) {
		cli_err("ls", 0, "%s: %s", path, cli_libmsg(udax_fs_last_error()));
		cli_unmount("ls", &dev, &fs);
		return EXIT_FAIL;
	}
	if (c.json) {
		cli_json_start(&j, stdout, "ls");
		cli_json_str(&j, "path", path);
		cli_json_arr(&j, "entries");
	}
	if (!d) {	/* a file: itself */
		const char *base = strrchr(path, '/') + 1;

		ls_entry(fs, c.json ? &j : NULL, path, base, &st);
	}
	while (d && (ret = udax_readdir(d, &ent)) > 0) {
		snprintf(full, sizeof(full), "%s%s%s", path,
			 path[strlen(path) - 1] == '/' ? "" : "/", ent.name);
		if (udax_lstat(fs, full, &st)) {
			/* Listed, but gone or unreadable: say so, go on. */
			cli_err("ls", 0, "%s: %s", full, cli_libmsg(udax_fs_last_error()));
			ret = -EIO;
			continue;
		}
		ls_entry(fs, c.json ? &j : NULL, full, ent.name, &st);
	}
	if (c.json)
		cli_json_end(&j);
	if (d)
		udax_closedir(&d);
	if (ret < 0)
		cli_err("ls", ret, "%s", path);
	if (cli_unmount("ls", &dev, &fs))
		ret = -EIO;
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

static void progress(const char *what, uint64_t done, uint64_t total)
{
	if (cli_progress() && total)
		fprintf(stderr, "\r%s: %3llu%%", what,
			(unsigned long long)(done * 100 / total));
}

int cmd_put(int argc, char **argv)
{
	struct cli_fscmd c = {
		.name = "put", .min_args = 2, .max_args = 2,
		.usage = "usage: udax put [-P N] DEVICE HOSTFILE PATH\n"
			 "\n"
			 "Copy a host file (- : standard input) into the file system, replacing\n"
			 "PATH; its directory must exist (udax mkdir -p makes it).\n"
			 "\n"
			 CLI_HELP_PART
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	struct stat hst;
	uint64_t off = 0, total;
	const char *path, *host;
	char pbuf[PATH_BUF];
	char *buf;
	int i, hfd, ret = 0;

	i = cli_fscmd_parse(&c, argc, argv);
	if (i <= 0)
		return -i;
	host = argv[i + 1];
	path = cli_fspath(argv[i + 2], pbuf, sizeof(pbuf));
	hfd = strcmp(host, "-") ? open(host, O_RDONLY) : STDIN_FILENO;
	if (hfd < 0 || fstat(hfd, &hst) < 0) {
		cli_err("put", -errno, "%s", host);
		if (hfd > STDIN_FILENO)
			close(hfd);
		return EXIT_FAIL;
	}
	if (S_ISDIR(hst.st_mode)) {
		cli_err("put", -EISDIR, "%s", host);
		if (hfd != STDIN_FILENO)
			close(hfd);
		return EXIT_FAIL;
	}
	total = S_ISREG(hst.st_mode) ? (uint64_t)hst.st_size : 0;
	buf = malloc(CHUNK);
	if (!buf || cli_mount("put", argv[i], c.part, false, &dev, &fs)) {
		free(buf);
		if (hfd != STDIN_FILENO)
			close(hfd);
		return EXIT_FAIL;
	}
	ret = udax_open(fs, path, O_CREAT | O_TRUNC | O_WRONLY, 0644, &f);
	if (ret) {
		cli_err("put", 0, "%s: %s%s", path, cli_libmsg(udax_fs_last_error()),
			ret == -ENOENT ? " (udax mkdir -p makes its directory)" : "");
	} else {
		for (;;) {
			ssize_t r = read(hfd, buf, CHUNK), w;

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				ret = -errno;
				cli_err("put", ret, "reading %s", host);
				break;
			}
			if (r == 0)
				break;
			w = udax_pwrite(f, buf, (size_t)r, off);
			if (w != r) {
				ret = w < 0 ? (int)w : -EIO;
				cli_err("put", ret, "writing %s", path);
				break;
			}
			off += (uint64_t)r;
			progress("put", off, total);
		}
		if (!ret && (ret = udax_fsync(f)))
			cli_err("put", ret, "fsync %s", path);
		udax_close(&f);
		if (cli_progress() && total)
			fputc('\n', stderr);
	}
	if (cli_unmount("put", &dev, &fs) && !ret)
		ret = -EIO;
	free(buf);
	if (hfd != STDIN_FILENO)
		close(hfd);
	return ret ? EXIT_FAIL : EXIT_OK;
}

/* Copy @f to @hfd; 0 or -errno (printed). */
int cli_copy_out(const char *cmd, struct udax_file *f, const char *path, int hfd,
		 const char *host, bool show)
{
	struct udax_stat st;
	uint64_t off = 0;
	char *buf = malloc(CHUNK);
	int ret = 0;

	if (!buf) {
		cli_err(cmd, -ENOMEM, "%s", path);
		return -ENOMEM;
	}
	udax_fstat(f, &st);
	for (;;) {
		ssize_t r = udax_pread(f, buf, CHUNK, off);

		if (r < 0) {
			ret = (int)r;
			cli_err(cmd, ret, "reading %s", path);
			break;
		}
		if (r == 0)
			break;
		for (ssize_t done = 0; done < r;) {
			ssize_t w = write(hfd, buf + done, (size_t)(r - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = -errno;
				break;
			}
			done += w;
		}
		if (ret) {
			cli_err(cmd, ret, "writing %s", host);
			break;
		}
		off += (uint64_t)r;
		if (show)
			progress(cmd, off, st.size);
	}
	if (show && cli_progress() && st.size)
		fputc('\n', stderr);
	free(buf);
	return ret;
}

int cmd_get(int argc, char **argv)
{
	struct cli_fscmd c = {
		.name = "get", .min_args = 2, .max_args = 2,
		.usage = "usage: udax get [-P N] DEVICE PATH HOSTFILE\n"
			 "\n"
			 "Copy a file out of the file system (HOSTFILE - : standard output).\n"
			 "\n"
			 CLI_HELP_PART
			 "  -h, --help            this text\n",
	};
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	const char *path, *host;
	char pbuf[PATH_BUF];
	int i, hfd, ret;

	i = cli_fscmd_parse(&c, argc, argv);
	if (i <= 0)
		return -i;
	path = cli_fspath(argv[i + 1], pbuf, sizeof(pbuf));
	host = argv[i + 2];
	if (cli_mount("get", argv[i], c.part, true, &dev, &fs))
		return EXIT_FAIL;
	ret = udax_open(fs, path, O_RDONLY, 0, &f);
	if (ret) {
		cli_err("get", 0, "%s: %s", path, cli_libmsg(udax_fs_last_error()));
		goto out;
	}
	hfd = strcmp(host, "-") ? open(host, O_CREAT | O_TRUNC | O_WRONLY, 0644)
				: STDOUT_FILENO;
	if (hfd < 0) {
		ret = -errno;
		cli_err("get", ret, "%s", host);
		udax_close(&f);
		goto out;
	}
	ret = cli_copy_out("get", f, path, hfd, host, hfd != STDOUT_FILENO);
	if (hfd != STDOUT_FILENO && close(hfd) < 0 && !ret) {
		ret = -errno;
		cli_err("get", ret, "closing %s", host);
	}
	udax_close(&f);
out:
	if (cli_unmount("get", &dev, &fs) && !ret)
		ret = -EIO;
	return ret ? EXIT_FAIL : EXIT_OK;
}
