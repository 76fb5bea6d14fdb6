/* SPDX-License-Identifier: MIT */
/* udax ls, udax put, udax get: files of a udax file system. */
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

/* Parse the common "-p PART" option; returns the index of the first operand
 * or -1 (usage error) / -2 (--help printed). */
static int parse_part(const char *cmd, int argc, char **argv, unsigned *part,
		      void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "partition", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	*part = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!cli_parse_size(optarg, &v) || v >= UDAX_DEV_MAX_PARTS) {
				cli_err(cmd, 0, "bad partition '%s'", optarg);
				return -1;
			}
			*part = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return -2;
		default:
			usage(stderr);
			return -1;
		}
	}
	return optind;
}

static void ls_usage(FILE *f)
{
	fprintf(f, "usage: udax ls [-p PART] DEVICE [PATH]\n"
		"\nList a directory (default /) of the file system on partition PART.\n");
}

static char type_char(uint32_t mode)
{
	return S_ISDIR(mode) ? 'd' : S_ISREG(mode) ? '-' : '?';
}

int cmd_ls(int argc, char **argv)
{
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_dir *d;
	struct udax_dirent ent;
	unsigned part;
	const char *path;
	char full[4096 + UDAX_NAME_MAX + 2];
	int i, ret;

	i = parse_part("ls", argc, argv, &part, ls_usage);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i < 1 || argc - i > 2) {
		ls_usage(stderr);
		return EXIT_USAGE;
	}
	path = argc - i == 2 ? argv[i + 1] : "/";
	if (cli_mount("ls", argv[i], part, true, &dev, &fs))
		return EXIT_FAIL;
	ret = udax_opendir(fs, path, &d);
	if (ret) {
		cli_err("ls", 0, "%s: %s", path, udax_fs_last_error());
		cli_unmount(&dev, &fs);
		return EXIT_FAIL;
	}
	while ((ret = udax_readdir(d, &ent)) > 0) {
		struct udax_stat st;

		snprintf(full, sizeof(full), "%s%s%s", path,
			 path[strlen(path) - 1] == '/' ? "" : "/", ent.name);
		if (udax_stat(fs, full, &st)) {
			printf("?????????? %s\n", ent.name);
			continue;
		}
		printf("%c%04o %3u %5u %5u %12llu %s\n", type_char(st.mode),
		       st.mode & 07777, st.nlink, st.uid, st.gid,
		       (unsigned long long)st.size, ent.name);
	}
	udax_closedir(&d);
	if (ret < 0)
		cli_err("ls", ret, "%s", path);
	cli_unmount(&dev, &fs);
	return ret < 0 ? EXIT_FAIL : EXIT_OK;
}

static void put_usage(FILE *f)
{
	fprintf(f, "usage: udax put [-p PART] DEVICE HOSTFILE PATH\n"
		"\nCopy a host file into the file system (replacing PATH).\n");
}

static void get_usage(FILE *f)
{
	fprintf(f, "usage: udax get [-p PART] DEVICE PATH HOSTFILE\n"
		"\nCopy a file out of the file system (HOSTFILE - : standard output).\n");
}

static void progress(const char *what, uint64_t done, uint64_t total)
{
	if (cli_progress() && total)
		fprintf(stderr, "\r%s: %3llu%%", what,
			(unsigned long long)(done * 100 / total));
}

int cmd_put(int argc, char **argv)
{
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	struct stat hst;
	unsigned part;
	uint64_t off = 0;
	char *buf;
	int i, hfd, ret = 0;

	i = parse_part("put", argc, argv, &part, put_usage);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 3) {
		put_usage(stderr);
		return EXIT_USAGE;
	}
	hfd = open(argv[i + 1], O_RDONLY);
	if (hfd < 0 || fstat(hfd, &hst) < 0) {
		cli_err("put", -errno, "%s", argv[i + 1]);
		return EXIT_FAIL;
	}
	buf = malloc(CHUNK);
	if (!buf || cli_mount("put", argv[i], part, false, &dev, &fs)) {
		free(buf);
		close(hfd);
		return EXIT_FAIL;
	}
	ret = udax_open(fs, argv[i + 2], O_CREAT | O_TRUNC | O_WRONLY, 0644, &f);
	if (ret) {
		cli_err("put", 0, "%s: %s", argv[i + 2], udax_fs_last_error());
	} else {
		for (;;) {
			ssize_t r = read(hfd, buf, CHUNK), w;

			if (r < 0) {
				ret = -errno;
				cli_err("put", ret, "reading %s", argv[i + 1]);
				break;
			}
			if (r == 0)
				break;
			w = udax_pwrite(f, buf, (size_t)r, off);
			if (w != r) {
				ret = w < 0 ? (int)w : -EIO;
				cli_err("put", ret, "writing %s", argv[i + 2]);
				break;
			}
			off += (uint64_t)r;
			progress("put", off, (uint64_t)hst.st_size);
		}
		if (!ret && (ret = udax_fsync(f)))
			cli_err("put", ret, "fsync %s", argv[i + 2]);
		udax_close(&f);
		if (cli_progress())
			fputc('\n', stderr);
	}
	cli_unmount(&dev, &fs);
	free(buf);
	close(hfd);
	return ret ? EXIT_FAIL : EXIT_OK;
}

int cmd_get(int argc, char **argv)
{
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_stat st;
	unsigned part;
	uint64_t off = 0;
	char *buf;
	int i, hfd, ret;

	i = parse_part("get", argc, argv, &part, get_usage);
	if (i < 0)
		return i == -2 ? EXIT_OK : EXIT_USAGE;
	if (argc - i != 3) {
		get_usage(stderr);
		return EXIT_USAGE;
	}
	buf = malloc(CHUNK);
	if (!buf || cli_mount("get", argv[i], part, true, &dev, &fs)) {
		free(buf);
		return EXIT_FAIL;
	}
	ret = udax_open(fs, argv[i + 1], O_RDONLY, 0, &f);
	if (ret) {
		cli_err("get", 0, "%s: %s", argv[i + 1], udax_fs_last_error());
		goto out;
	}
	udax_fstat(f, &st);
	hfd = strcmp(argv[i + 2], "-") ? open(argv[i + 2], O_CREAT | O_TRUNC | O_WRONLY, 0644)
				       : STDOUT_FILENO;
	if (hfd < 0) {
		ret = -errno;
		cli_err("get", ret, "%s", argv[i + 2]);
		udax_close(&f);
		goto out;
	}
	for (;;) {
		ssize_t r = udax_pread(f, buf, CHUNK, off);

		if (r < 0) {
			ret = (int)r;
			cli_err("get", ret, "reading %s", argv[i + 1]);
			break;
		}
		if (r == 0)
			break;
		for (ssize_t done = 0; done < r;) {
			ssize_t w = write(hfd, buf + done, (size_t)(r - done));

			if (w < 0) {
				ret = -errno;
				break;
			}
			done += w;
		}
		if (ret) {
			cli_err("get", ret, "writing %s", argv[i + 2]);
			break;
		}
		off += (uint64_t)r;
		progress("get", off, st.size);
	}
	if (hfd != STDOUT_FILENO && close(hfd) < 0 && !ret) {
		ret = -errno;
		cli_err("get", ret, "closing %s", argv[i + 2]);
	}
	udax_close(&f);
	if (cli_progress())
		fputc('\n', stderr);
out:
	cli_unmount(&dev, &fs);
	free(buf);
	return ret ? EXIT_FAIL : EXIT_OK;
}
