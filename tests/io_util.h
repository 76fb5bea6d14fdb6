/* SPDX-License-Identifier: MIT */
/* Helpers shared by the io tests (built only with liburing). */
#ifndef UDAX_IO_UTIL_H
#define UDAX_IO_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <udax/io.h>

#include "testutil.h"

/* io_uring may be disabled (io_uring_disabled sysctl, seccomp): skip. */
static inline struct udax_io *io_new_or_skip(const struct udax_io_opts *o)
{
	struct udax_io *io;
	int ret = udax_io_new(o, &io);

	if (ret == -ENOSYS || ret == -EPERM) {
		printf("io_uring unavailable (%s): skipped\n", udax_io_last_error());
		exit(T_SKIP);
	}
	T_EXPECT_ERR(ret, 0);
	return io;
}

#endif
