/* SPDX-License-Identifier: MIT */
/*
 * What the crash-explorer tests (tests/fs/crash/fs_crash.c,
 * fs_crash_recovery.c, tests/dev/dev_crash_part.c) share: the mode options
 * (--long, --quick, --torn, --no-torn, --list and UDAX_CRASH_LONG /
 * UDAX_CRASH_QUICK), the plan each
 * mode asks of the explorer, the tally of images and failures, and the
 * fixed parts of their output (replay lines, pass headers, totals), so that
 * one replay line or total reads the same in each.
 */
#ifndef UDAX_CRASH_UTIL_H
#define UDAX_CRASH_UTIL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <udax/crash.h>

#include "testutil.h"

struct crash_test {
	bool long_mode, quick, list;	/* --long beats --quick */
	int torn;			/* 1 --torn, 0 --no-torn, -1 the mode's */
	const char *argv0;
	long max_failures;		/* stop after as many; 0: never */
	unsigned unit_bytes;		/* of the pass under way */
	long images, failures;
	bool stopping;			/* max_failures reached */
};

/* The entries of a getopt_long table that crash_test_option() takes. */
#define CRASH_TEST_OPTIONS					\
	{ "long", no_argument, NULL, 'l' },			\
	{ "quick", no_argument, NULL, 'q' },			\
	{ "torn", no_argument, NULL, 't' },			\
	{ "no-torn", no_argument, NULL, 'T' },			\
	{ "list", no_argument, NULL, 'L' }

/* Before the options: the environment's mode. */
static inline void crash_test_init(struct crash_test *t, const char *argv0)
{
	t->argv0 = argv0;
	t->torn = -1;
	t->long_mode = t_env_on("UDAX_CRASH_LONG");
	t->quick = t_env_on("UDAX_CRASH_QUICK") && !t->long_mode;
}

/* Take getopt_long's @o if it is one of CRASH_TEST_OPTIONS: whether it was. */
static inline bool crash_test_option(struct crash_test *t, int o)
{
	switch (o) {
	case 'l': t->long_mode = true; break;
	case 'q': t->quick = true; break;
	case 't': t->torn = 1; break;
	case 'T': t->torn = 0; break;
	case 'L': t->list = true; break;
	default: return false;
	}
	if (t->long_mode)
		t->quick = false;
	return true;
}

static inline const char *crash_test_mode(const struct crash_test *t)
{
	return t->long_mode ? "long" : t->quick ? "quick" : "default (CI)";
}

/*
 * The structured families of a sampled epoch's plan: every one in long
 * mode; prefixes and singles by default, unless @sparse; none of them with
 * --quick.
 */
static inline unsigned crash_test_plan_flags(const struct crash_test *t, bool sparse)
{
	if (t->long_mode)
		return 0;
	if (t->quick || sparse)
		return UDAX_CRASH_NO_PREFIXES | UDAX_CRASH_NO_SINGLES |
		       UDAX_CRASH_NO_ALL_BUT;
	return UDAX_CRASH_NO_ALL_BUT;
}

/* What a pass with units of @unit_bytes crashes ("--- 64-byte units (...)"). */
static inline const char *crash_unit_what(unsigned unit_bytes)
{
	return unit_bytes == UDAX_CRASH_WORD ? "torn lines: each changed 8-byte "
	       "word of a flushed line on its own" : "whole cache lines";
}

/* Count a failure; stopping once there are max_failures of them. */
static inline void crash_test_failed(struct crash_test *t)
{
	t->failures++;
	if (t->max_failures && t->failures >= t->max_failures)
		t->stopping = true;
}

/* The marker of a case's output line: whether it failed since @fail0. */
static inline const char *crash_test_failed_since(const struct crash_test *t,
						  long fail0)
{
	return t->failures > fail0 ? "  FAILED" : "";
}

/*
 * The start of a failure's replay line, on stderr: "  replay: PROGRAM",
 * " --long" when @with_long, " --torn" in the torn pass; the caller adds
 * what selects the image and the newline.
 */
static inline void crash_replay_start(const struct crash_test *t, bool with_long)
{
	fprintf(stderr, "  replay: %s%s%s", t->argv0, with_long ? " --long" : "",
		t->unit_bytes == UDAX_CRASH_WORD ? " --torn" : "");
}

/* The totals; the exit status (1 if anything failed). */
static inline int crash_test_totals(const struct crash_test *t)
{
	if (t->stopping)
		printf("stopped after %ld failures\n", t->failures);
	printf("crash images checked %ld, failures %ld\n", t->images, t->failures);
	return t->failures ? 1 : 0;
}

#endif
