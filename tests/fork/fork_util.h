/* SPDX-License-Identifier: MIT */
/* Helpers for the fork() tests (tests/fork/fork_*.c). */
#ifndef UDAX_FORK_UTIL_H
#define UDAX_FORK_UTIL_H

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <udax/error.h>

#include "testutil.h"

/*
 * In a child: @expr must fail with -ESTALE and @msg (the layer's last
 * error) must tell what to do.  Exits the child with 1 otherwise.
 */
#define FORK_STALE(expr, msg) do {					\
	long _r = (long)(expr);						\
	const char *_m = (msg);						\
	if (_r != -ESTALE || !strstr(_m, "fork") ||			\
	    !strstr(_m, "open the device anew")) {			\
		fprintf(stderr, "%s:%d: child: %s returned %ld (%s), "	\
			"want -ESTALE; message: %s\n", __FILE__,	\
			__LINE__, #expr, _r, t_errname(_r), _m);	\
		_exit(1);						\
	}								\
} while (0)

/* In a child: assert, exiting the child (not running atexit handlers). */
#define FORK_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: child: assertion failed: %s\n",	\
			__FILE__, __LINE__, #cond);			\
		_exit(1);						\
	}								\
} while (0)

static sigjmp_buf fork_fault_jmp;

static void fork_fault_handler(int sig)
{
	siglongjmp(fork_fault_jmp, sig);
}

/*
 * Does a store of one byte at @p fault (SIGSEGV or SIGBUS) in this
 * process?  A fault is caught and undone; a store that lands is reported.
 */
static inline bool fork_store_faults(void *p)
{
	struct sigaction sa = { .sa_handler = fork_fault_handler }, old_segv, old_bus;
	volatile bool faulted = false;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(fork_fault_jmp, 1) == 0)
		*(volatile char *)p = 0x5a;
	else
		faulted = true;
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return faulted;
}

/*
 * Run @fn(@arg) in a child; return its exit status (-1: killed by a
 * signal).  With @timeout_s > 0, a child still running after that long is
 * killed and -2 returned (a child that hangs with its signals blocked).
 */
static inline int fork_run_timeout(void (*fn)(void *), void *arg, int timeout_s)
{
	int st, waited_ms = 0;
	pid_t pid, r;

	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	while ((r = waitpid(pid, &st, timeout_s > 0 ? WNOHANG : 0)) == 0) {
		if (waited_ms >= timeout_s * 1000) {
			fprintf(stderr, "child hung for %d s: killed\n", timeout_s);
			kill(pid, SIGKILL);
			T_ASSERT(waitpid(pid, &st, 0) == pid);
			return -2;
		}
		usleep(10000);
		waited_ms += 10;
	}
	T_ASSERT(r == pid);
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "child killed by signal %d\n", WTERMSIG(st));
		return -1;
	}
	return WEXITSTATUS(st);
}

/* Run @fn(@arg) in a child; return its exit status (-1: killed). */
static inline int fork_run(void (*fn)(void *), void *arg)
{
	return fork_run_timeout(fn, arg, 0);
}

#endif
