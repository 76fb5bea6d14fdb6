/* SPDX-License-Identifier: MIT */
/*
 * CRC-32C: the CPU's CRC instruction where it has one (SSE4.2 crc32 on
 * x86-64, the ARMv8 CRC32 extension on aarch64), else a portable table
 * (slicing by 8).  The choice is made once, on the first call, and kept in
 * one function pointer: every later call is one indirect call.
 *
 * x86-64: crc32q has a latency of 3 cycles but a throughput of one per
 * cycle, so one dependent chain runs at a third of the unit's speed.  The
 * buffer is cut into runs of 3 * STRIDE bytes, each run hashed as three
 * independent chains whose registers are then combined: the register of
 * A||B is shift(reg(A), |B|) ^ reg0(B), where shift multiplies by
 * x^(8|B|) mod P (linear, so done by four byte-indexed tables per shift).
 *
 * UDAX_CRC32C=table|sse4.2|armv8 in the environment forces one (an
 * unavailable one falls back to the table), for tests and benchmarks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <udax/crc32c.h>

#include "common/crc32c_shift.h"
#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

#define CRC32C_POLY 0x82F63B78u		/* reflected Castagnoli */

typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

/* ---- portable: slicing by 8 -------------------------------------------------- */

static uint32_t crc_table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t crc32c_table(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&table_once, table_init);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint32_t lo, hi;

		/* Little-endian words; memcpy keeps it free of aliasing UB. */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= crc;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

/* ---- x86-64: SSE4.2 crc32, three chains ------------------------------------- */

/* a * b mod P, in the reflected representation (bit 31 is x^0). */
static uint32_t gf_mul(uint32_t a, uint32_t b)
{
	uint32_t p = 0;

	for (int i = 31; i >= 0; i--) {		/* no branch on the data */
		p ^= b & (0u - ((a >> i) & 1));
		b = (b >> 1) ^ (CRC32C_POLY & (0u - (b & 1)));
	}
	return p;
}

/* pow_tab[k] = x^(8 * 2^k) mod P: the squarings done once. */
static uint32_t pow_tab[64];
static pthread_once_t pow_once = PTHREAD_ONCE_INIT;

static void pow_init(void)
{
	uint32_t x = 1u << 23;		/* x^8: one zero byte */

	for (int k = 0; k < 64; k++, x = gf_mul(x, x))
		pow_tab[k] = x;
}

/*
 * zeros_tab[n] = x^(8n) mod P for n <= 4096: a shift within a block (the
 * directory blocks' checksum updates, fs/ops/dir.c) is one product, not
 * one per bit of n.  Built once: 4,096 products.
 */
#define ZEROS_TAB_MAX	4096
static uint32_t zeros_tab[ZEROS_TAB_MAX + 1];
static pthread_once_t zeros_once = PTHREAD_ONCE_INIT;

static void zeros_init(void)
{
	zeros_tab[0] = 1u << 31;		/* x^0 */
	for (int n = 1; n <= ZEROS_TAB_MAX; n++)
		zeros_tab[n] = gf_mul(zeros_tab[n - 1], 1u << 23);
}

uint32_t crc32c_shift_zeros(uint32_t r, uint64_t n)
{
	if (n <= ZEROS_TAB_MAX) {
		pthread_once(&zeros_once, zeros_init);
		return gf_mul(zeros_tab[n], r);
	}
	pthread_once(&pow_once, pow_init);
	for (int k = 0; n; n >>= 1, k++)
		if (n & 1)
			r = gf_mul(pow_tab[k], r);
	return r;
}

#if defined(__x86_64__)
#define STRIDE 256			/* bytes per chain and run */

/* shift_tab[k][i][b]: byte b at byte position i of a register, moved on
 * by (k + 1) * STRIDE bytes of zeroes. */
static uint32_t shift_tab[2][4][256];

static void shift_init(void)
{
	for (int k = 0; k < 2; k++) {
		uint32_t op = crc32c_shift_zeros(1u << 31, (uint64_t)(k + 1) * STRIDE);

		for (int i = 0; i < 4; i++)
			for (uint32_t b = 0; b < 256; b++)
				shift_tab[k][i][b] = gf_mul(op, b << (8 * i));
	}
}

