/* SPDX-License-Identifier: MIT */
/*
 * Static keys: branches whose direction is changed by rewriting code.
 *
 * See include/udax/static_key.h for the site and docs/static_key.md for the
 * overview.  This file decides, once per process, whether sites are patched
 * or left reading the flag, and does the patching.
 *
 * Patching protocol
 * =================
 *
 * A site is five bytes, emitted by udax_static_branch_unlikely():
 *
 *	e9 d0 d1 d2 d3	jmp l_check	enabled: go and read key->enabled
 *	3d d0 d1 d2 d3	cmp eax, imm32	disabled: sets the flags (the asm
 *					clobbers "cc") and falls through to
 *					"return false"
 *
 * Only the first byte is ever written.  The four others are the jump's
 * displacement in one form and an immediate that nobody looks at in the
 * other, so whichever first byte a CPU fetches, it decodes a complete, valid
 * 5-byte instruction that ends where the other one ends.
 *
 * Why one byte may be changed while other threads run the site: a 1-byte
 * store cannot tear, and an instruction is fetched and executed as a whole
 * (interrupts and signals are taken at instruction boundaries), so a thread
 * runs either the old instruction or the new one, never a mix of the two.
 * That is the property the kernel's text_poke_bp() relies on when it stores
 * its int3 into the first byte of a live instruction; the kernel needs the
 * int3 dance only because its jmp <-> nop5 change rewrites all five bytes,
 * which could be seen half done.  We never change more than that one byte.
 *
 * Why the sync_core step (membarrier PRIVATE_EXPEDITED_SYNC_CORE) is needed:
 * the store reaches the other CPUs' caches, but a CPU may already have
 * fetched and decoded the old instruction; the architecture only promises
 * that it runs the new bytes after it has executed a serializing
 * instruction (Intel SDM, "Handling Self- and Cross-Modifying Code").
 * membarrier SYNC_CORE makes every thread of the process do so (an IPI to
 * each CPU running one, the return to user space for the others) before it
 * returns.  Without it a thread could run a stale "cmp" after slow_inc()
 * has returned and answer false for an enabled key.  The call is also a
 * full memory barrier on every thread.
 *
 * Ordering of the flag and the byte.  The invariant, in patched mode once
 * initialization is done: a CPU can run the e9 form of a site only while
 * key->enabled is 1.  So the byte alone decides a patched site's answer
 * (e9 -> the flag, which is 1 -> true; 3d -> false), as with kernel jump
 * labels, and the flag is the truth that the e9 form falls back to in flag
 * mode and if patching ever fails:
 *
 *	enable  (count 0 -> 1):	enabled = 1; write e9 to each site; sync_core
 *	disable (count 1 -> 0):	write 3d to each site; sync_core; enabled = 0
 *
 * On enable the flag is already 1 when the first e9 can be seen; on disable
 * it is cleared only once no CPU can still run an e9.  Each site therefore
 * flips once per transition, at the moment its byte changes.  Threads may
 * see some sites flipped and others not while slow_inc/dec runs; when it
 * returns, every thread sees every site in the new state.
 *
 * Tables.  Each loaded object registers its own table when it loads and
 * releases it when it unloads (<udax/static_key.h>); every site of a table
 * is checked before its first byte is written, and a table that fails the
 * checks is never written (its sites read the flag).  A site is e9 until
 * its table registers, which is correct whatever the key's state.
 *
 * Failure.  The mode is decided once (sk_init_locked()).  If writing fails
 * later, the process falls back to flag mode: every site goes back to e9,
 * so that all of them read the flag (a 3d left behind would answer false
 * when its key is enabled).  If even that cannot be written, the process
 * aborts rather than run with branches that lie.
 */
#include "static_key_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/membarrier.h>

/* MEMBARRIER_CMD_* are enum constants: assume uapi headers >= 4.16. */
#if UDAX_HAVE_JUMP_LABEL && defined(__x86_64__) && defined(__NR_membarrier)
#define SK_CAN_PATCH 1
#else
#define SK_CAN_PATCH 0
#endif

/*
 * The jump table of each loaded object, registered by its constructor (see
 * <udax/static_key.h>) and forgotten when its destructor releases it, that
 * is before its text is unmapped: nothing here ever touches the code of an
 * object that is gone.  A table whose sites failed the checks stays
 * !patched: its sites keep the e9 form and read the flag.
 */
