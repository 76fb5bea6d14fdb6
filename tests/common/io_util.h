/* SPDX-License-Identifier: MIT */
/* Helpers shared by the io tests (built only with liburing). */
#ifndef UDAX_IO_UTIL_H
#define UDAX_IO_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
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

/* The byte at offset @i of the tests' source files. */
static inline uint8_t io_pat(uint64_t i)
{
	return (uint8_t)((i * 7919u) >> 3);
}

/*
 * A source for DMA: write @len bytes of @data to @path (durably), then
 * reopen it O_DIRECT for reading, so a read from it is a device DMA into
 * the destination pages.  Skips the test where O_DIRECT is refused.
 */
static inline int io_direct_source(const char *test, const char *path,
				   const void *data, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	T_ASSERT(fd >= 0);
	T_ASSERT(pwrite(fd, data, len, 0) == (ssize_t)len && fsync(fd) == 0);
	close(fd);
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		printf("%s: O_DIRECT not supported for %s: skipped\n", test, path);
		exit(T_SKIP);
	}
	return fd;
}

/* A file to DMA out to, O_DIRECT; skips the test likewise. */
static inline int io_direct_sink(const char *test, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);

	if (fd < 0) {
		printf("%s: O_DIRECT not supported for %s: skipped\n", test, path);
		exit(T_SKIP);
	}
	return fd;
}

#endif
