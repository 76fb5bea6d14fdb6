/* SPDX-License-Identifier: MIT */
/*
 * Persistence: flush, drain and copies that make stores durable, with one
 * interposition point (hooks) for a crash-state explorer.
 *
 * Dispatch: every call checks that its range lies in the device, then
 * either calls the hook (one indirect call) or does the device's own work:
 * nothing (volatile), msync (page granularity), or a cache-flush routine
 * (libpmem2's, or clwb / clflushopt / clflush here: one indirect call).
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <udax/fault.h>
#ifdef UDAX_HAVE_PMEM2
#include <libpmem2.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#include <emmintrin.h>
#endif

#include "dev/internal.h"

#define LIKELY(x)	__builtin_expect(!!(x), 1)
#define UNLIKELY(x)	__builtin_expect(!!(x), 0)

/* ---- CPU cache flushes (without libpmem2) ----------------------------------- */

#if defined(__x86_64__)
#define CL 64ul

static void flush_clwb(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(CL - 1), end = (uintptr_t)addr + len;

	for (; p < end; p += CL)
		__asm__ volatile("clwb %0" : "+m"(*(volatile char *)p));
}

static void flush_clflushopt(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(CL - 1), end = (uintptr_t)addr + len;

	for (; p < end; p += CL)
		__asm__ volatile("clflushopt %0" : "+m"(*(volatile char *)p));
}

static void flush_clflush(const void *addr, size_t len)
{
	uintptr_t p = (uintptr_t)addr & ~(CL - 1), end = (uintptr_t)addr + len;

	for (; p < end; p += CL)
		__asm__ volatile("clflush %0" : "+m"(*(volatile char *)p));
}

static void drain_sfence(void)
{
	__asm__ volatile("sfence" : : : "memory");
}

static dev_flush_fn cpu_flush;
static const char *cpu_flush_name;

static void cpu_detect(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 24))) {
		cpu_flush = flush_clwb;
		cpu_flush_name = "clwb+sfence";
	} else if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 23))) {
		cpu_flush = flush_clflushopt;
		cpu_flush_name = "clflushopt+sfence";
	} else if (__get_cpuid(1, &a, &b, &c, &d) && (d & (1u << 19))) {
		cpu_flush = flush_clflush;
		cpu_flush_name = "clflush";
	}
}
#else
static dev_flush_fn cpu_flush;
static const char *cpu_flush_name;
static void drain_sfence(void) { atomic_thread_fence(memory_order_seq_cst); }
static void cpu_detect(void) { }
#endif

#if defined(__x86_64__)
/* Which routines this CPU has, for persist=MODE. */
static bool has_clwb, has_clflushopt, has_clflush;
#endif

static void cpu_detect_all(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;

	has_clwb = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 24));
	has_clflushopt = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 23));
	has_clflush = __get_cpuid(1, &a, &b, &c, &d) && (d & (1u << 19));
#endif
	cpu_detect();
}

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

bool dev_cpu_flush_available(void)
{
	pthread_once(&cpu_once, cpu_detect_all);
	return cpu_flush != NULL;
}

const char *dev_cpu_flush_name(void)
{
	pthread_once(&cpu_once, cpu_detect_all);
	return cpu_flush_name ? cpu_flush_name : "none";
}

void dev_persist_init_cpu(struct udax_dev *dev)
{
	pthread_once(&cpu_once, cpu_detect_all);
	dev->flush_fn = cpu_flush;
	dev->drain_fn = drain_sfence;
	dev->memcpy_fn = NULL;
	dev->memset_fn = NULL;
	dev->persist_impl = cpu_flush_name;
#if defined(__x86_64__)
	dev->nt_stores = cpu_flush != NULL;
#endif
}

/*
 * Copies of NT_MIN bytes or more (libpmem2's threshold) go around the
 * cache with non-temporal stores: nothing is left to write back, and the
 * drain's sfence makes them durable, which costs less than a copy into
 * the cache followed by a write-back of every line.  The partial lines at
 * either end are copied and written back as usual.
 */
#define NT_MIN 256
#if defined(__x86_64__)
static void copy_nt(struct udax_dev *dev, char *dst, const char *src, size_t len)
{
	size_t head = (CL - ((uintptr_t)dst & (CL - 1))) & (CL - 1);

	if (head) {
		memcpy(dst, src, head);
		dev->flush_fn(dst, head);
		dst += head;
		src += head;
		len -= head;
	}
	for (; len >= CL; dst += CL, src += CL, len -= CL) {
		const __m128i *s = (const __m128i *)src;
		__m128i a = _mm_loadu_si128(s), b = _mm_loadu_si128(s + 1);
		__m128i c = _mm_loadu_si128(s + 2), d = _mm_loadu_si128(s + 3);

		_mm_stream_si128((__m128i *)dst, a);
		_mm_stream_si128((__m128i *)dst + 1, b);
		_mm_stream_si128((__m128i *)dst + 2, c);
		_mm_stream_si128((__m128i *)dst + 3, d);
	}
	if (len) {
		memcpy(dst, src, len);
		dev->flush_fn(dst, len);
	}
}
#else
static void copy_nt(struct udax_dev *dev, char *dst, const char *src, size_t len)
{
	memcpy(dst, src, len);
	dev->flush_fn(dst, len);
}
#endif