struct sk_table {
	struct sk_table *next;
	const struct udax_jump_entry *start, *stop;
	unsigned users;		/* registrations not yet released */
	bool patched;		/* sites follow their keys (else all e9) */
};

/*
 * One lock serializes everything that changes state: the mode decision,
 * the table list, key counts, key flags (their stores; loads are
 * lock-free) and code bytes.
 */
static pthread_mutex_t sk_lock = PTHREAD_MUTEX_INITIALIZER;
static bool sk_initialized;
static enum udax_static_key_mode sk_mode = UDAX_STATIC_KEY_FLAG;
static const char *sk_reason = "not initialized";
static struct sk_table *sk_tables;

#define for_each_entry(t, e) \
	for (struct sk_table *t = sk_tables; t; t = t->next) \
		for (const struct udax_jump_entry *e = t->start; e < t->stop; e++)

static inline unsigned char *entry_code(const struct udax_jump_entry *e)
{
	return (unsigned char *)((uintptr_t)&e->code + (intptr_t)e->code);
}

/* The key of a site; through its object's pointer for an extern key. */
static inline struct udax_static_key *entry_key(const struct udax_jump_entry *e)
{
	uintptr_t a = (uintptr_t)&e->key + (uintptr_t)(intptr_t)e->key;

	if (a & UDAX_JUMP_ENTRY_REF)
		return *(struct udax_static_key *const *)(a - UDAX_JUMP_ENTRY_REF);
	return (struct udax_static_key *)a;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
sk_fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("udax: static key: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#if SK_CAN_PATCH
/* Each buffer is written once, before sk_reason points to it. */
static char sk_init_reason[256];
static char sk_fail_reason[256];
/* UDAX_STATIC_KEY=procmem: write through /proc/self/mem only (testing). */
static bool sk_procmem_only;
static bool sk_membarrier_ready;	/* SYNC_CORE registered and working */
static uintptr_t sk_page_mask;

/*
 * Code bytes are read and written with asm: they are instructions, not C
 * objects, and the sanitizers must not see them (TSan keeps no writable
 * shadow for the text and faults on an instrumented store to it).  A
 * 1-byte mov cannot tear; "memory" keeps the compiler from moving other
 * accesses (the flag) across the store.
 */
static inline unsigned char sk_code_read(const unsigned char *p)
{
	unsigned char v;

	__asm__ volatile("movb %1, %0" : "=q"(v) : "m"(*p));
	return v;
}

static inline void sk_code_write(unsigned char *p, unsigned char v)
{
	__asm__ volatile("movb %1, %0" : "=m"(*p) : "q"(v) : "memory");
}

static long sk_membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

/* Make every thread execute a core-serializing instruction. */
static void sk_sync_core(void)
{
	if (sk_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0)
		goto out;
	/* Registered at init; should the registration ever be lost, redo it. */
	if (errno == EPERM &&
	    sk_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0 &&
	    sk_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0)
		goto out;
	/* Code is rewritten and we cannot make the other threads see it. */
	sk_fatal("membarrier(PRIVATE_EXPEDITED_SYNC_CORE) failed after patching: %s",
		 strerror(errno));
out:
	/* Order what follows (the flag store on disable) after the sync. */
	atomic_thread_fence(memory_order_seq_cst);
}

/*
 * Writes code bytes, keeping the last page it made writable open so that
 * consecutive sites in one page cost one mprotect() pair.
 */
struct sk_writer {
	uintptr_t page;		/* page made writable, or 0 */
	bool page_writable;	/* mprotect() succeeded for @page */
	int memfd;		/* /proc/self/mem, or -1 */
	int mprotect_err;	/* last errno of each method */
	int procmem_err;
	unsigned nr_mprotect;	/* bytes written by each method */
	unsigned nr_procmem;
};

static void sk_writer_init(struct sk_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->memfd = -1;
}

static void sk_writer_close_page(struct sk_writer *w)
{
	if (w->page && w->page_writable &&
	    mprotect((void *)w->page, ~sk_page_mask + 1,
		     PROT_READ | PROT_EXEC) != 0) {
		/* Still correct, but the text stays writable: say so. */
		fprintf(stderr, "udax: static key: cannot restore r-x on %p: %s\n",
			(void *)w->page, strerror(errno));
	}
	w->page = 0;
	w->page_writable = false;
}

static void sk_writer_done(struct sk_writer *w)
{
	sk_writer_close_page(w);
	if (w->memfd >= 0)
		close(w->memfd);
	w->memfd = -1;
}

static int sk_procmem_write(struct sk_writer *w, unsigned char *addr,
			    unsigned char op)
{
	ssize_t n;

	if (w->memfd < 0) {
		w->memfd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		if (w->memfd < 0)
			return -(w->procmem_err = errno);
	}
	/*
	 * The kernel writes through its own mapping of the page (breaking
	 * copy-on-write first, so other threads see the old page or the new
	 * one); a 1-byte copy cannot tear either.
	 */
	do {
		n = pwrite(w->memfd, &op, 1, (off_t)(uintptr_t)addr);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		return -(w->procmem_err = n < 0 ? errno : EIO);
	if (sk_code_read(addr) != op)
		return -(w->procmem_err = EIO);
	w->nr_procmem++;
	return 0;
}

/*
 * Set the first byte of the site at @addr to @op.  The site must hold e9 or
 * 3d already: anything else means the table or the text is not what we
 * think, and we refuse to touch it (-EILSEQ).
 */
static int sk_poke(struct sk_writer *w, unsigned char *addr, unsigned char op)
{
	uintptr_t page = (uintptr_t)addr & sk_page_mask;
	unsigned char cur = sk_code_read(addr);

	if (cur != UDAX_SK_OP_JMP && cur != UDAX_SK_OP_CMP)
		return -EILSEQ;
	if (cur == op)
		return 0;

	if (page != w->page) {
		sk_writer_close_page(w);
		w->page = page;
		if (sk_procmem_only) {
			w->mprotect_err = EPERM;
		} else if (mprotect((void *)page, ~sk_page_mask + 1,
				    PROT_READ | PROT_WRITE | PROT_EXEC) == 0) {
			w->page_writable = true;
		} else {
			w->mprotect_err = errno;
		}
	}
	if (!w->page_writable)
		return sk_procmem_write(w, addr, op);

	/*
	 * The one store of the protocol.  On enable the flag store before it
	 * must be visible no later than the e9: x86 keeps stores in order and
	 * sk_code_write() is a compiler barrier.
	 */
	sk_code_write(addr, op);
	w->nr_mprotect++;
	return 0;
}

/*
 * Write @op to the first byte of every site of @key, or, with @key NULL, to
 * every site the op its key's count asks for.  Stops at the first failure
 * and returns its -errno; the sites before it are written.
 */
static int sk_patch_table(struct sk_writer *w, const struct sk_table *t,
			  struct udax_static_key *key, int op)
{
	const struct udax_jump_entry *e;
	int ret;

	if (!t->patched)
		return 0;
	for (e = t->start; e < t->stop; e++) {
		struct udax_static_key *k = entry_key(e);

		if (key && k != key)
			continue;
		ret = sk_poke(w, entry_code(e), key ? op :
			      (k->count ? UDAX_SK_OP_JMP : UDAX_SK_OP_CMP));
		if (ret)
			return ret;
	}
	return 0;
}

/* The same for every patched table. */
static int sk_patch_sites(struct sk_writer *w, struct udax_static_key *key,
			  int op)
{
	int ret;

	for (struct sk_table *t = sk_tables; t; t = t->next) {
		ret = sk_patch_table(w, t, key, op);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Return every disabled site (3d) to e9, so that all sites read the flag.
 * Sites that hold neither byte are not ours to touch and are skipped.
 */
static void sk_restore_all(void)
{
	struct sk_writer w;
	unsigned nr = 0;
	int ret;

	sk_writer_init(&w);
	for_each_entry(t, e) {
		unsigned char *code = entry_code(e);

		if (!t->patched)
			continue;

		if (sk_code_read(code) != UDAX_SK_OP_CMP)
			continue;
		ret = sk_poke(&w, code, UDAX_SK_OP_JMP);
		if (ret)
			sk_fatal("cannot restore site %p to a jump (%s): its branch would stay false",
				 (void *)code, strerror(-ret));
		nr++;
	}
	for (struct sk_table *t = sk_tables; t; t = t->next)
		t->patched = false;
	sk_writer_done(&w);
	/* Without membarrier (flag mode decided at init) there is no better. */
	if (nr && sk_membarrier_ready)
		sk_sync_core();
}

/*
 * Patching failed after the mode was decided (the text became unwritable,
 * or a site changed under us): go to flag mode for the rest of the process.
 */
static void sk_fallback_locked(const struct sk_writer *w, int err)
{
	snprintf(sk_fail_reason, sizeof(sk_fail_reason),
		 "patching failed at run time (%s; mprotect: %s, /proc/self/mem: %s)",
		 err == -EILSEQ ? "a site no longer holds 0xe9 or 0x3d" :
		 strerror(-err),
		 w->mprotect_err ? strerror(w->mprotect_err) : "-",
		 w->procmem_err ? strerror(w->procmem_err) : "-");
	sk_mode = UDAX_STATIC_KEY_FLAG;
	sk_reason = sk_fail_reason;
	sk_restore_all();
}

/*
 * 0 if every site lies in a private r-x mapping, the only kind we know how
 * to make writable and back (PROT_READ|PROT_EXEC is what we restore).
 * A site elsewhere: -1 and a reason.  If the maps cannot be read we trust
 * the table: sites are in the program's text by construction.
 */
static int sk_check_mappings(const struct sk_table *t, char *why, size_t len)
{
	struct { uintptr_t lo, hi; } *rx = NULL, *tmp;
	const struct udax_jump_entry *e;
	size_t nr = 0, cap = 0, llen = 0, i;
	char *line = NULL;
	int ret = 0;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return 0;
	while (getline(&line, &llen, f) > 0) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
		    strcmp(perms, "r-xp") != 0)
			continue;
		if (nr == cap) {
			cap = cap ? 2 * cap : 16;
			tmp = realloc(rx, cap * sizeof(*rx));
			if (!tmp)
				goto out;	/* cannot check: trust the table */
			rx = tmp;
		}
		rx[nr].lo = lo;
		rx[nr].hi = hi;
		nr++;
	}
	for (e = t->start; e < t->stop; e++) {
		uintptr_t code = (uintptr_t)entry_code(e);

		for (i = 0; i < nr; i++)
			if (code >= rx[i].lo && code < rx[i].hi)
				break;
		if (i == nr) {
			snprintf(why, len,
				 "site %td at %p is not in a private r-x mapping",
				 e - t->start, (void *)code);
			ret = -1;
			break;
		}
	}
out:
	free(line);
	free(rx);
	fclose(f);
	return ret;
}

/*
 * 0 if every site holds e9 or 3d and names an aligned key; else -1 and a
 * reason naming the site.  Mappings first (sk_check_mappings()): a bogus
 * entry must not make us read its address.
 */
static int sk_check_sites(const struct sk_table *t, char *why, size_t len)
{
	const struct udax_jump_entry *e;

	for (e = t->start; e < t->stop; e++) {
		unsigned char *code = entry_code(e);
		uintptr_t a = (uintptr_t)&e->key + (uintptr_t)(intptr_t)e->key;
		struct udax_static_key *k;
		unsigned char b = sk_code_read(code);

		if (b != UDAX_SK_OP_JMP && b != UDAX_SK_OP_CMP) {
			snprintf(why, len,
				 "site %td at %p starts with 0x%02x, not 0xe9 or 0x3d",
				 e - t->start, (void *)code, b);
			return -1;
		}
		if ((a & UDAX_JUMP_ENTRY_REF) &&
		    (a - UDAX_JUMP_ENTRY_REF) % _Alignof(struct udax_static_key *)) {
			snprintf(why, len,
				 "site %td at %p names a misaligned key pointer %p",
				 e - t->start, (void *)code, (void *)a);
			return -1;
		}
		k = entry_key(e);
		if (!k || (uintptr_t)k % _Alignof(struct udax_static_key)) {
			snprintf(why, len,
				 "site %td at %p names a misaligned key %p",
				 e - t->start, (void *)code, (void *)k);
			return -1;
		}
	}
	return 0;
}

/* May this process patch?  0, or -1 with a reason in sk_init_reason. */
static int sk_can_patch(void)
{
	char *why = sk_init_reason;
	size_t len = sizeof(sk_init_reason);
	const char *env = getenv("UDAX_STATIC_KEY");
	long q;

	if (env && *env && strcmp(env, "patch") != 0) {
		if (strcmp(env, "flag") == 0) {
			snprintf(why, len, "UDAX_STATIC_KEY=flag in the environment");
			return -1;
		}
		if (strcmp(env, "procmem") != 0) {
			snprintf(why, len,
				 "UDAX_STATIC_KEY=%.64s not understood (flag, patch or procmem)",
				 env);
			return -1;
		}
		sk_procmem_only = true;
	}

	q = sk_membarrier(MEMBARRIER_CMD_QUERY);
	if (q < 0) {
		snprintf(why, len, "membarrier() unavailable: %s", strerror(errno));
		return -1;
	}
	if (!(q & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE)) {
		snprintf(why, len,
			 "kernel lacks membarrier PRIVATE_EXPEDITED_SYNC_CORE");
		return -1;
	}
	if (sk_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) ||
	    sk_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE)) {
		snprintf(why, len, "membarrier SYNC_CORE registration failed: %s",
			 strerror(errno));
		return -1;
	}
	sk_membarrier_ready = true;
	return 0;
}

static void sk_init_patch_locked(void)
{
	sk_page_mask = ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1);
	sk_reason = sk_init_reason;
	if (sk_can_patch())
		return;
	/* Tables come later, each checked and patched as it registers. */
	snprintf(sk_init_reason, sizeof(sk_init_reason),
		 "patching%s (membarrier SYNC_CORE)",
		 sk_procmem_only ? " through /proc/self/mem" : "");
	sk_mode = UDAX_STATIC_KEY_PATCHED;
}

