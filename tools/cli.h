/* SPDX-License-Identifier: MIT */
/* The udax command: shared helpers of the subcommand files. */
#ifndef UDAX_CLI_H
#define UDAX_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

struct udax_dev;
struct udax_fs;

/* Print "udax CMD: message" to stderr, with the library's reason. */
void cli_err(const char *cmd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Parse "64M", "1G", "4096"; false on garbage or overflow. */
bool cli_parse_size(const char *s, uint64_t *out);
/* Format a byte count as "64.0 MiB". */
const char *cli_size(uint64_t bytes, char *buf, size_t len);
/* Is stderr a terminal (show progress)? */
bool cli_progress(void);

/* Open @spec (file devices are created with @create_size if non-zero). */
int cli_open_dev(const char *cmd, const char *spec, uint64_t create_size,
		 struct udax_dev **dev);
/* Open @spec and mount partition @part (read-only if @ro). */
int cli_mount(const char *cmd, const char *spec, unsigned part, bool ro,
	      struct udax_dev **dev, struct udax_fs **fs);
/* Unmount (waiting at most CLI_UNMOUNT_NS for pins) and close, saying why
 * either fails. */
#define CLI_UNMOUNT_NS	(10ll * 1000 * 1000 * 1000)
void cli_unmount(struct udax_dev **dev, struct udax_fs **fs);

int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_mkfs(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_dmatest(int argc, char **argv);
int cmd_fsck(int argc, char **argv);

#endif