int dev_persist_init_named(struct udax_dev *dev, const char *mode)
{
	pthread_once(&cpu_once, cpu_detect_all);
	if (!strcmp(mode, "cpu")) {
		if (!cpu_flush)
			return -EOPNOTSUPP;
		dev_persist_init_cpu(dev);
		return 0;
	}
#if defined(__x86_64__)
	static const struct {
		const char *mode, *impl;
		bool *have;
		dev_flush_fn fn;
	} named[] = {
		{ "clwb", "clwb+sfence", &has_clwb, flush_clwb },
		{ "clflushopt", "clflushopt+sfence", &has_clflushopt, flush_clflushopt },
		{ "clflush", "clflush", &has_clflush, flush_clflush },
	};

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strcmp(mode, named[i].mode))
			continue;
		if (!*named[i].have)
			return -EOPNOTSUPP;
		dev_persist_init_cpu(dev);
		dev->flush_fn = named[i].fn;
		dev->persist_impl = named[i].impl;
		return 0;
	}
#endif
	return -EOPNOTSUPP;
}

/* ---- the device's own persistence ------------------------------------------- */

static int do_msync(const void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr & ~(UDAX_PAGE_SIZE - 1);

	if (msync((void *)start, (uintptr_t)addr + len - start, MS_SYNC) < 0) {
		int e = errno;

		return dev_err(-e, "udax_dev: msync of %zu bytes at %p failed: %s",
			       len, addr, strerror(e));
	}
	return 0;
}

static inline int native_flush(struct udax_dev *dev, const void *addr, size_t len)
{
	switch (dev->pmode) {
	case PM_CPU:
		dev->flush_fn(addr, len);
		return 0;
	case PM_MSYNC:
		return do_msync(addr, len);
	case PM_NONE:
		break;
	}
	return 0;
}

static inline int native_drain(struct udax_dev *dev)
{
	if (dev->pmode == PM_CPU)
		dev->drain_fn();
	else
		atomic_signal_fence(memory_order_seq_cst);
	return 0;
}

#ifdef UDAX_HAVE_PMEM2
static unsigned pmem2_flags(unsigned flags)
{
	unsigned f = 0;

	if (flags & UDAX_PERSIST_NOFLUSH)
		f |= PMEM2_F_MEM_NOFLUSH | PMEM2_F_MEM_NODRAIN;
	if (flags & UDAX_PERSIST_NODRAIN)
		f |= PMEM2_F_MEM_NODRAIN;
	return f;
}
#else
static unsigned pmem2_flags(unsigned flags)
{
	return flags;
}
#endif

/* After a store: flush and drain as @flags allow. */
static int native_after_store(struct udax_dev *dev, const void *dst, size_t len,
			      unsigned flags)
{
	int ret;

	if (flags & UDAX_PERSIST_NOFLUSH)
		return 0;
	ret = native_flush(dev, dst, len);
	if (ret || (flags & UDAX_PERSIST_NODRAIN))
		return ret;
	return native_drain(dev);
}

static int native_memcpy(struct udax_dev *dev, void *dst, const void *src,
			 size_t len, unsigned flags)
{
	if (dev->memcpy_fn) {
		dev->memcpy_fn(dst, src, len, pmem2_flags(flags));
		return 0;
	}
	if (dev->nt_stores && len >= NT_MIN && !(flags & UDAX_PERSIST_NOFLUSH)) {
		copy_nt(dev, dst, src, len);
		return (flags & UDAX_PERSIST_NODRAIN) ? 0 : native_drain(dev);
	}
	memcpy(dst, src, len);
	return native_after_store(dev, dst, len, flags);
}

static int native_memset(struct udax_dev *dev, void *dst, int c, size_t len,
			 unsigned flags)
{
	if (dev->memset_fn) {
		dev->memset_fn(dst, c, len, pmem2_flags(flags));
		return 0;
	}
	memset(dst, c, len);
	return native_after_store(dev, dst, len, flags);
}

/* ---- checks ----------------------------------------------------------------- */

static inline bool in_dev(const struct udax_dev *dev, const void *addr, size_t len)
{
	uintptr_t off = (uintptr_t)addr - (uintptr_t)dev->addr;

	return off < dev->size && len <= dev->size - off;
}

