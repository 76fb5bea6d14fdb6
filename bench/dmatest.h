/* SPDX-License-Identifier: MIT */
#ifndef UDAX_DMATEST_H
#define UDAX_DMATEST_H

#include <stdint.h>

struct bench_report;

struct dmatest_opts {
	const char *device;		/* udax device spec (formatted) */
	const char *kernel_dir;		/* kernel directory, or NULL: udax only */
	const char *source;		/* O_DIRECT file or block device (fast) */
	const char *slow_source;	/* O_DIRECT slow device, or NULL: a pipe */
	uint64_t slow_rate;		/* pipe bytes per second */
	uint64_t blocks;		/* blocks of the file under test */
	long fill_cap;			/* at most this many blocks of filler (0: fill) */
	const char *only;		/* run one scenario */
	const char *exclude;		/* skip one scenario */
};

int dmatest_run(const struct dmatest_opts *o, struct bench_report *r);

#endif
