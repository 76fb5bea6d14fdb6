/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C against published check values; chaining; every alignment; and
 * every implementation this CPU runs (the CRC instruction and the table)
 * agreeing on random inputs of every length 0..4096 at misaligned starts
 * and random chaining values, each also against a bit-at-a-time reference.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
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

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Known vectors through @fn: "123456789" and RFC 3720 B.4. */
static void vectors(uint32_t (*fn)(uint32_t, const void *, size_t))
{
	unsigned char buf[32];

	T_ASSERT(fn(0, "123456789", 9) == 0xE3069283u);
	T_ASSERT(fn(0, "", 0) == 0);
	memset(buf, 0, sizeof(buf));
	T_ASSERT(fn(0, buf, 32) == 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	T_ASSERT(fn(0, buf, 32) == 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	T_ASSERT(fn(0, buf, 32) == 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	T_ASSERT(fn(0, buf, 32) == 0x113FDB5Cu);
}

/* The reference continued from @crc (as udax_crc32c's chaining does). */
static uint32_t ref_from(uint32_t crc, const unsigned char *p, size_t n)
{
	uint32_t c = ~crc;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return ~c;
}

static void implementations_agree(void)
{
	static unsigned char rnd[4096 + 64];
	uint32_t (*fn[8])(uint32_t, const void *, size_t);
	const char *name[8];
	unsigned n = 0;
	bool chosen_seen = false;

	while (n < 8 && udax_crc32c_impl(n, &name[n], &fn[n]) == 0) {
		chosen_seen |= !strcmp(name[n], udax_crc32c_impl_name());
		n++;
	}
	T_ASSERT(n >= 1 && !strcmp(name[n - 1], "table"));
	T_ASSERT(chosen_seen);
	T_ASSERT(udax_crc32c_impl(n, NULL, NULL) == -ENOENT);
	printf("crc32c: %u implementation(s), using %s\n", n, udax_crc32c_impl_name());
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)next();
	for (unsigned k = 0; k < n; k++)
		vectors(fn[k]);
	for (size_t len = 0; len <= 4096; len++) {
		size_t off = (size_t)(next() % 64);
		uint32_t seed = len % 3 ? (uint32_t)next() : 0;
		uint32_t want = ref_from(seed, rnd + off, len);

		for (unsigned k = 0; k < n; k++)
			T_ASSERT(fn[k](seed, rnd + off, len) == want);
		T_ASSERT(udax_crc32c(seed, rnd + off, len) == want);
	}
	/* Every start alignment of lengths around the 3-chain run (768). */
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 760; len <= 1550; len += 7) {
			uint32_t want = ref_from(0, rnd + off, len);

			for (unsigned k = 0; k < n; k++)
				T_ASSERT(fn[k](0, rnd + off, len) == want);
		}
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
	implementations_agree();
	return 0;
}
