/* SPDX-License-Identifier: MIT */
/*
 * Static key, one thread: the branch follows the count, and in patched mode
 * each site's first byte is 0x3d while its key is disabled and 0xe9 while
 * it is enabled; in flag mode (UDAX_STATIC_KEY=flag) every site stays 0xe9.
 * A dec without its inc aborts the process.
 */
#include "testutil.h"
#include "pagemap/static_key_internal.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <udax/static_key.h>

/* Built with the patching code at all (else: flag mode, always). */
#if UDAX_HAVE_JUMP_LABEL && defined(__x86_64__)
#define CAN_PATCH 1
#else
#define CAN_PATCH 0
#endif
/* The header emits table entries for this file's sites (not at -O0). */
#if CAN_PATCH && defined(__OPTIMIZE__)
#define HAVE_SITES 1
#else
#define HAVE_SITES 0
#endif

#define MAX_SITES 16

static struct udax_static_key tkey = UDAX_STATIC_KEY_INIT_FALSE;
/* A second key, never enabled: toggling tkey must leave its site alone. */
static struct udax_static_key okey = UDAX_STATIC_KEY_INIT_FALSE;

static __attribute__((noinline)) bool tkey_on(void)
{
	return udax_static_branch_unlikely(&tkey);
}

/* A second site of tkey, in a function of its own. */
static __attribute__((noinline)) int tkey_add(int x)
{
	if (udax_static_branch_unlikely(&tkey))
		return x + 1;
	return x;
}

static __attribute__((noinline)) bool okey_on(void)
{
	return udax_static_branch_unlikely(&okey);
}

static enum udax_static_key_mode mode;

/* Every site of @key holds the byte its state asks for in this mode. */
static void check_sites(const struct udax_static_key *key, bool enabled)
{
	const unsigned char *sites[MAX_SITES];
	unsigned nr, i;
	unsigned char want;

	nr = udax_static_key_sites(key, sites, MAX_SITES);
	T_ASSERT(nr == udax_static_key_nr_sites(key));
	T_ASSERT(nr <= MAX_SITES);
	if (mode == UDAX_STATIC_KEY_PATCHED && !enabled)
		want = UDAX_SK_OP_CMP;
	else
		want = UDAX_SK_OP_JMP;
	for (i = 0; i < nr; i++) {
		unsigned char b = udax_static_key_site_op(sites[i]);

		if (b != want) {
			fprintf(stderr, "site %u at %p: 0x%02x, want 0x%02x\n",
				i, (const void *)sites[i], b, want);
			T_ASSERT(b == want);
		}
	}
}

static void check(bool enabled)
{
	T_ASSERT(tkey_on() == enabled);
	T_ASSERT(tkey_add(41) == (enabled ? 42 : 41));
	T_ASSERT(udax_static_key_enabled(&tkey) == enabled);
	check_sites(&tkey, enabled);
	T_ASSERT(!okey_on());
	T_ASSERT(!udax_static_key_enabled(&okey));
	check_sites(&okey, false);
}

/* slow_dec on a key at count 0 must abort, loudly. */
static void check_underflow_aborts(void)
{
	struct rlimit no_core = { 0, 0 };
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGABRT, SIG_DFL);
		fprintf(stderr, "(child: expect an underflow message)\n");
		udax_static_key_slow_dec(&okey);
		_exit(0);
	}
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
	const char *env = getenv("UDAX_STATIC_KEY");
	const char *reason = NULL;
	long rounds, i;
	unsigned nr;

	mode = udax_static_key_mode(&reason);
	T_ASSERT(reason != NULL);
	printf("mode: %s (%s)\n",
	       mode == UDAX_STATIC_KEY_PATCHED ? "patched" : "flag", reason);
	if (env && strcmp(env, "flag") == 0)
		T_ASSERT(mode == UDAX_STATIC_KEY_FLAG);
	if (!CAN_PATCH)
		T_ASSERT(mode == UDAX_STATIC_KEY_FLAG);

	/* The compiler may duplicate a site, never drop one. */
	nr = udax_static_key_nr_sites(&tkey);
	printf("sites: tkey %u, okey %u, all %u\n", nr,
	       udax_static_key_nr_sites(&okey), udax_static_key_nr_sites(NULL));
	if (HAVE_SITES) {
		T_ASSERT(nr >= 2);
		T_ASSERT(udax_static_key_nr_sites(&okey) >= 1);
	} else {
		T_ASSERT(nr == 0);
	}

	check(false);
	udax_static_key_slow_inc(&tkey);
	check(true);
	udax_static_key_slow_inc(&tkey);
	check(true);
	udax_static_key_slow_dec(&tkey);
	check(true);
	udax_static_key_slow_dec(&tkey);
	check(false);

	rounds = t_iters(200);
	for (i = 0; i < rounds; i++) {
		udax_static_key_slow_inc(&tkey);
		check(true);
		udax_static_key_slow_dec(&tkey);
		check(false);
	}

	check_underflow_aborts();
	check(false);

	/* Nothing we did may have changed the mode. */
	T_ASSERT(udax_static_key_mode(NULL) == mode);
	printf("ok: %ld toggles\n", rounds);
	return 0;
}
