/* SPDX-License-Identifier: MIT */
/* Asserting that a refusal names its cause (the layers' last_error()). */
#ifndef UDAX_MSG_UTIL_H
#define UDAX_MSG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* @expr gives @want, and @msgfn() then contains every string of the list. */
#define T_EXPECT_CAUSE(msgfn, expr, want, ...) do {			\
	long _rc = (long)(expr);					\
	const char *_subs[] = { __VA_ARGS__ };				\
	if (_rc != (long)(want)) {					\
		fprintf(stderr, "%s:%d: %s returned %ld (%s), want %ld (%s): %s\n",\
			__FILE__, __LINE__, #expr, _rc, t_errname(_rc),	\
			(long)(want), t_errname(want), msgfn());	\
		exit(1);						\
	}								\
	for (size_t _i = 0; _i < sizeof(_subs) / sizeof(_subs[0]); _i++)\
		if (!strstr(msgfn(), _subs[_i])) {			\
			fprintf(stderr, "%s:%d: %s: message \"%s\" lacks \"%s\"\n",\
				__FILE__, __LINE__, #expr, msgfn(), _subs[_i]);\
			exit(1);					\
		}							\
} while (0)

#endif
