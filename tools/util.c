/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <udax/dev.h>
#include <udax/fs.h>

#include "cli.h"

void cli_err(const char *cmd, int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "udax %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", udax_strerror(err));
	fputc('\n', stderr);
}

const char *cli_libmsg(const char *msg)
{
	static __thread char buf[1024];
	char *u;

	/* "udax_dev_open: ..." -> "..." */
	if (!strncmp(msg, "udax_", 5)) {
		const char *p = msg + strspn(msg, "abcdefghijklmnopqrstuvwxyz_0123456789");

		if (p[0] == ':' && p[1] == ' ')
			msg = p + 2;
	}
	snprintf(buf, sizeof(buf), "%s", msg);
	/* Cut each clause that names a library flag: from the "(", ";" or ","
	 * that opens it to its ")" or the end. */
	while ((u = strstr(buf, "UDAX_"))) {
		char *open = u, *end;

		while (open > buf && !strchr("(;,", *open))
			open--;
		if (open == buf)	/* the whole message is about the flag */
			break;
		end = *open == '(' ? strchr(u, ')') : NULL;
		end = end ? end + 1 : u + strlen(u);
		while (open > buf && open[-1] == ' ')
			open--;
		memmove(open, end, strlen(end) + 1);
	}
	return buf;
}

bool cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end || (shift && v > (~0ull >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

const char *cli_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

bool cli_progress(void)
{
	return isatty(STDERR_FILENO);
}

/* ---- the progress ticker ------------------------------------------------------ */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t tid;
	bool running, stop, drawn;
	char what[160];
	struct timespec t0;
} tick = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static double tick_elapsed(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - tick.t0.tv_sec) + (double)(t.tv_nsec - tick.t0.tv_nsec) / 1e9;
}

static void *ticker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tick.lock);
	while (!tick.stop) {
		struct timespec until;
		double t = tick_elapsed();

		/* Quick steps show nothing: a line only after half a second. */
		if (t >= 0.5) {
			fprintf(stderr, "\r\033[K%s... %.1f s", tick.what, t);
			fflush(stderr);
			tick.drawn = true;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&tick.cond, &tick.lock, &until);
	}
	if (tick.drawn) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	pthread_mutex_unlock(&tick.lock);
	return NULL;
}

void cli_ticker_start(const char *fmt, ...)
{
	va_list ap;

	if (!cli_progress())
		return;
	cli_ticker_stop();
	va_start(ap, fmt);
	vsnprintf(tick.what, sizeof(tick.what), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_MONOTONIC, &tick.t0);
	tick.stop = false;
	tick.drawn = false;
	tick.running = !pthread_create(&tick.tid, NULL, ticker, NULL);
}

void cli_ticker_stop(void)
{
	if (!tick.running)
		return;
	pthread_mutex_lock(&tick.lock);
	tick.stop = true;
	pthread_cond_signal(&tick.cond);
	pthread_mutex_unlock(&tick.lock);
	pthread_join(tick.tid, NULL);
	tick.running = false;
}

void cli_ticker_clear(void)
{
	if (!tick.running)
		return;
	/* The next tick redraws it, below what is printed now. */
	pthread_mutex_lock(&tick.lock);
	if (tick.drawn) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	pthread_mutex_unlock(&tick.lock);
}

/* ---- options ------------------------------------------------------------------ */

bool cli_parse_part(const char *cmd, const char *arg, unsigned *part)
{
	uint64_t v;

	if (!cli_parse_size(arg, &v) || v >= UDAX_DEV_MAX_PARTS) {
		cli_err(cmd, 0, "bad partition '%s' (0 to %d)", arg, UDAX_DEV_MAX_PARTS - 1);
		return false;
	}
	*part = (unsigned)v;
	return true;
}

void cli_bad_option(const char *cmd, int c, int argc, char **argv)
{
	/* The option strings start with ':': ':' is a missing argument. */
	const char *arg = optind - 1 < argc && optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		cli_err(cmd, 0, "option '%s' needs an argument (udax %s --help)", arg, cmd);
	else if (optopt && optopt < 256)
		cli_err(cmd, 0, "unknown option '-%c' (udax %s --help)", optopt, cmd);
	else
		cli_err(cmd, 0, "unknown option '%s' (udax %s --help)", arg, cmd);
}

/* ---- devices ------------------------------------------------------------------ */

int cli_open_dev(const char *cmd, const char *spec, uint64_t create_size,
		 struct udax_dev **dev)
{
	struct udax_dev_opts o = { 0 };
	const char *msg;
	int ret;

	if (create_size) {
		o.flags = UDAX_DEV_CREATE;
		o.size = create_size;
	}
	ret = udax_dev_open(spec, &o, dev);
	if (ret) {
		msg = udax_dev_last_error();
		/* The library's advice is a flag: give the command's own. */
		if (strstr(msg, "UDAX_DEV_CREATE"))
			cli_err(cmd, 0, "%s (%s)", cli_libmsg(msg),
				!strcmp(cmd, "mkfs") ? "give --size SIZE" :
				"udax mkfs --size SIZE DEVICE makes it");
		else
			cli_err(cmd, 0, "%s", cli_libmsg(msg));
	}
	return ret;
}

