/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI,
 * ext4 and btrfs.  Table-driven (slicing by 8), no CPU feature needed.
 */
#ifndef UDAX_CRC32C_H
#define UDAX_CRC32C_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * CRC-32C of @len bytes at @buf, continuing from @crc: pass 0 to start, and
 * the previous result to continue, so that
 * udax_crc32c(udax_crc32c(0, a, n), b, m) is the CRC of a followed by b.
 * (The usual pre- and post-inversion are done inside.)
 * udax_crc32c(0, "123456789", 9) == 0xE3069283.  Thread-safe.
 */
uint32_t udax_crc32c(uint32_t crc, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif /* UDAX_CRC32C_H */