static __attribute__((noinline, cold)) int
bad_range(const struct udax_dev *dev, const char *fn, const void *addr, size_t len)
{
	if (!dev)
		return dev_err(-EINVAL, "%s: dev is NULL", fn);
	return dev_err(-EFAULT, "%s: [%p, +%zu) is not inside the device "
		       "[%p, +%llu)", fn, addr, len, (void *)dev->addr,
		       (unsigned long long)dev->size);
}

static __attribute__((noinline, cold)) int bad_flags(const char *fn, unsigned flags)
{
	return dev_err(-EINVAL, "%s: unknown flags 0x%x", fn, flags);
}

#define PERSIST_FLAGS (UDAX_PERSIST_NODRAIN | UDAX_PERSIST_NOFLUSH)

/*
 * Fault injection (udax/fault.h, UDAX_FAULT_PERSIST), after the range
 * check: the call fails as a flush that did not reach media would.  A
 * copy or fill still stores (like an msync failing after the page cache
 * was written): callers must not assume a failed call left memory as it
 * was.
 */
static __attribute__((noinline, cold)) int injected(const char *fn, int err)
{
	return dev_err(err, "%s: injected failure (UDAX_FAULT_PERSIST)", fn);
}
#define PERSIST_FAULT(fn) do {					\
	int _e = udax_fault_should_fail(UDAX_FAULT_PERSIST);		\
	if (UNLIKELY(_e))						\
		return injected(fn, _e);				\
} while (0)
#define PERSIST_FAULT_STORE(fn, store) do {			\
	int _e = udax_fault_should_fail(UDAX_FAULT_PERSIST);		\
	if (UNLIKELY(_e)) {						\
		store;							\
		return injected(fn, _e);				\
	}								\
} while (0)

/* ---- public calls ----------------------------------------------------------- */

int udax_dev_flush(struct udax_dev *dev, const void *addr, size_t len)
{
	if (UNLIKELY(!len))
		return dev ? 0 : bad_range(dev, __func__, addr, len);
	if (UNLIKELY(!dev || !in_dev(dev, addr, len)))
		return bad_range(dev, __func__, addr, len);
	if (UNLIKELY(fork_inherited(dev->fork_gen)))
		return dev_err_inherited(dev, __func__);
	PERSIST_FAULT(__func__);
	if (UNLIKELY(dev->hooked))
		return dev->hooks.flush(dev->hooks_ctx, addr, len);
	return native_flush(dev, addr, len);
}

int udax_dev_drain(struct udax_dev *dev)
{
	if (UNLIKELY(!dev))
		return bad_range(dev, __func__, NULL, 0);
	if (UNLIKELY(fork_inherited(dev->fork_gen)))
		return dev_err_inherited(dev, __func__);
	PERSIST_FAULT(__func__);
	if (UNLIKELY(dev->hooked))
		return dev->hooks.drain(dev->hooks_ctx);
	return native_drain(dev);
}

static int hooked_persist(struct udax_dev *dev, const void *addr, size_t len)
{
	int ret;

	if (dev->hooks.persist)
		return dev->hooks.persist(dev->hooks_ctx, addr, len);
	ret = dev->hooks.flush(dev->hooks_ctx, addr, len);
	return ret ? ret : dev->hooks.drain(dev->hooks_ctx);
}

int udax_dev_persist(struct udax_dev *dev, const void *addr, size_t len)
{
	int ret;

	if (UNLIKELY(!len))
		return dev ? 0 : bad_range(dev, __func__, addr, len);
	if (UNLIKELY(!dev || !in_dev(dev, addr, len)))
		return bad_range(dev, __func__, addr, len);
	if (UNLIKELY(fork_inherited(dev->fork_gen)))
		return dev_err_inherited(dev, __func__);
	PERSIST_FAULT(__func__);
	if (UNLIKELY(dev->hooked))
		return hooked_persist(dev, addr, len);
	ret = native_flush(dev, addr, len);
	return ret ? ret : native_drain(dev);
}

static int hooked_after_store(struct udax_dev *dev, const void *dst,
			      size_t len, unsigned flags)
{
	int ret;

	if (flags & UDAX_PERSIST_NOFLUSH)
		return 0;
	ret = dev->hooks.flush(dev->hooks_ctx, dst, len);
	if (ret || (flags & UDAX_PERSIST_NODRAIN))
		return ret;
	return dev->hooks.drain(dev->hooks_ctx);
}