int cli_mount(const char *cmd, const char *spec, unsigned part, bool ro,
	      struct udax_dev **dev, struct udax_fs **fs)
{
	struct udax_mount_opts mo = { .flags = ro ? UDAX_MOUNT_RDONLY : 0 };
	int ret, n;

	ret = cli_open_dev(cmd, spec, 0, dev);
	if (ret)
		return ret;
	n = udax_dev_part_count(*dev);
	if (n >= 0 && part >= (unsigned)n) {
		cli_err(cmd, 0, "%s has no partition %u (it has %d; -P N chooses one)",
			spec, part, n);
		udax_dev_close(dev, 0);
		return -ENOENT;
	}
	ret = udax_mount(*dev, part, &mo, fs);
	if (ret) {
		cli_err(cmd, 0, "cannot mount partition %u of %s: %s%s", part, spec,
			cli_libmsg(udax_fs_last_error()),
			ret == -EUCLEAN ? " (udax fsck checks it)" :
			ret == -ENODATA ? " (udax mkfs makes one)" : "");
		udax_dev_close(dev, 0);
	}
	return ret;
}

int cli_unmount(const char *cmd, struct udax_dev **dev, struct udax_fs **fs)
{
	int ret, first = 0;

	/* Never blocks forever: pins are the command's own and gone by now,
	 * but should one leak, unmount gives up after CLI_UNMOUNT_NS and says
	 * why (the device then refuses to close while mounted, and the
	 * process exit releases both). */
	const struct udax_break_opts brk = { .mode = UDAX_BREAK_TIMEOUT,
					     .timeout_ns = CLI_UNMOUNT_NS };

	if (*fs && (ret = udax_unmount_ex(fs, &brk))) {
		cli_err(cmd, 0, "unmount: %s", cli_libmsg(udax_fs_last_error()));
		first = ret;
	}
	if (*dev && (ret = udax_dev_close(dev, 0))) {
		cli_err(cmd, 0, "close: %s", cli_libmsg(udax_dev_last_error()));
		first = first ? first : ret;
	}
	return first;
}

/* ---- JSON --------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at @s (1-4), or 0. */
static int utf8_len(const unsigned char *s)
{
	int n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		int n = utf8_len(s);

		if (!n) {
			fputs("\xef\xbf\xbd", f);	/* U+FFFD */
			s++;
		} else if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s++, f);
		} else if (*s == '\n') {
			fputs("\\n", f), s++;
		} else if (*s == '\t') {
			fputs("\\t", f), s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else {
			fwrite(s, 1, (size_t)n, f);
			s += n;
		}
	}
	fputc('"', f);
}

/* The separator and the key of a new value. */
static void json_member(struct cli_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		json_string(j->f, key);
		fputc(':', j->f);
	}
}

static void json_open(struct cli_json *j, const char *key, char c)
{
	json_member(j, key);
	fputc(c, j->f);
	/* Deeper than the stack: the writer's callers nest a few levels. */
	if (j->depth + 1 < (int)sizeof(j->closer))
		j->depth++;
	j->first[j->depth] = true;
	j->closer[j->depth] = c == '{' ? '}' : ']';
}

void cli_json_obj(struct cli_json *j, const char *key)
{
	json_open(j, key, '{');
}

void cli_json_arr(struct cli_json *j, const char *key)
{
	json_open(j, key, '[');
}

void cli_json_close(struct cli_json *j)
{
	fputc(j->closer[j->depth], j->f);
	if (j->depth > 0)
		j->depth--;
}

void cli_json_start(struct cli_json *j, FILE *f, const char *command)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
	cli_json_obj(j, NULL);
	cli_json_u64(j, "schema_version", CLI_JSON_SCHEMA);
	cli_json_str(j, "command", command);
}

void cli_json_end(struct cli_json *j)
{
	while (j->depth > 0)
		cli_json_close(j);
	fputc('\n', j->f);
	fflush(j->f);
}

void cli_json_str(struct cli_json *j, const char *key, const char *s)
{
	json_member(j, key);
	if (s)
		json_string(j->f, s);
	else
		fputs("null", j->f);
}

