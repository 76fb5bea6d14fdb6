/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C arithmetic over GF(2), private to the library: what the SSE4.2
 * chains use to combine, and what fs/dir.c uses to update a block's
 * checksum from the bytes that changed (CRC-32C is linear).
 */
#ifndef UDAX_COMMON_CRC32C_SHIFT_H
#define UDAX_COMMON_CRC32C_SHIFT_H

#include <stdint.h>

/*
 * @r * x^(8 @n) mod P (reflected): a bare CRC register (no inversions)
 * followed by @n zero bytes.  One product up to 4096 bytes (a table built
 * at the first call), O(log n) beyond.
 */
uint32_t crc32c_shift_zeros(uint32_t r, uint64_t n);

#endif
