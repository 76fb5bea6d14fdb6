/* SPDX-License-Identifier: MIT */
/*
 * Static key under concurrency: worker threads evaluate two sites of a key
 * in a tight loop while the main thread enables and disables it thousands
 * of times, rewriting the sites under their feet in patched mode.
 *
 * Handshake, per generation g (odd: enabled, even: disabled):
 *   main:   slow_inc (g odd) or slow_dec (g even) returns; gen = g (release);
 *           waits until every worker has acknowledged g.
 *   worker: reads g (acquire); every evaluation it makes before it
 *           acknowledges g must give the state of g; then acknowledges.
 * Evaluations made after the acknowledgement may overlap the next
 * transition and may give either answer; they are counted, not checked,
 * and are what keeps the sites busy while their bytes change.
 *
 * Phase 2: threads inc and dec concurrently; between its own inc and dec a
 * thread must see the key enabled, whatever the others do.
 *
 * Fails if slow_inc can return before every thread sees the new state (a
 * missing or late patch, flag store or sync), if counting is wrong, or on
 * any crash: SIGILL/SIGSEGV/SIGBUS/SIGTRAP are caught and reported.
 */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <udax/static_key.h>

#define NR_WORKERS	2
#define BURST		32	/* checked evaluations per generation */
#define LOOSE_RUN	64	/* unchecked evaluations between yields */
#define NO_GEN		(~0ul)

static struct udax_static_key tkey = UDAX_STATIC_KEY_INIT_FALSE;

static __attribute__((noinline)) bool tkey_on(void)
{
	return udax_static_branch_unlikely(&tkey);
}

static __attribute__((noinline)) int tkey_add(int x)
{
	if (udax_static_branch_unlikely(&tkey))
		return x + 1;
	return x;
}

static _Atomic unsigned long gen;	/* last published generation */
static _Atomic bool stop;
static _Atomic unsigned long nr_wrong;	/* checked evaluations that lied */
static _Atomic unsigned long first_wrong_gen;

struct worker {
	pthread_t thread;
	_Atomic unsigned long ack;	/* last generation checked */
	unsigned long checked[2];	/* [answer]: checked evaluations */
	unsigned long loose[2];		/* [answer]: unchecked ones */
};

static struct worker workers[NR_WORKERS];

/* One evaluation of both sites; -1 if they disagree with each other. */
static int eval(void)
{
	bool a = tkey_on();
	int b = tkey_add(0);

	return a == (b == 1) ? a : -1;
}

static void wrong(unsigned long g)
{
	unsigned long zero = 0;

	atomic_fetch_add(&nr_wrong, 1);
	atomic_compare_exchange_strong(&first_wrong_gen, &zero, g);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	unsigned long seen = NO_GEN;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned long g = atomic_load_explicit(&gen, memory_order_acquire);
		int v, k;

		if (g == seen) {
			/*
			 * May overlap a transition: any answer is fine.  Yield
			 * now and then, or on 2 CPUs the main thread would wait
			 * a time slice for each generation.
			 */
			for (k = 0; k < LOOSE_RUN; k++) {
				v = eval();
				if (v < 0)
					v = 1;	/* sites mid-flip */
				w->loose[v]++;
			}
			sched_yield();
			continue;
		}
		for (k = 0; k < BURST; k++) {
			v = eval();
			if (v != (int)(g & 1)) {
				wrong(g);
				v = !(g & 1);
			}
			w->checked[v]++;
		}
		atomic_store_explicit(&w->ack, g, memory_order_release);
		seen = g;
	}
	return NULL;
}

static void publish_and_wait(unsigned long g)
{
	int i;

	atomic_store_explicit(&gen, g, memory_order_release);
	for (i = 0; i < NR_WORKERS; i++)
		while (atomic_load_explicit(&workers[i].ack,
					    memory_order_acquire) != g)
			sched_yield();
}

/* Phase 2: concurrent inc/dec, each holder must see the key enabled. */
static long holder_rounds;

static void *holder_fn(void *arg)
{
	long i;
	int k;

	for (i = 0; i < holder_rounds; i++) {
		udax_static_key_slow_inc(&tkey);
		/* Give the other holder time to dec and inc meanwhile. */
		for (k = 0; k < 4; k++) {
			if (eval() != 1 || !udax_static_key_enabled(&tkey))
				wrong(NO_GEN);
			sched_yield();
		}
		udax_static_key_slow_dec(&tkey);
	}
	return NULL;
}

