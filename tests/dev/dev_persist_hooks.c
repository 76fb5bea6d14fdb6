/* SPDX-License-Identifier: MIT */
/*
 * Persistence hooks: a recorder sees every flush, drain, persist and copy
 * (mkpart's table writes included), can pass them through to the device's
 * own ops, and is bypassed again once removed.
 */
#include <udax/dev.h>

#include "dev_util.h"

struct rec {
	int flush, drain, persist, memcpy_, memset_;
	size_t flushed;
	const struct udax_persist_ops *native;
	void *native_ctx;
	int fail;		/* return this from flush */
};

static int r_flush(void *ctx, const void *addr, size_t len)
{
	struct rec *r = ctx;

	r->flush++;
	r->flushed += len;
	if (r->fail)
		return r->fail;
	return r->native ? r->native->flush(r->native_ctx, addr, len) : 0;
}

static int r_drain(void *ctx)
{
	struct rec *r = ctx;

	r->drain++;
	return r->native ? r->native->drain(r->native_ctx) : 0;
}

static int r_persist(void *ctx, const void *addr, size_t len)
{
	struct rec *r = ctx;

	r->persist++;
	return r->native->persist(r->native_ctx, addr, len);
}

static int r_memcpy(void *ctx, void *dst, const void *src, size_t len,
		    unsigned flags)
{
	struct rec *r = ctx;

	r->memcpy_++;
	return r->native->memcpy_persist(r->native_ctx, dst, src, len, flags);
}

static int r_memset(void *ctx, void *dst, int c, size_t len, unsigned flags)
{
	struct rec *r = ctx;

	r->memset_++;
	return r->native->memset_persist(r->native_ctx, dst, c, len, flags);
}

int main(void)
{
	struct udax_dev *dev = t_open_mem("mem:16M", 0);
	struct udax_persist_ops min = { .flush = r_flush, .drain = r_drain };
	struct udax_persist_ops full = {
		.flush = r_flush, .drain = r_drain, .persist = r_persist,
		.memcpy_persist = r_memcpy, .memset_persist = r_memset,
	};
	struct udax_dev_info info;
	struct rec r = { 0 };
	char *p;

	T_OK(udax_dev_info(dev, &info));
	p = info.addr;

	/* Only flush and drain: the rest is composed from them. */
	T_OK(udax_dev_set_persist_hooks(dev, &min, &r));
	T_OK(udax_dev_flush(dev, p, 100));
	T_ASSERT(r.flush == 1 && r.flushed == 100 && r.drain == 0);
	T_OK(udax_dev_drain(dev));
	T_ASSERT(r.drain == 1);
	T_OK(udax_dev_persist(dev, p, 10));
	T_ASSERT(r.flush == 2 && r.drain == 2);
	T_OK(udax_dev_memcpy_persist(dev, p + 64, "abc", 4, 0));
	T_ASSERT(strcmp(p + 64, "abc") == 0);
	T_ASSERT(r.flush == 3 && r.drain == 3);
	T_OK(udax_dev_memcpy_persist(dev, p + 64, "xyz", 4, UDAX_PERSIST_NODRAIN));
	T_ASSERT(r.flush == 4 && r.drain == 3);
	T_OK(udax_dev_memset_persist(dev, p + 128, 7, 16, UDAX_PERSIST_NOFLUSH));
	T_ASSERT(p[143] == 7 && r.flush == 4 && r.drain == 3);
	T_OK(udax_dev_memset_persist(dev, p + 128, 8, 16, 0));
	T_ASSERT(r.flush == 5 && r.drain == 4);

	/* The range is checked before the hook: bad ranges never reach it. */
	T_EXPECT_ERR(udax_dev_flush(dev, p + info.size, 1), -EFAULT);
	T_EXPECT_ERR(udax_dev_persist(dev, p - 4096, 4096), -EFAULT);
	T_OK(udax_dev_flush(dev, p, 0));
	T_ASSERT(r.flush == 5);

	/* mkpart writes its table through the hooks. */
	r = (struct rec){ 0 };
	T_OK(udax_dev_mkpart(dev, NULL, 0, 0));
	T_ASSERT(r.flush >= 2 && r.drain >= 2);
	T_ASSERT(r.flushed >= 4096);
	/* Replacing it: clear the old magic, body, new magic = 3 flushes. */
	r = (struct rec){ 0 };
	T_OK(udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE));
	T_ASSERT(r.flush == 3 && r.drain == 3 && r.flushed == 4096 + 8);

	/* A failing flush fails the write and says so. */
	r = (struct rec){ .fail = -EIO };
	T_EXPECT_MSG(udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE), -EIO,
		     "writing the table");
	T_EXPECT_ERR(udax_dev_persist(dev, p, 1), -EIO);

	/* All ops, passing through to the device's own. */
	r = (struct rec){ 0 };
	udax_dev_native_persist_ops(dev, &r.native, &r.native_ctx);
	T_ASSERT(r.native && r.native_ctx == dev);
	T_OK(udax_dev_set_persist_hooks(dev, &full, &r));
	T_OK(udax_dev_persist(dev, p, 4096));
	T_ASSERT(r.persist == 1 && r.flush == 0);
	T_OK(udax_dev_memcpy_persist(dev, p + 8, "hooked", 7, 0));
	T_ASSERT(r.memcpy_ == 1 && strcmp(p + 8, "hooked") == 0);
	T_OK(udax_dev_memset_persist(dev, p + 4000, 'q', 96, 0));
	T_ASSERT(r.memset_ == 1 && p[4095] == 'q');
	/* The native ops check ranges too. */
	T_EXPECT_ERR(r.native->flush(r.native_ctx, p + info.size, 8), -EFAULT);
	T_EXPECT_ERR(r.native->memcpy_persist(r.native_ctx, p, "x", 1, 0x40),
		     -EINVAL);
	T_OK(udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE));
	T_ASSERT(r.memcpy_ >= 3 && udax_dev_part_count(dev) == 1);

	/* Removed: calls go to the device directly. */
	T_OK(udax_dev_set_persist_hooks(dev, NULL, NULL));
	r = (struct rec){ 0 };
	T_OK(udax_dev_persist(dev, p, 64));
	T_OK(udax_dev_memcpy_persist(dev, p, "direct", 7, 0));
	T_ASSERT(r.flush == 0 && r.persist == 0 && r.memcpy_ == 0);

	/* Bad arguments. */
	T_EXPECT_MSG(udax_dev_set_persist_hooks(dev, &(struct udax_persist_ops){
			.flush = r_flush }, &r), -EINVAL, "required");
	T_EXPECT_ERR(udax_dev_set_persist_hooks(NULL, &min, &r), -EINVAL);
	T_OK(udax_dev_close(&dev, 0));
	return 0;
}
