/* SPDX-License-Identifier: MIT */
#ifndef UDAX_FS_BENCH_H
#define UDAX_FS_BENCH_H

#include <stdint.h>

struct bench_report;

struct fs_bench_opts {
	const char *device;		/* udax device spec (default mem:512M,persist=cpu) */
	const char *kernel_dir;		/* kernel directory (default /dev/shm) */
	uint64_t file_size;		/* big-file size (default 64 MiB) */
	long ops;			/* timed calls per small-op figure */
	/* scale mode */
	const char *dir_sizes;		/* "100,1000,10000,100000" */
	uint64_t grow_size;		/* alternate growth, per file (64 MiB) */
	uint64_t thread_size;		/* appended per thread (16 MiB) */
};

/* udax against the kernel directory and the device's physical floor;
 * 0 or -errno. */
int fs_bench_run(const struct fs_bench_opts *o, struct bench_report *r);
/* The scale curves (directory size, file growth, threads, views). */
int fs_bench_scale(const struct fs_bench_opts *o, struct bench_report *r);

#endif
