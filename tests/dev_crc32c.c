/* SPDX-License-Identifier: MIT */
/* CRC-32C against published check values; chaining; every alignment. */
#include <string.h>
#include <udax/crc32c.h>

#include "testutil.h"

/* Bit-at-a-time reference. */
static uint32_t ref_crc32c(const unsigned char *p, size_t n)
{
	uint32_t c = ~0u;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return ~c;
}

int main(void)
{
	unsigned char buf[32], big[1024 + 16];

	T_ASSERT(udax_crc32c(0, "123456789", 9) == 0xE3069283u);
	T_ASSERT(udax_crc32c(0, "", 0) == 0);
	/* RFC 3720 (iSCSI) B.4 vectors. */
	memset(buf, 0, sizeof(buf));
	T_ASSERT(udax_crc32c(0, buf, 32) == 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	T_ASSERT(udax_crc32c(0, buf, 32) == 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	T_ASSERT(udax_crc32c(0, buf, 32) == 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	T_ASSERT(udax_crc32c(0, buf, 32) == 0x113FDB5Cu);

	/* Every start alignment and length agrees with the reference, and
	 * chaining at any split gives the CRC of the whole. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 131 + 7);
	for (size_t off = 0; off < 16; off++) {
		for (size_t len = 0; len <= 1024; len += (len < 64 ? 1 : 61)) {
			uint32_t want = ref_crc32c(big + off, len);

			T_ASSERT(udax_crc32c(0, big + off, len) == want);
			for (size_t cut = 0; cut <= len; cut += 1 + len / 5) {
				uint32_t c = udax_crc32c(0, big + off, cut);

				T_ASSERT(udax_crc32c(c, big + off + cut, len - cut) == want);
			}
		}
	}
	return 0;
}