void cli_json_u64(struct cli_json *j, const char *key, uint64_t v)
{
	json_member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void cli_json_i64(struct cli_json *j, const char *key, int64_t v)
{
	json_member(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void cli_json_bool(struct cli_json *j, const char *key, bool v)
{
	json_member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void cli_json_null(struct cli_json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}

void cli_json_time(struct cli_json *j, const char *key, int64_t sec, long nsec)
{
	cli_json_obj(j, key);
	cli_json_i64(j, "sec", sec);
	cli_json_i64(j, "nsec", nsec);
	cli_json_close(j);
}

const char *cli_type_name(uint32_t mode)
{
	return S_ISDIR(mode) ? "directory" : S_ISREG(mode) ? "file" :
	       S_ISLNK(mode) ? "symlink" : "other";
}

const char *cli_link_target(struct udax_fs *fs, const char *path, char *buf, size_t len)
{
	ssize_t n = udax_readlink(fs, path, buf, len - 1);

	if (n < 0)
		return "?";
	buf[n] = '\0';
	return buf;
}

void cli_json_stat(struct cli_json *j, const struct udax_stat *st)
{
	char mode[8];

	cli_json_u64(j, "ino", st->ino);
	cli_json_str(j, "type", cli_type_name(st->mode));
	snprintf(mode, sizeof(mode), "%04o", st->mode & 07777);
	cli_json_str(j, "mode", mode);
	cli_json_u64(j, "nlink", st->nlink);
	cli_json_u64(j, "uid", st->uid);
	cli_json_u64(j, "gid", st->gid);
	cli_json_u64(j, "size", st->size);
	cli_json_u64(j, "blocks", st->blocks);
	cli_json_u64(j, "block_size", UDAX_FS_BLOCK_SIZE);
	cli_json_time(j, "atime", st->atime.tv_sec, st->atime.tv_nsec);
	cli_json_time(j, "mtime", st->mtime.tv_sec, st->mtime.tv_nsec);
	cli_json_time(j, "ctime", st->ctime.tv_sec, st->ctime.tv_nsec);
	cli_json_time(j, "btime", st->btime.tv_sec, st->btime.tv_nsec);
}

void cli_json_statfs(struct cli_json *j, const struct udax_statfs *st)
{
	cli_json_str(j, "label", st->label);
	cli_json_time(j, "created", st->mkfs_time.tv_sec, st->mkfs_time.tv_nsec);
	cli_json_u64(j, "block_size", st->block_size);
	cli_json_u64(j, "blocks", st->blocks);
	cli_json_u64(j, "blocks_free", st->blocks_free);
	cli_json_u64(j, "blocks_busy", st->blocks_busy);
	cli_json_u64(j, "size_bytes", st->blocks * st->block_size);
	cli_json_u64(j, "used_bytes", (st->blocks - st->blocks_free) * st->block_size);
	cli_json_u64(j, "free_bytes", st->blocks_free * st->block_size);
	cli_json_u64(j, "inodes", st->inodes);
	cli_json_u64(j, "inodes_free", st->inodes_free);
	cli_json_u64(j, "name_max", st->name_max);
	cli_json_bool(j, "shutdown", st->flags & UDAX_STATFS_SHUTDOWN);
}

/* ---- file-system subcommands --------------------------------------------------- */

int cli_fscmd_parse(struct cli_fscmd *c, int argc, char **argv)
{
	struct option opts[24];
	char shortopts[64];
	size_t n = 0;
	int ch;

	/* The command's own options, then -P, --json (where it has it), -h. */
	for (const struct option *o = c->opts; o && o->name && n < 18; o++)
		opts[n++] = *o;
	opts[n++] = (struct option){ "part", required_argument, NULL, 'P' };
	opts[n++] = (struct option){ "partition", required_argument, NULL, 'P' };
	if (c->has_json)
		opts[n++] = (struct option){ "json", no_argument, NULL, CLI_OPT_JSON };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	snprintf(shortopts, sizeof(shortopts), ":%sP:h", c->shortopts ? c->shortopts : "");
	c->part = 0;
	c->json = false;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (ch) {
		case 'P':
			if (!cli_parse_part(c->name, optarg, &c->part))
				return -EXIT_USAGE;
			break;
		case CLI_OPT_JSON:
			c->json = true;
			break;
		case 'h':
			fputs(c->usage, stdout);
			return -EXIT_OK;
		case '?':
		case ':':
			cli_bad_option(c->name, ch, argc, argv);
			if (ch == '?' && optopt == 'p')	/* a script from before -P */
				fprintf(stderr, "udax %s: the partition is chosen with -P N\n",
					c->name);
			return -EXIT_USAGE;
		default:
			if (!c->opt || c->opt(c, ch, optarg))
				return -EXIT_USAGE;
		}
	}
	/* DEVICE and the operands. */
	if (argc - optind < 1 + c->min_args ||
	    (c->max_args >= 0 && argc - optind > 1 + c->max_args)) {
		cli_err(c->name, 0, "%s (udax %s --help)", argc - optind < 1 + c->min_args ?
			"missing operand" : "too many operands", c->name);
		fputs(c->usage, stderr);
		return -EXIT_USAGE;
	}
	return optind;
}

const char *cli_fspath(const char *path, char *buf, size_t len)
{
	if (path[0] == '/')
		return path;
	snprintf(buf, len, "/%s", path);
	return buf;
}