static inline uint32_t shift(int k, uint32_t s)
{
	return shift_tab[k][0][s & 0xff] ^ shift_tab[k][1][(s >> 8) & 0xff] ^
	       shift_tab[k][2][(s >> 16) & 0xff] ^ shift_tab[k][3][s >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t s = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		s = _mm_crc32_u8((uint32_t)s, *p++);
		len--;
	}
	while (len >= 3 * STRIDE) {
		uint64_t s1 = 0, s2 = 0, w0, w1, w2;

		for (size_t i = 0; i < STRIDE; i += 8) {
			memcpy(&w0, p + i, 8);
			memcpy(&w1, p + STRIDE + i, 8);
			memcpy(&w2, p + 2 * STRIDE + i, 8);
			s = _mm_crc32_u64(s, w0);
			s1 = _mm_crc32_u64(s1, w1);
			s2 = _mm_crc32_u64(s2, w2);
		}
		s = shift(1, (uint32_t)s) ^ shift(0, (uint32_t)s1) ^ (uint32_t)s2;
		p += 3 * STRIDE;
		len -= 3 * STRIDE;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		s = _mm_crc32_u64(s, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		s = _mm_crc32_u8((uint32_t)s, *p++);
	return ~(uint32_t)s;
}

static bool have_sse42(void)
{
	unsigned a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2);
}
#endif

/* ---- aarch64: ARMv8 CRC32 ----------------------------------------------------- */

#if defined(__aarch64__)
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1ul << 7)
#endif
/* The builtins (arm_acle.h declares them only when the whole file is
 * built for +crc with some compilers). */
#if defined(__clang__)
#define crc32c_u8(s, v)		__builtin_arm_crc32cb(s, v)
#define crc32c_u64(s, v)	__builtin_arm_crc32cd(s, v)
#else
#define crc32c_u8(s, v)		__builtin_aarch64_crc32cb(s, v)
#define crc32c_u64(s, v)	__builtin_aarch64_crc32cx(s, v)
#endif

__attribute__((target("+crc")))
static uint32_t crc32c_armv8(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t s = ~crc;

	while (len && ((uintptr_t)p & 7)) {
		s = crc32c_u8(s, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		s = crc32c_u64(s, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		s = crc32c_u8(s, *p++);
	return ~s;
}

static bool have_armv8_crc(void)
{
	return getauxval(AT_HWCAP) & HWCAP_CRC32;
}
#endif

/* ---- the implementations and the choice ------------------------------------- */

struct impl {
	const char *name;
	crc_fn fn;
	bool (*available)(void);
};

static bool always(void)
{
	return true;
}

/* Best first. */
static const struct impl impls[] = {
#if defined(__x86_64__)
	{ "sse4.2", crc32c_sse42, have_sse42 },
#endif
#if defined(__aarch64__)
	{ "armv8", crc32c_armv8, have_armv8_crc },
#endif
	{ "table", crc32c_table, always },
};
#define NR_IMPLS (sizeof(impls) / sizeof(impls[0]))

static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
static const struct impl *chosen;
static uint32_t crc32c_first(uint32_t crc, const void *buf, size_t len);
static _Atomic(crc_fn) crc_impl = crc32c_first;

static void choose(void)
{
	const char *want = secure_getenv("UDAX_CRC32C");

#if defined(__x86_64__)
	shift_init();
#endif
	chosen = &impls[NR_IMPLS - 1];
	for (size_t i = 0; i < NR_IMPLS; i++) {
		if (!impls[i].available())
			continue;
		if (want && *want && strcmp(want, impls[i].name))
			continue;
		chosen = &impls[i];
		break;
	}
	atomic_store_explicit(&crc_impl, chosen->fn, memory_order_release);
}

/* The first call (of any thread) chooses, then hashes with the choice. */
static uint32_t crc32c_first(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&choose_once, choose);
	return chosen->fn(crc, buf, len);
}

uint32_t udax_crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* Acquire: the chosen code reads tables built before the store (a
	 * plain load on x86-64). */
	return atomic_load_explicit(&crc_impl, memory_order_acquire)(crc, buf, len);
}

const char *udax_crc32c_impl_name(void)
{
	pthread_once(&choose_once, choose);
	return chosen->name;
}

int udax_crc32c_impl(unsigned i, const char **name,
		     uint32_t (**fn)(uint32_t crc, const void *buf, size_t len))
{
	unsigned n = 0;

	pthread_once(&choose_once, choose);	/* the shift tables */
	for (size_t k = 0; k < NR_IMPLS; k++) {
		if (!impls[k].available())
			continue;
		if (n++ != i)
			continue;
		if (name)
			*name = impls[k].name;
		if (fn)
			*fn = impls[k].fn;
		return 0;
	}
	return -ENOENT;
}