static void crash(int sig, siginfo_t *si, void *uc)
{
	/* Async-signal-safe: fixed strings and write() only. */
	const char *msg = sig == SIGILL ? "SIGILL" : sig == SIGSEGV ? "SIGSEGV" :
			  sig == SIGBUS ? "SIGBUS" : "SIGTRAP";
	const char *parts[] = { "static_key_toggle: caught ", msg,
				" (a torn or stale site?)\n" };
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		(void)!write(STDERR_FILENO, parts[i], strlen(parts[i]));
	_exit(1);
}

int main(void)
{
	static const int sigs[] = { SIGILL, SIGSEGV, SIGBUS, SIGTRAP };
	unsigned long checked[2] = { 0, 0 }, loose[2] = { 0, 0 };
	pthread_t holders[2];
	struct sigaction sa;
	const char *reason;
	enum udax_static_key_mode mode;
	long toggles, i;
	uint64_t t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash;
	sa.sa_flags = SA_SIGINFO;
	for (i = 0; i < (long)(sizeof(sigs) / sizeof(sigs[0])); i++)
		T_ASSERT(sigaction(sigs[i], &sa, NULL) == 0);

	mode = udax_static_key_mode(&reason);
	printf("mode: %s (%s), %u sites of the key\n",
	       mode == UDAX_STATIC_KEY_PATCHED ? "patched" : "flag", reason,
	       udax_static_key_nr_sites(&tkey));

	toggles = t_iters(1000);
	t0 = t_now_ns();
	T_ASSERT(eval() == 0);
	for (i = 0; i < NR_WORKERS; i++) {
		atomic_init(&workers[i].ack, NO_GEN);
		T_ASSERT(pthread_create(&workers[i].thread, NULL, worker_fn,
					&workers[i]) == 0);
	}

	/* Generation 0 is the initial, disabled state. */
	publish_and_wait(0);
	for (i = 0; i < toggles; i++) {
		udax_static_key_slow_inc(&tkey);
		publish_and_wait(2 * i + 1);
		udax_static_key_slow_dec(&tkey);
		publish_and_wait(2 * i + 2);
	}

	atomic_store(&stop, true);
	for (i = 0; i < NR_WORKERS; i++) {
		T_ASSERT(pthread_join(workers[i].thread, NULL) == 0);
		checked[0] += workers[i].checked[0];
		checked[1] += workers[i].checked[1];
		loose[0] += workers[i].loose[0];
		loose[1] += workers[i].loose[1];
	}
	printf("phase 1: %ld toggles, %d workers: checked %lu false + %lu true, "
	       "unchecked %lu false + %lu true, %lu wrong\n",
	       toggles, NR_WORKERS, checked[0], checked[1], loose[0], loose[1],
	       atomic_load(&nr_wrong));
	if (atomic_load(&nr_wrong))
		fprintf(stderr, "first wrong answer in generation %lu\n",
			atomic_load(&first_wrong_gen));
	T_ASSERT(atomic_load(&nr_wrong) == 0);
	/* Every generation was checked by every worker. */
	T_ASSERT(checked[1] == (unsigned long)toggles * NR_WORKERS * BURST);
	T_ASSERT(checked[0] == (unsigned long)(toggles + 1) * NR_WORKERS * BURST);
	T_ASSERT(eval() == 0 && !udax_static_key_enabled(&tkey));

	holder_rounds = t_iters(500);
	for (i = 0; i < 2; i++)
		T_ASSERT(pthread_create(&holders[i], NULL, holder_fn, NULL) == 0);
	for (i = 0; i < 2; i++)
		T_ASSERT(pthread_join(holders[i], NULL) == 0);
	printf("phase 2: 2 threads x %ld inc/dec, %lu wrong\n", holder_rounds,
	       atomic_load(&nr_wrong));
	T_ASSERT(atomic_load(&nr_wrong) == 0);
	T_ASSERT(eval() == 0 && !udax_static_key_enabled(&tkey));

	T_ASSERT(udax_static_key_mode(NULL) == mode);
	printf("ok (%.2f s)\n", (double)(t_now_ns() - t0) / 1e9);
	return 0;
}