/*
 * A new table in patched mode: check it, then give each site the form its
 * key's count asks for (all are e9 at load, or were left so).  A table that
 * fails the checks is left alone, reading the flag, and says why once.
 */
static void sk_patch_new_table_locked(struct sk_table *t)
{
	struct sk_writer w;
	char why[256];
	int ret;

	if (sk_check_mappings(t, why, sizeof(why)) ||
	    sk_check_sites(t, why, sizeof(why))) {
		fprintf(stderr, "udax: static key: table %p left reading the flag: %s\n",
			(const void *)t->start, why);
		return;
	}
	t->patched = true;
	sk_writer_init(&w);
	ret = sk_patch_table(&w, t, NULL, -1);
	sk_writer_done(&w);
	if (ret)
		sk_fallback_locked(&w, ret);	/* syncs */
	else
		sk_sync_core();
}
#endif /* SK_CAN_PATCH */

/*
 * Decide the mode.  Called from a constructor, so that sites cost their
 * 5-byte no-op from the start even in programs that never touch a key, and
 * from every entry point, because another constructor may run first and
 * use a key: whoever comes first does it, under sk_lock.  Until then every
 * site is e9 and reads its flag, which is always correct.
 */
static void sk_init_locked(void)
{
	if (sk_initialized)
		return;
	sk_initialized = true;
#if SK_CAN_PATCH
	sk_init_patch_locked();
#elif !UDAX_HAVE_JUMP_LABEL
	sk_reason = "built without runtime patching (UDAX_STATIC_BRANCH=OFF)";
#elif !defined(__x86_64__)
	sk_reason = "runtime patching is implemented for x86-64 only";
#else
	sk_reason = "built with kernel headers that lack membarrier()";
#endif
}

