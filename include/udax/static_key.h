/* SPDX-License-Identifier: MIT */
/*
 * udax static keys: a branch whose direction is changed by rewriting code.
 *
 * The user-space form of the kernel's jump labels.  A site costs nothing
 * while its key is disabled (the site is a 5-byte instruction that does
 * nothing) and becomes a jump to the guarded code while it is enabled.
 *
 * Each site is emitted as `jmp rel32` (0xE9) to a label that reads the
 * key's atomic flag.  When patching is available the library rewrites the
 * first byte of disabled sites to 0x3D (`cmp eax, imm32`, same length, the
 * displacement becomes its immediate): one byte changes, the instruction's
 * length and other bytes do not, so a thread executing the site meanwhile
 * runs either the old or the new instruction, never a torn one.  After each
 * patch the patcher makes every thread of the process execute a
 * core-serializing instruction (membarrier SYNC_CORE) before it returns.
 *
 * When patching is not possible (not x86-64, built with
 * -DUDAX_STATIC_BRANCH=OFF, the kernel lacks membarrier SYNC_CORE, the text
 * cannot be written, or UDAX_STATIC_KEY=flag in the environment) every site
 * stays a jump to the flag check: always correct, one load dearer.
 *
 * Sites are collected in the __udax_jump_table section of the final link;
 * libudax is a static library so that all sites of a program, its own
 * inline put_page calls included, are in one table.
 */
#ifndef UDAX_STATIC_KEY_H
#define UDAX_STATIC_KEY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <udax/config.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udax_static_key {
	_Atomic int enabled;	/* read by the out-of-line half of each site */
	int count;		/* enable count; under the patch lock */
};

#define UDAX_STATIC_KEY_INIT_FALSE { 0, 0 }

/* One table entry per site; offsets are relative to the entry's fields. */
struct udax_jump_entry {
	int code;	/* site address - &code */
	int key;	/* key address - &key */
};

/*
 * The "i" operand needs @key to be a link-time constant after inlining:
 * that takes optimization (at -O0 the site falls back to the flag load, so
 * Debug builds compile and stay correct) and, for a key defined in another
 * translation unit, a declaration with __attribute__((visibility("hidden")))
 * (clang refuses "i" for a symbol that PIE code reaches through the GOT).
 */
#if UDAX_HAVE_JUMP_LABEL && defined(__x86_64__) && defined(__OPTIMIZE__)
/* True while @key is enabled.  Cost when disabled: one 5-byte no-op. */
static inline __attribute__((always_inline)) bool
udax_static_branch_unlikely(struct udax_static_key *key)
{
	__asm__ goto("1:\t.byte 0xe9\n\t.long %l[l_check] - 2f\n2:\n\t"
		     ".pushsection __udax_jump_table, \"aw\"\n\t"
		     ".balign 4\n\t"
		     ".long 1b - ., %c0 - .\n\t"
		     ".popsection\n"
		     : : "i"(key) : "cc" : l_check);
	return false;
l_check:
	return __builtin_expect(atomic_load_explicit(&key->enabled,
					memory_order_relaxed) != 0, 1);
}
#else
static inline bool udax_static_branch_unlikely(struct udax_static_key *key)
{
	return __builtin_expect(atomic_load_explicit(&key->enabled,
					memory_order_relaxed) != 0, 0);
}
#endif

/*
 * Counted enable/disable (the kernel's static_key_slow_inc/dec).  The key
 * is enabled while its count is above zero.  When slow_inc returns, every
 * thread that runs a site of @key afterwards takes the true branch; these
 * calls sleep and serialize on a process-wide lock, never call them from a
 * signal handler.
 */
void udax_static_key_slow_inc(struct udax_static_key *key);
void udax_static_key_slow_dec(struct udax_static_key *key);
bool udax_static_key_enabled(const struct udax_static_key *key);

enum udax_static_key_mode {
	UDAX_STATIC_KEY_PATCHED,	/* sites are rewritten */
	UDAX_STATIC_KEY_FLAG,		/* sites read the atomic flag */
};

/* How sites behave in this process, and why when it is the fallback. */
enum udax_static_key_mode udax_static_key_mode(const char **reason);

/* Number of sites of @key found in the jump table (0 in flag-only builds). */
unsigned udax_static_key_nr_sites(const struct udax_static_key *key);

#ifdef __cplusplus
}
#endif
#endif /* UDAX_STATIC_KEY_H */
