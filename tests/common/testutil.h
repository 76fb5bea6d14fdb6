/* SPDX-License-Identifier: MIT */
/* Small helpers for udax's test programs. */
#ifndef UDAX_TESTUTIL_H
#define UDAX_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define T_SKIP 77

/* Fail the test with a message naming the source line. */
#define T_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
			__FILE__, __LINE__, #cond);			\
		exit(1);						\
	}								\
} while (0)

/* Assert that an expression returning 0 / -errno gives @want. */
#define T_EXPECT_ERR(expr, want) do {					\
	long _r = (long)(expr);						\
	if (_r != (long)(want)) {					\
		fprintf(stderr, "%s:%d: %s returned %ld (%s), want %ld\n",\
			__FILE__, __LINE__, #expr, _r,			\
			t_errname(_r), (long)(want));			\
		exit(1);						\
	}								\
} while (0)

const char *t_errname(long err);
uint64_t t_now_ns(void);
/* Iteration count scaled by UDAX_TEST_SCALE (percent, default 100). */
long t_iters(long base);
/* Is environment variable @name set to something other than "" or "0"? */
int t_env_on(const char *name);
/* Anonymous, page-aligned memory of @size bytes standing in for a device. */
void *t_devmem(size_t size);
void t_devmem_free(void *p, size_t size);

#endif