/*
 * fork(): a child that inherited sk_lock held (another thread of the
 * parent was toggling a key) would hang at its first toggle -- opening a
 * device of its own does one.  Hold the lock across fork() so the child's
 * copy is free.  It is a leaf lock (nothing else is taken under it), so
 * taking it last, in the prepare handler registered first, cannot
 * deadlock with the other handlers.
 */
static void sk_fork_prepare(void)
{
	pthread_mutex_lock(&sk_lock);
}

static void sk_fork_done(void)
{
	pthread_mutex_unlock(&sk_lock);
}

static void __attribute__((constructor)) sk_ctor(void)
{
	pthread_mutex_lock(&sk_lock);
	sk_init_locked();
	pthread_mutex_unlock(&sk_lock);
	/* Only -ENOMEM can fail it: the child then risks the hang above. */
	(void)pthread_atfork(sk_fork_prepare, sk_fork_done, sk_fork_done);
}

static void sk_enable_locked(struct udax_static_key *key)
{
	atomic_store_explicit(&key->enabled, 1, memory_order_release);
#if SK_CAN_PATCH
	if (sk_mode == UDAX_STATIC_KEY_PATCHED) {
		struct sk_writer w;
		int ret;

		sk_writer_init(&w);
		ret = sk_patch_sites(&w, key, UDAX_SK_OP_JMP);
		sk_writer_done(&w);
		if (ret)
			sk_fallback_locked(&w, ret);	/* syncs */
		else
			sk_sync_core();
	}
#endif
}