int udax_dev_memcpy_persist(struct udax_dev *dev, void *dst, const void *src,
			    size_t len, unsigned flags)
{
	if (UNLIKELY(flags & ~PERSIST_FLAGS))
		return bad_flags(__func__, flags);
	if (UNLIKELY(!len))
		return dev ? 0 : bad_range(dev, __func__, dst, len);
	if (UNLIKELY(!dev || !in_dev(dev, dst, len)))
		return bad_range(dev, __func__, dst, len);
	if (UNLIKELY(fork_inherited(dev->fork_gen)))
		return dev_err_inherited(dev, __func__);
	PERSIST_FAULT_STORE(__func__, memcpy(dst, src, len));
	if (UNLIKELY(dev->hooked)) {
		if (dev->hooks.memcpy_persist)
			return dev->hooks.memcpy_persist(dev->hooks_ctx, dst,
							 src, len, flags);
		memcpy(dst, src, len);
		return hooked_after_store(dev, dst, len, flags);
	}
	return native_memcpy(dev, dst, src, len, flags);
}

int udax_dev_memset_persist(struct udax_dev *dev, void *dst, int c,
			    size_t len, unsigned flags)
{
	if (UNLIKELY(flags & ~PERSIST_FLAGS))
		return bad_flags(__func__, flags);
	if (UNLIKELY(!len))
		return dev ? 0 : bad_range(dev, __func__, dst, len);
	if (UNLIKELY(!dev || !in_dev(dev, dst, len)))
		return bad_range(dev, __func__, dst, len);
	if (UNLIKELY(fork_inherited(dev->fork_gen)))
		return dev_err_inherited(dev, __func__);
	PERSIST_FAULT_STORE(__func__, memset(dst, c, len));
	if (UNLIKELY(dev->hooked)) {
		if (dev->hooks.memset_persist)
			return dev->hooks.memset_persist(dev->hooks_ctx, dst, c,
							 len, flags);
		memset(dst, c, len);
		return hooked_after_store(dev, dst, len, flags);
	}
	return native_memset(dev, dst, c, len, flags);
}

/* ---- hooks -------------------------------------------------------------------- */

int udax_dev_set_persist_hooks(struct udax_dev *dev,
			       const struct udax_persist_ops *ops, void *ctx)
{
	if (!dev)
		return dev_err(-EINVAL, "udax_dev_set_persist_hooks: dev is NULL");
	if (fork_inherited(dev->fork_gen))
		return dev_err_inherited(dev, __func__);
	if (!ops) {
		dev->hooked = false;
		memset(&dev->hooks, 0, sizeof(dev->hooks));
		dev->hooks_ctx = NULL;
		return 0;
	}
	if (!ops->flush || !ops->drain)
		return dev_err(-EINVAL, "udax_dev_set_persist_hooks: ops.flush "
			       "and ops.drain are required");
	dev->hooks = *ops;
	dev->hooks_ctx = ctx;
	dev->hooked = true;
	return 0;
}

/* The native ops: ctx is the device; ranges are checked again. */
static int nat_flush(void *ctx, const void *addr, size_t len)
{
	struct udax_dev *dev = ctx;

	if (!len)
		return 0;
	if (!in_dev(dev, addr, len))
		return bad_range(dev, "native flush", addr, len);
	return native_flush(dev, addr, len);
}

static int nat_drain(void *ctx)
{
	return native_drain(ctx);
}

static int nat_persist(void *ctx, const void *addr, size_t len)
{
	int ret = nat_flush(ctx, addr, len);

	return ret ? ret : native_drain(ctx);
}

static int nat_memcpy(void *ctx, void *dst, const void *src, size_t len,
		      unsigned flags)
{
	struct udax_dev *dev = ctx;

	if (flags & ~PERSIST_FLAGS)
		return bad_flags("native memcpy_persist", flags);
	if (!len)
		return 0;
	if (!in_dev(dev, dst, len))
		return bad_range(dev, "native memcpy_persist", dst, len);
	return native_memcpy(dev, dst, src, len, flags);
}

static int nat_memset(void *ctx, void *dst, int c, size_t len, unsigned flags)
{
	struct udax_dev *dev = ctx;

	if (flags & ~PERSIST_FLAGS)
		return bad_flags("native memset_persist", flags);
	if (!len)
		return 0;
	if (!in_dev(dev, dst, len))
		return bad_range(dev, "native memset_persist", dst, len);
	return native_memset(dev, dst, c, len, flags);
}

static const struct udax_persist_ops native_ops = {
	.flush = nat_flush,
	.drain = nat_drain,
	.persist = nat_persist,
	.memcpy_persist = nat_memcpy,
	.memset_persist = nat_memset,
};

void udax_dev_native_persist_ops(struct udax_dev *dev,
				 const struct udax_persist_ops **ops, void **ctx)
{
	/* Inherited across fork(): no ops, as for no device. */
	if (dev && fork_inherited(dev->fork_gen)) {
		dev_err_inherited(dev, __func__);
		dev = NULL;
	}
	if (ops)
		*ops = dev ? &native_ops : NULL;
	if (ctx)
		*ctx = dev;
}
