/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI,
 * ext4 and btrfs.  With the CPU's CRC instruction where it has one (SSE4.2
 * on x86-64, ARMv8 CRC32 on aarch64), chosen at the first call; otherwise
 * table-driven (slicing by 8).  UDAX_CRC32C=table|sse4.2|armv8 in the
 * environment forces one (if this CPU has it).
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

/* The name of the implementation udax_crc32c() uses: "sse4.2", "armv8" or
 * "table". */
const char *udax_crc32c_impl_name(void);

/*
 * The @i-th implementation this CPU can run (0 the best; the table last),
 * for tests and benchmarks that compare them: its name and function, which
 * computes what udax_crc32c() does.  0, or -ENOENT past the last.
 */
int udax_crc32c_impl(unsigned i, const char **name,
		     uint32_t (**fn)(uint32_t crc, const void *buf, size_t len));

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif /* UDAX_CRC32C_H */