static void sk_disable_locked(struct udax_static_key *key)
{
#if SK_CAN_PATCH
	if (sk_mode == UDAX_STATIC_KEY_PATCHED) {
		struct sk_writer w;
		int ret;

		sk_writer_init(&w);
		ret = sk_patch_sites(&w, key, UDAX_SK_OP_CMP);
		sk_writer_done(&w);
		if (ret)
			sk_fallback_locked(&w, ret);	/* syncs */
		else
			sk_sync_core();
	}
#endif
	atomic_store_explicit(&key->enabled, 0, memory_order_release);
}

void udax_static_key_slow_inc(struct udax_static_key *key)
{
	pthread_mutex_lock(&sk_lock);
	sk_init_locked();
	if (key->count == INT_MAX)
		sk_fatal("udax_static_key_slow_inc(%p): count overflow",
			 (void *)key);
	if (key->count++ == 0)
		sk_enable_locked(key);
	pthread_mutex_unlock(&sk_lock);
}

void udax_static_key_slow_dec(struct udax_static_key *key)
{
	pthread_mutex_lock(&sk_lock);
	sk_init_locked();
	if (key->count <= 0)
		sk_fatal("udax_static_key_slow_dec(%p): count underflow (a dec without its inc)",
			 (void *)key);
	if (--key->count == 0)
		sk_disable_locked(key);
	pthread_mutex_unlock(&sk_lock);
}

