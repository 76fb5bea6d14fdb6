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
 * Sites are collected in the __udax_jump_table section of each loaded
 * object (the program, a shared libudax, a dlopen'ed plugin): every object
 * that includes this header registers its own table with the library when
 * it loads and releases it when it unloads (the hidden constructor and
 * destructor below), so sites inlined into a program that links a shared
 * libudax are patched like the library's own.
 */
#ifndef UDAX_STATIC_KEY_H
#define UDAX_STATIC_KEY_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

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

/*
 * One table entry per site; offsets are relative to the entry's fields.
 * An odd @key offset (UDAX_JUMP_ENTRY_REF) names, one byte before, a
 * pointer to the key instead of the key: the form of a key defined in
 * another object (UDAX_STATIC_KEY_EXTERN).
 */
struct udax_jump_entry {
	int code;	/* site address - &code */
	int key;	/* key address - &key, or pointer address - &key + 1 */
};

#define UDAX_JUMP_ENTRY_REF	1

/*
 * Every loaded object's table, registered by the object's constructor and
 * released by its destructor (below).  Registering a table the library
 * already knows counts one more user; the table is forgotten when the last
 * one releases it, before the object's text is unmapped.
 */
void udax_static_key_register_table(const struct udax_jump_entry *start,
				    const struct udax_jump_entry *stop);
void udax_static_key_release_table(const struct udax_jump_entry *start);

/*
 * The "i" operand needs @key to be a link-time constant after inlining:
 * that takes optimization (at -O0 the site falls back to the flag load, so
 * Debug builds compile and stay correct) and, for a key defined in another
 * translation unit, a declaration with __attribute__((visibility("hidden")))
 * (clang refuses "i" for a symbol that PIE code reaches through the GOT).
 */
#if UDAX_HAVE_JUMP_LABEL && defined(__x86_64__) && defined(__OPTIMIZE__)
#define UDAX_STATIC_BRANCH_SITE(ref, tag)				\
	__asm__ goto("1:\t.byte 0xe9\n\t.long %l[l_check] - 2f\n2:\n\t"	\
		     ".pushsection __udax_jump_table, \"aw\"\n\t"	\
		     ".balign 4\n\t"					\
		     ".long 1b - ., %c0 - . + %c1\n\t"			\
		     ".popsection\n"					\
		     : : "i"(ref), "i"(tag) : "cc" : l_check)

/* True while @key is enabled.  Cost when disabled: one 5-byte no-op. */
static inline __attribute__((always_inline)) bool
udax_static_branch_unlikely(struct udax_static_key *key)
{
	UDAX_STATIC_BRANCH_SITE(key, 0);
	return false;
l_check:
	return __builtin_expect(atomic_load_explicit(&key->enabled,
					memory_order_relaxed) != 0, 1);
}

/* The same for a key declared with UDAX_STATIC_KEY_EXTERN (through @ref). */
static inline __attribute__((always_inline)) bool
__udax_static_branch_unlikely_ref(struct udax_static_key *const *ref,
				  struct udax_static_key *key)
{
	UDAX_STATIC_BRANCH_SITE(ref, UDAX_JUMP_ENTRY_REF);
	return false;
l_check:
	return __builtin_expect(atomic_load_explicit(&key->enabled,
					memory_order_relaxed) != 0, 1);
}

/*
 * This object's own table: the linker defines the bounds of the section in
 * each object it links, and hidden references bind to this object's (NULL
 * when it has no site: compared, never indexed).  Weak and hidden, these functions exist once per
 * object; each translation unit that includes this header adds a call to
 * the constructor and destructor, which the library counts.
 */
extern const struct udax_jump_entry __start___udax_jump_table[]
	__attribute__((weak, visibility("hidden")));
extern const struct udax_jump_entry __stop___udax_jump_table[]
	__attribute__((weak, visibility("hidden")));
void __udax_jump_table_load(void) __attribute__((visibility("hidden")));
void __udax_jump_table_unload(void) __attribute__((visibility("hidden")));

__attribute__((weak, visibility("hidden"), constructor)) void
__udax_jump_table_load(void)
{
	if ((const void *)__start___udax_jump_table !=
	    (const void *)__stop___udax_jump_table)
		udax_static_key_register_table(__start___udax_jump_table,
					       __stop___udax_jump_table);
}

__attribute__((weak, visibility("hidden"), destructor)) void
__udax_jump_table_unload(void)
{
	if ((const void *)__start___udax_jump_table !=
	    (const void *)__stop___udax_jump_table)
		udax_static_key_release_table(__start___udax_jump_table);
}
#else
static inline bool udax_static_branch_unlikely(struct udax_static_key *key)
{
	return __builtin_expect(atomic_load_explicit(&key->enabled,
					memory_order_relaxed) != 0, 0);
}

static inline bool
__udax_static_branch_unlikely_ref(struct udax_static_key *const *ref,
				  struct udax_static_key *key)
{
	(void)ref;
	return udax_static_branch_unlikely(key);
}
#endif

/*
 * A key defined in another object.  A site names its key with an address
 * fixed when the site's object is linked ("i"), which a key in a shared
 * libudax does not have (clang refuses it even for PIE code, gcc for
 * -fPIC).  So such a key is named through a pointer to it, hidden, one
 * per object, that the dynamic linker fills:
 *
 *	UDAX_STATIC_KEY_EXTERN(udax_pagemap_managed_key);	(file scope)
 *	if (udax_static_branch_unlikely_extern(udax_pagemap_managed_key))
 */
#define UDAX_STATIC_KEY_EXTERN(key)					\
	extern struct udax_static_key key;				\
	__attribute__((weak, visibility("hidden")))			\
	struct udax_static_key *const __udax_ref_##key = &key

#define udax_static_branch_unlikely_extern(key)				\
	__udax_static_branch_unlikely_ref(&__udax_ref_##key, &key)

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
#pragma GCC visibility pop
#endif /* UDAX_STATIC_KEY_H */
