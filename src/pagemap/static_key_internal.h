/* SPDX-License-Identifier: MIT */
/*
 * Inside view of the static keys, for udax's own tests and diagnostics.
 * Not installed; programs use <udax/static_key.h> only.
 */
#ifndef UDAX_STATIC_KEY_INTERNAL_H
#define UDAX_STATIC_KEY_INTERNAL_H

#include <udax/static_key.h>

/* First byte of a site: enabled (jump to the flag check) or disabled. */
#define UDAX_SK_OP_JMP	0xe9	/* jmp rel32 */
#define UDAX_SK_OP_CMP	0x3d	/* cmp eax, imm32: same length, falls through */

/*
 * Store the addresses of up to @max sites of @key (their first byte) in
 * @sites, in table order, and return how many sites @key has in all.
 */
unsigned udax_static_key_sites(const struct udax_static_key *key,
			       const unsigned char **sites, unsigned max);

/*
 * The first byte of @site, read where the sanitizers do not look (a plain
 * read of the text is fine for the CPU, but not for TSan).
 */
unsigned char udax_static_key_site_op(const unsigned char *site);

#endif /* UDAX_STATIC_KEY_INTERNAL_H */