bool udax_static_key_enabled(const struct udax_static_key *key)
{
	return atomic_load_explicit(&key->enabled, memory_order_acquire) != 0;
}

enum udax_static_key_mode udax_static_key_mode(const char **reason)
{
	enum udax_static_key_mode mode;

	pthread_mutex_lock(&sk_lock);
	sk_init_locked();
	mode = sk_mode;
	if (reason)
		*reason = sk_reason;
	pthread_mutex_unlock(&sk_lock);
	return mode;
}

void udax_static_key_register_table(const struct udax_jump_entry *start,
				    const struct udax_jump_entry *stop)
{
	struct sk_table *t;

	if (!start || stop <= start)
		return;
	pthread_mutex_lock(&sk_lock);
	sk_init_locked();
	for (t = sk_tables; t; t = t->next) {
		if (t->start == start) {
			t->users++;
			goto out;
		}
	}
	/* Without memory the object's sites keep reading the flag: correct. */
	t = calloc(1, sizeof(*t));
	if (!t)
		goto out;
	t->start = start;
	t->stop = stop;
	t->users = 1;
	t->next = sk_tables;
	sk_tables = t;
#if SK_CAN_PATCH
	if (sk_mode == UDAX_STATIC_KEY_PATCHED)
		sk_patch_new_table_locked(t);
#endif
out:
	pthread_mutex_unlock(&sk_lock);
}

void udax_static_key_release_table(const struct udax_jump_entry *start)
{
	struct sk_table **p, *t;

	pthread_mutex_lock(&sk_lock);
	for (p = &sk_tables; (t = *p); p = &t->next) {
		if (t->start != start)
			continue;
		/* The last user: its object's text is about to go away. */
		if (--t->users == 0) {
			*p = t->next;
			free(t);
		}
		break;
	}
	pthread_mutex_unlock(&sk_lock);
}

unsigned udax_static_key_sites(const struct udax_static_key *key,
			       const unsigned char **sites, unsigned max)
{
	unsigned nr = 0;

	pthread_mutex_lock(&sk_lock);
	for_each_entry(t, e) {
		if (key && entry_key(e) != key)
			continue;
		if (nr < max)
			sites[nr] = entry_code(e);
		nr++;
	}
	pthread_mutex_unlock(&sk_lock);
	return nr;
}

unsigned char udax_static_key_site_op(const unsigned char *site)
{
#if SK_CAN_PATCH
	return sk_code_read(site);
#else
	return *(volatile const unsigned char *)site;
#endif
}

unsigned udax_static_key_nr_sites(const struct udax_static_key *key)
{
	return udax_static_key_sites(key, NULL, 0);
}
