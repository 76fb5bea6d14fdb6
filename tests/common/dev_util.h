/* SPDX-License-Identifier: MIT */
/* Helpers for the device layer's tests (tests/dev/dev_*.c). */
#ifndef UDAX_DEV_UTIL_H
#define UDAX_DEV_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <udax/dev.h>

#include "testutil.h"

/* @expr gives @want, and udax_dev_last_error() then contains @substr. */
#define T_EXPECT_MSG(expr, want, substr) do {				\
	long _r2 = (long)(expr);					\
	if (_r2 != (long)(want)) {					\
		fprintf(stderr, "%s:%d: %s returned %ld (%s), want %ld;"\
			" last error: %s\n", __FILE__, __LINE__, #expr,	\
			_r2, t_errname(_r2), (long)(want),		\
			udax_dev_last_error());				\
		exit(1);						\
	}								\
	if (!strstr(udax_dev_last_error(), (substr))) {			\
		fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n",	\
			__FILE__, __LINE__, udax_dev_last_error(),	\
			(substr));					\
		exit(1);						\
	}								\
} while (0)

/* Assert success, printing the device layer's message otherwise. */
#define T_OK(expr) do {							\
	long _r3 = (long)(expr);					\
	if (_r3 < 0) {							\
		fprintf(stderr, "%s:%d: %s failed: %ld (%s): %s\n",	\
			__FILE__, __LINE__, #expr, _r3, t_errname(_r3),	\
			udax_dev_last_error());				\
		exit(1);						\
	}								\
} while (0)

/* A fresh directory under $TMPDIR (or /tmp); the path is static. */
static inline const char *t_tmpdir(void)
{
	static char dir[256];
	const char *base = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/udax-dev-XXXXXX",
		 base && base[0] ? base : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	return dir;
}

static inline struct udax_dev *t_open_mem(const char *spec, unsigned pgmap_flags)
{
	struct udax_dev_opts o = { .pgmap_flags = pgmap_flags };
	struct udax_dev *dev = NULL;

	T_OK(udax_dev_open(spec, &o, &dev));
	T_ASSERT(dev);
	return dev;
}

#define MiB (1ull << 20)

#endif
