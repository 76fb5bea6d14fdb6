/* SPDX-License-Identifier: MIT */
#ifndef UDAX_FS_BENCH_H
#define UDAX_FS_BENCH_H

#include <stdint.h>

struct bench_report;

struct fs_bench_opts {
	const char *device;		/* udax device spec (default mem:512M) */
	const char *kernel_dir;		/* kernel directory (default /dev/shm) */
	uint64_t file_size;		/* big-file size (default 64 MiB) */
	long ops;			/* timed calls per small-op figure */
};

/* udax against the kernel directory; 0 or -errno. */
int fs_bench_run(const struct fs_bench_opts *o, struct bench_report *r);

#endif
