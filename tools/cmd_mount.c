/* SPDX-License-Identifier: MIT */
/*
 * udax mount: serve a udax file system to every process through FUSE
 * (the server itself is fuse_ll.c).
 *
 * The device and the file system belong to the process that opened them
 * (a forked child gets -ESTALE), so the command forks first: the child
 * opens, mounts and serves, and tells the parent through a pipe once the
 * kernel mount is up; the parent then exits 0 (or 1 with the child's
 * error printed), as mount(8) returns once the mount is there.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <unistd.h>

#include "cli.h"
#ifdef UDAX_HAVE_FUSE
#include "fuse_ll.h"
#endif

static const char usage[] =
	"usage: udax mount [-f] [-d] [-P N] [-o OPTIONS] DEVICE MOUNTPOINT\n"
	"Serve the file system of DEVICE at MOUNTPOINT to every process (FUSE).\n"
	"Returns once the mount is ready; the server stays in the background\n"
	"until fusermount3 -u MOUNTPOINT, or SIGTERM/SIGINT to it, unmounts.\n"
	"  -f, --foreground      serve in the foreground\n"
	"  -d, --debug           libfuse's request trace (implies -f)\n"
	"  -P, -p, --part N      the partition (default 0)\n"
	"  -o OPTIONS            comma-separated:\n"
	"     ro                   read-only (udax and the kernel mount)\n"
	"     remount              change the mount at MOUNTPOINT to ro or rw\n"
	"                          (root; as mount -o remount,ro MOUNTPOINT)\n"
	"     break=MODE           layout breaks of pinned blocks: wait, nowait,\n"
	"                          defer, timeout=NS (default wait)\n"
	"     dir_cache=BYTES      memory for directory indexes (default 64M;\n"
	"                          K, M, G suffixes)\n"
	"     fsname=NAME          the source /proc/mounts shows (udax:DEVICE)\n"
	"     subtype=NAME         the type is fuse.NAME (udax); empty: fuse\n"
	"     default_permissions  the kernel checks permissions, POSIX ACLs too\n"
	"     allow_other, ... : passed to libfuse\n";

struct mount_args {
	const char *dev, *mnt;
	unsigned part;
	bool fg, debug, ro, acl, remount;
	struct udax_break_opts brk;
	uint64_t dir_cache;		/* udax_mount_opts.dir_cache */
	char *fuse_opts;		/* the options for libfuse, comma-separated */
	char fsname[256];		/* "": udax:DEVICE */
	char subtype[64];		/* "": none (the type is plain "fuse") */
	bool set_subtype;		/* else udax */
};

static bool parse_break(const char *v, struct udax_break_opts *brk)
{
	char *end;

	if (!strcmp(v, "wait"))
		brk->mode = UDAX_BREAK_WAIT;
	else if (!strcmp(v, "nowait"))
		brk->mode = UDAX_BREAK_NOWAIT;
	else if (!strcmp(v, "defer"))
		brk->mode = UDAX_BREAK_DEFER;
	else if (!strncmp(v, "timeout=", 8)) {
		brk->mode = UDAX_BREAK_TIMEOUT;
		errno = 0;
		brk->timeout_ns = strtoll(v + 8, &end, 10);
		return !errno && end != v + 8 && !*end && brk->timeout_ns >= 0;
	} else
		return false;
	return true;
}

/* Split -o: ours out, the rest kept for libfuse. */
static int parse_opts(struct mount_args *a, const char *opts)
{
	char *copy = strdup(opts), *save = NULL, *o;
	size_t len = (a->fuse_opts ? strlen(a->fuse_opts) : 0) + strlen(opts) + 2;
	char *out = realloc(a->fuse_opts, len);

	if (!copy || !out) {
		free(copy);
		free(out ? out : a->fuse_opts);	/* realloc keeps it on failure */
		a->fuse_opts = NULL;
		fprintf(stderr, "udax mount: out of memory\n");
		return -1;
	}
	if (!a->fuse_opts)
		out[0] = 0;
	a->fuse_opts = out;
	for (o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		/* libfuse's too: the kernel checks permissions, POSIX ACLs
		 * included (fuse_ll.c asks for them then) */
		if (!strcmp(o, "default_permissions"))
			a->acl = true;
		if (!strcmp(o, "ro")) {
			a->ro = true;	/* fll_serve passes it on */
		} else if (!strcmp(o, "rw")) {
			a->ro = false;
		} else if (!strcmp(o, "remount")) {
			a->remount = true;
		} else if (!strncmp(o, "fsname=", 7) || !strncmp(o, "subtype=", 8)) {
			/* ours, not libfuse's: an empty subtype means none */
			const char *v = strchr(o, '=') + 1;
			char *to = *o == 'f' ? a->fsname : a->subtype;
			size_t max = *o == 'f' ? sizeof(a->fsname) : sizeof(a->subtype);

			if (strlen(v) >= max) {
				fprintf(stderr, "udax mount: -o %s: longer than %zu bytes\n",
					o, max - 1);
				free(copy);
				return -1;
			}
			strcpy(to, v);
			a->set_subtype |= *o == 's';
		} else if (!strncmp(o, "dir_cache=", 10)) {
			if (!cli_parse_size(o + 10, &a->dir_cache) || !a->dir_cache) {
				fprintf(stderr, "udax mount: -o %s: want a size in bytes "
					"(K, M, G suffixes), not 0\n", o);
				free(copy);
				return -1;
			}
		} else if (!strncmp(o, "break=", 6)) {
			if (!parse_break(o + 6, &a->brk)) {
				fprintf(stderr, "udax mount: -o %s: want break=wait, nowait, "
					"defer or timeout=NS\n", o);
				free(copy);
				return -1;
			}
		} else {
			if (*out)
				strcat(out, ",");
			strcat(out, o);
		}
	}
	free(copy);
	return 0;
}

