/* SPDX-License-Identifier: MIT */
/*
 * Memory devices: open, info, access, persistence calls, close; every page
 * resident at open (populated); persist=MODE (PMem-like flushes) and
 * huge=hugetlb.
 */
#include <sys/mman.h>
#include <udax/dev.h>

#include "dev_util.h"

static void check_size(const char *spec, uint64_t want)
{
	struct udax_dev *dev = t_open_mem(spec, 0);
	struct udax_dev_info info;

	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.size == want);
	T_OK(udax_dev_close(&dev, 0));
}

/* Every page of the device is resident right after the open. */
static void check_populated(struct udax_dev *dev)
{
	struct udax_dev_info info;
	unsigned char *vec;
	size_t n;

	T_OK(udax_dev_info(dev, &info));
	n = info.size / UDAX_PAGE_SIZE;
	vec = malloc(n);
	T_ASSERT(vec);
	T_ASSERT(mincore(info.addr, info.size, vec) == 0);
	for (size_t i = 0; i < n; i++)
		T_ASSERT(vec[i] & 1);
	free(vec);
}

/* persist=MODE: PMem-like persistence on memory; MODE must exist here. */
static void check_persist(const char *spec, const char *impl)
{
	struct udax_dev *dev = NULL;
	struct udax_dev_info info;
	char *p;
	int ret = udax_dev_open(spec, NULL, &dev);

	if (ret == -EOPNOTSUPP) {
		T_ASSERT(strstr(udax_dev_last_error(), "no such cache-flush"));
		printf("%s: not on this CPU\n", spec);
		return;
	}
	T_OK(ret);
	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.kind == UDAX_DEV_KIND_MEM);
	T_ASSERT(info.durability == UDAX_DUR_CPU_CACHE);
	T_ASSERT(info.store_granularity == 64);
	T_ASSERT(strstr(info.durability_desc, "emulated persistent memory"));
	if (impl)
		T_ASSERT(strcmp(info.persist_impl, impl) == 0);
	p = info.addr;
	memset(p + 100, 0x5a, 5000);
	T_OK(udax_dev_persist(dev, p + 100, 5000));
	T_OK(udax_dev_memcpy_persist(dev, p + 8192, "hello", 6, 0));
	T_OK(udax_dev_memset_persist(dev, p + 9000, 1, 300, UDAX_PERSIST_NODRAIN));
	T_OK(udax_dev_drain(dev));
	T_ASSERT(strcmp(p + 8192, "hello") == 0 && p[9299] == 1 && p[5099] == 0x5a);
	check_populated(dev);
	T_OK(udax_dev_close(&dev, 0));
}

int main(void)
{
	struct udax_dev *dev = t_open_mem("mem:64M", 0);
	struct udax_dev_info info;
	struct udax_pgmap_info pi;
	char *p;

	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.kind == UDAX_DEV_KIND_MEM);
	T_ASSERT(strcmp(info.spec, "mem:64M") == 0);
	T_ASSERT(strcmp(info.path, "") == 0);
	T_ASSERT(info.size == 64 * MiB);
	T_ASSERT(info.addr && (uintptr_t)info.addr % info.map_align == 0);
	T_ASSERT(info.map_align >= 2 * MiB);
	T_ASSERT(info.durability == UDAX_DUR_VOLATILE);
	T_ASSERT(strstr(info.durability_desc, "volatile"));
	T_ASSERT(info.store_granularity == 0);
	T_ASSERT(!info.pmem2);
	T_ASSERT(info.pgmap_flags == 0 && info.altmap_bytes == 0);
	T_ASSERT(info.nr_pages == 64 * MiB / UDAX_PAGE_SIZE);
	T_ASSERT(info.table_offset == 0);

	/* The device's range covers the whole mapping. */
	T_ASSERT(udax_dev_pgmap(dev));
	udax_pgmap_get_info(udax_dev_pgmap(dev), &pi);
	T_ASSERT(pi.type == UDAX_PGMAP_FS_DAX);
	T_ASSERT(pi.addr == info.addr && pi.size == info.size);
	T_ASSERT(pi.pfn_first == info.pfn_first);

	/* Memory is zeroed, shared, writable; persistence calls succeed. */
	p = info.addr;
	T_ASSERT(p[0] == 0 && p[info.size - 1] == 0);
	memset(p, 0xa5, 8192);
	T_OK(udax_dev_persist(dev, p, 8192));
	T_OK(udax_dev_flush(dev, p + 1, 100));
	T_OK(udax_dev_drain(dev));
	T_OK(udax_dev_memcpy_persist(dev, p + 4096, "hello", 6, 0));
	T_ASSERT(strcmp(p + 4096, "hello") == 0);
	T_OK(udax_dev_memset_persist(dev, p + info.size - 10, 'x', 10,
				     UDAX_PERSIST_NODRAIN));
	T_ASSERT(p[info.size - 1] == 'x');
	T_OK(udax_dev_persist(dev, p, info.size));	/* the whole device */
	T_OK(udax_dev_persist(dev, NULL, 0));		/* empty: anywhere */

	/* Ranges outside the device are refused. */
	T_EXPECT_MSG(udax_dev_persist(dev, p - 1, 2), -EFAULT, "not inside");
	T_EXPECT_MSG(udax_dev_flush(dev, p + info.size, 1), -EFAULT, "not inside");
	T_EXPECT_MSG(udax_dev_flush(dev, p + 4096, info.size), -EFAULT, "not inside");
	T_EXPECT_MSG(udax_dev_memcpy_persist(dev, p, "x", 1, 0x80), -EINVAL,
		     "unknown flags");
	T_EXPECT_MSG(udax_dev_drain(NULL), -EINVAL, "NULL");
	T_EXPECT_ERR(udax_dev_info(NULL, &info), -EINVAL);
	T_EXPECT_ERR(udax_dev_info(dev, NULL), -EINVAL);
	T_ASSERT(udax_dev_pgmap(NULL) == NULL);

	T_OK(udax_dev_close(&dev, 0));
	T_ASSERT(dev == NULL);
	T_OK(udax_dev_close(&dev, 0));			/* NULL: no-op */
	T_EXPECT_ERR(udax_dev_close(NULL, 0), -EINVAL);

	check_size("mem:4096", 4096);
	check_size("mem:2m", 2 * MiB);
	check_size("mem:1G", 1024 * MiB);
	check_size("mem:8192K", 8 * MiB);

	/* Populated at open: no page is left for a first-touch fault. */
	dev = t_open_mem("mem:16M", 0);
	check_populated(dev);
	T_OK(udax_dev_close(&dev, 0));

	check_persist("mem:8M,persist=cpu", NULL);
	check_persist("mem:8M,persist=clwb", "clwb+sfence");
	check_persist("mem:8M,persist=clflushopt", "clflushopt+sfence");
	check_persist("mem:8M,persist=clflush", "clflush");

	/* huge=hugetlb: works with a pool, else a clear -ENOMEM. */
	{
		int ret = udax_dev_open("mem:4M,huge=hugetlb", NULL, &dev);
		size_t align;
		int fd;

		if (ret) {
			T_ASSERT(ret == -ENOMEM || ret == -EINVAL || ret == -ENOSYS);
			T_ASSERT(strstr(udax_dev_last_error(), "huge"));
			printf("huge=hugetlb: %s\n", udax_dev_last_error());
		} else {
			T_OK(udax_dev_mmap_fd(dev, &fd, &align));
			T_ASSERT(align == 2 * MiB);
			check_populated(dev);
			T_OK(udax_dev_close(&dev, 0));
		}
	}
	return 0;
}
