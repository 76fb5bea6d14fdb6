/* SPDX-License-Identifier: MIT */
/* The udax command: shared helpers of the subcommand files. */
#ifndef UDAX_CLI_H
#define UDAX_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

/* The JSON documents' version (docs/cli.md): bumped on any change that is
 * not a new field. */
#define CLI_JSON_SCHEMA	1

struct udax_dev;
struct udax_fs;
struct udax_stat;
struct udax_statfs;

/* Print "udax CMD: message" to stderr, with the library's reason. */
void cli_err(const char *cmd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * A library message as the command shows it: without the library
 * function's name in front and without advice that names library flags
 * ("pass UDAX_..."), which mean nothing to a command-line user.
 */
const char *cli_libmsg(const char *msg);
/* Parse "64M", "1G", "4096"; false on garbage or overflow. */
bool cli_parse_size(const char *s, uint64_t *out);
/* Format a byte count as "64.0 MiB". */
const char *cli_size(uint64_t bytes, char *buf, size_t len);
/* Is stderr a terminal (show progress)? */
bool cli_progress(void);

/*
 * A progress line on stderr while a step without its own progress runs
 * (mkfs, fsck of one partition): "\rWHAT... 3.2 s", redrawn by a thread
 * every 200 ms from half a second on.  Only when stderr is a terminal;
 * never in a pipe.
 */
void cli_ticker_start(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_ticker_stop(void);
/* Erase the line before printing something else on the terminal. */
void cli_ticker_clear(void);

/* The partition option every file-system subcommand takes: -P N, --part N
 * (--partition N is the same).  Long-only options use values >= 256. */
enum { CLI_OPT_JSON = 256 };
#define CLI_LONGOPT_PART						\
	{ "part", required_argument, NULL, 'P' },			\
	{ "partition", required_argument, NULL, 'P' }
#define CLI_LONGOPT_JSON { "json", no_argument, NULL, CLI_OPT_JSON }
#define CLI_HELP_PART \
	"  -P, --part N          the partition (default 0)\n"
/* Parse -P's argument; prints the error. */
bool cli_parse_part(const char *cmd, const char *arg, unsigned *part);
/* The getopt error @c ('?' or ':') as a message. */
void cli_bad_option(const char *cmd, int c, int argc, char **argv);

/* Open @spec (file devices are created with @create_size if non-zero). */
int cli_open_dev(const char *cmd, const char *spec, uint64_t create_size,
		 struct udax_dev **dev);
/* Open @spec and mount partition @part (read-only if @ro). */
int cli_mount(const char *cmd, const char *spec, unsigned part, bool ro,
	      struct udax_dev **dev, struct udax_fs **fs);
/* Unmount (waiting at most CLI_UNMOUNT_NS for pins) and close; 0 or the
 * first error (printed). */
#define CLI_UNMOUNT_NS	(10ll * 1000 * 1000 * 1000)
int cli_unmount(const char *cmd, struct udax_dev **dev, struct udax_fs **fs);

/*
 * The file-system subcommands: "udax NAME [options] DEVICE OPERAND...",
 * each with -P N, -h and (@has_json) --json besides its own options,
 * which @opt handles (nonzero: a usage error, already printed).
 */
struct cli_fscmd {
	const char *name;
	const char *usage;		/* the --help text */
	const char *shortopts;		/* the command's own, e.g. "pm:" */
	const struct option *opts;	/* the command's own long options */
	int (*opt)(struct cli_fscmd *c, int ch, const char *arg);
	int min_args, max_args;		/* operands after DEVICE; max -1: any */
	bool has_json;
	void *priv;			/* for @opt */
	/* Results: */
	unsigned part;
	bool json;
};
/* The index of DEVICE in @argv (> 0), or -EXIT_OK (0: help printed) or
 * -EXIT_USAGE. */
int cli_fscmd_parse(struct cli_fscmd *c, int argc, char **argv);
/* A path as the file system takes it: one without a leading '/' is taken
 * from the root. */
const char *cli_fspath(const char *path, char *buf, size_t len);

struct udax_file;
/* Copy @f (PATH) to @hfd (HOST); progress on a terminal if @show; 0 or
 * -errno (printed). */
int cli_copy_out(const char *cmd, struct udax_file *f, const char *path, int hfd,
		 const char *host, bool show);

/* ---- JSON (docs/cli.md) ------------------------------------------------------ */

/*
 * A compact JSON writer: each value is a member of the enclosing object
 * (named by @key) or an element of the enclosing array (@key NULL).
 * Strings are escaped (quote, backslash, control characters) and kept
 * valid UTF-8: a byte that is not part of a valid sequence is written as
 * U+FFFD.
 */
struct cli_json {
	FILE *f;
	int depth;
	bool first[16];
	char closer[16];
};
void cli_json_start(struct cli_json *j, FILE *f, const char *command);
void cli_json_end(struct cli_json *j);
void cli_json_obj(struct cli_json *j, const char *key);
void cli_json_arr(struct cli_json *j, const char *key);
void cli_json_close(struct cli_json *j);	/* the innermost object or array */
void cli_json_str(struct cli_json *j, const char *key, const char *s);
void cli_json_u64(struct cli_json *j, const char *key, uint64_t v);
void cli_json_i64(struct cli_json *j, const char *key, int64_t v);
void cli_json_bool(struct cli_json *j, const char *key, bool v);
void cli_json_null(struct cli_json *j, const char *key);
/* {"sec":S,"nsec":N} */
void cli_json_time(struct cli_json *j, const char *key, int64_t sec, long nsec);
/* The members of a file's object, and of a file system's (docs/cli.md),
 * into the object open now. */
void cli_json_stat(struct cli_json *j, const struct udax_stat *st);
void cli_json_statfs(struct cli_json *j, const struct udax_statfs *st);
/* "file", "directory", "symlink" or "other". */
const char *cli_type_name(uint32_t mode);
/* Symbolic link @path's target, NUL-ended in @buf (@len bytes, cut to
 * fit); "?" if it cannot be read. */
const char *cli_link_target(struct udax_fs *fs, const char *path, char *buf, size_t len);

int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_mkfs(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_mkdir(int argc, char **argv);
int cmd_rmdir(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_mv(int argc, char **argv);
int cmd_ln(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_truncate(int argc, char **argv);
int cmd_df(int argc, char **argv);
int cmd_dmatest(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_mount(int argc, char **argv);

#endif