#ifdef UDAX_HAVE_FUSE
/* The daemon's child tells its parent: one byte, 0 ready, 1 failed. */
static int ready_fd = -1;

static void tell_parent(char c)
{
	if (ready_fd >= 0) {
		if (write(ready_fd, &c, 1) != 1)
			perror("udax mount: pipe");
		close(ready_fd);
		ready_fd = -1;
	}
}

static int on_ready(void *arg)
{
	struct mount_args *a = arg;
	int fd;

	if (!a->fg) {
		tell_parent(0);
		/* A daemon keeps no directory busy (paths are resolved by now). */
		if (chdir("/"))
			perror("udax mount: chdir /");
		/* The server's output goes nowhere from now on. */
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	return 0;
}

static int serve(struct mount_args *a)
{
	struct udax_mount_opts mo = { .flags = a->ro ? UDAX_MOUNT_RDONLY : 0,
				      .brk = a->brk, .dir_cache = a->dir_cache };
	const struct udax_break_opts unbrk = { .mode = UDAX_BREAK_TIMEOUT,
					       .timeout_ns = CLI_UNMOUNT_NS };
	char *fargv[2] = { "-o", a->fuse_opts };
	struct udax_dev *dev = NULL;
	struct udax_fs *fs = NULL;
	char fsname[300];
	int ret, n;
	struct fll_opts fo = {
		.mountpoint = a->mnt, .fsname = fsname, .argc = *a->fuse_opts ? 2 : 0,
		.argv = fargv, .debug = a->debug, .ro = a->ro,
		.acl = a->acl,
		.subtype = a->set_subtype ? a->subtype : "udax",
		.ready = on_ready, .ready_arg = a,
	};

	if (*a->fsname)
		snprintf(fsname, sizeof(fsname), "%s", a->fsname);
	else
		snprintf(fsname, sizeof(fsname), "udax:%s", a->dev);
	/* libfuse splits options at commas: keep the name one option */
	for (char *p = fsname; *p; p++)
		if (*p == ',')
			*p = '_';
	ret = cli_open_dev("mount", a->dev, 0, &dev);
	if (ret)
		return ret;
	n = udax_dev_part_count(dev);
	if (n >= 0 && a->part >= (unsigned)n) {
		cli_err("mount", 0, "%s has no partition %u (it has %d; -P N chooses one)",
			a->dev, a->part, n);
		udax_dev_close(&dev, 0);
		return -ENOENT;
	}
	ret = udax_mount(dev, a->part, &mo, &fs);
	if (ret) {
		cli_err("mount", 0, "cannot mount partition %u of %s: %s%s", a->part,
			a->dev, cli_libmsg(udax_fs_last_error()),
			ret == -EUCLEAN ? " (udax fsck checks it)" :
			ret == -ENODATA ? " (udax mkfs makes one)" : "");
		udax_dev_close(&dev, 0);
		return ret;
	}
	ret = fll_serve(fs, &fo);
	if (ret)
		fprintf(stderr, "udax mount: cannot serve %s at %s\n", a->dev, a->mnt);
	if ((n = udax_unmount_ex(&fs, &unbrk))) {
		cli_err("mount", 0, "unmount: %s", cli_libmsg(udax_fs_last_error()));
		ret = ret ? ret : n;
	}
	if (!fs && (n = udax_dev_close(&dev, 0))) {
		cli_err("mount", 0, "close: %s", cli_libmsg(udax_dev_last_error()));
		ret = ret ? ret : n;
	}
	return ret;
}

static int run(struct mount_args *a)
{
	int pfd[2], status;
	char c = 1;
	pid_t pid;

	if (a->fg)
		return serve(a) ? EXIT_FAIL : EXIT_OK;
	if (pipe(pfd)) {
		perror("udax mount: pipe");
		return EXIT_FAIL;
	}
	pid = fork();
	if (pid < 0) {
		perror("udax mount: fork");
		return EXIT_FAIL;
	}
	if (!pid) {
		int ret;

		close(pfd[0]);
		ready_fd = pfd[1];
		setsid();
		ret = serve(a);
		tell_parent(1);	/* not ready: failed before the mount */
		_exit(ret ? EXIT_FAIL : EXIT_OK);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		c = 1;
	close(pfd[0]);
	if (c) {
		waitpid(pid, &status, 0);	/* its errors are printed */
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
#else
static int run(struct mount_args *a)
{
	(void)a;
	fprintf(stderr, "udax mount: this udax was built without FUSE "
		"(libfuse3 was not found at configure time: apt-get install "
		"libfuse3-dev fuse3, then configure again)\n");
	return EXIT_FAIL;
}
#endif

/* Per-mount flags that a remount would otherwise drop: mount(2) with
 * MS_REMOUNT sets them all from its flags. */
static const struct {
	const char *name;
	unsigned long flag;
} keep_flags[] = {
	{ "nosuid", MS_NOSUID }, { "nodev", MS_NODEV }, { "noexec", MS_NOEXEC },
	{ "noatime", MS_NOATIME }, { "nodiratime", MS_NODIRATIME },
	{ "relatime", MS_RELATIME }, { "strictatime", MS_STRICTATIME },
};

/* A mountinfo field as it names a path: \ooo escapes (space, tab,
 * newline, backslash) decoded in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o = *s;
		}
	}
	*o = 0;
}

/*
 * -o remount: the kernel mount at @a->mnt, a FUSE mount, becomes
 * read-only or read-write (the server goes on as it is: the kernel keeps
 * writes from reaching it).  mount(8) runs "udax mount -o remount,ro"
 * through its helper for "mount -o remount,ro MOUNTPOINT".
 */
static int remount(const struct mount_args *a)
{
	char real[4096], line[8192];
	unsigned long flags = MS_REMOUNT | (a->ro ? MS_RDONLY : 0);
	bool found = false;
	FILE *f;

	if (!realpath(a->mnt, real)) {
		fprintf(stderr, "udax mount: %s: %s\n", a->mnt, strerror(errno));
		return EXIT_FAIL;
	}
	f = fopen("/proc/self/mountinfo", "r");
	if (!f) {
		fprintf(stderr, "udax mount: /proc/self/mountinfo: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE SOURCE
	 * SUPER": the last line for the mount point is the one on top. */
	while (fgets(line, sizeof(line), f)) {
		char mp[4096], opts[1024], *dash = strstr(line, " - ");
		char type[256];

		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s %1023s", mp, opts) != 2 ||
		    sscanf(dash + 3, "%255s", type) != 1)
			continue;
		unescape(mp);
		if (strcmp(mp, real))
			continue;
		found = !strcmp(type, "fuse") || !strncmp(type, "fuse.", 5);
		flags = MS_REMOUNT | (a->ro ? MS_RDONLY : 0);
		for (char *save = NULL, *o = strtok_r(opts, ",", &save); o;
		     o = strtok_r(NULL, ",", &save))
			for (size_t k = 0; k < sizeof(keep_flags) / sizeof(keep_flags[0]); k++)
				if (!strcmp(o, keep_flags[k].name))
					flags |= keep_flags[k].flag;
	}
	fclose(f);
	if (!found) {
		fprintf(stderr, "udax mount: -o remount: %s is not a FUSE mount\n", a->mnt);
		return EXIT_FAIL;
	}
	if (mount(NULL, real, NULL, flags, NULL)) {
		fprintf(stderr, "udax mount: -o remount of %s: %s\n", a->mnt,
			strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_mount(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		CLI_LONGOPT_PART,
		{ NULL, 0, NULL, 0 },
	};
	struct mount_args a = { 0 };
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":fdhp:P:o:", lopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a.fg = true;
			break;
		case 'd':
			a.fg = a.debug = true;
			break;
		case 'h':
			fputs(usage, stdout);
			free(a.fuse_opts);
			return EXIT_OK;
		case 'p':
		case 'P':
			if (!cli_parse_part("mount", optarg, &a.part)) {
				free(a.fuse_opts);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			if (parse_opts(&a, optarg)) {
				free(a.fuse_opts);
				return EXIT_USAGE;
			}
			break;
		default:
			cli_bad_option("mount", c, argc, argv);
			free(a.fuse_opts);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fputs(usage, stderr);
		free(a.fuse_opts);
		return EXIT_USAGE;
	}
	if (!a.fuse_opts && !(a.fuse_opts = calloc(1, 1))) {
		fprintf(stderr, "udax mount: out of memory\n");
		return EXIT_FAIL;
	}
	a.dev = argv[optind];
	a.mnt = argv[optind + 1];
	ret = a.remount ? remount(&a) : run(&a);
	free(a.fuse_opts);
	return ret;
}
