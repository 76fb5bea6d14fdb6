/* SPDX-License-Identifier: MIT */
/*
 * File devices: create, size rules, durability on a non-DAX file system
 * (msync, and the info says why), data and partitions surviving a reopen,
 * exclusive opens.  Both with libpmem2 (if built with it) and without.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <udax/dev.h>

#include "dev_util.h"

static void run(const char *dir, unsigned extra)
{
	struct udax_dev_opts o = { .flags = UDAX_DEV_CREATE | extra, .size = 16 * MiB };
	struct udax_dev *dev = NULL, *dev2 = NULL;
	struct udax_dev_info info;
	struct udax_part_spec ps[2] = { { 4 * MiB, UDAX_PART_TYPE_UDAXFS, "one" },
					{ 0, 7, "two" } };
	struct udax_part_info pi;
	char path[512], spec[600];
	struct stat st;
	char *p;

	snprintf(path, sizeof(path), "%s/dev%u.img", dir, extra);
	unlink(path);
	snprintf(spec, sizeof(spec), "file:%s", path);

	/* Create. */
	T_OK(udax_dev_open(spec, &o, &dev));
	T_ASSERT(stat(path, &st) == 0 && st.st_size == (off_t)(16 * MiB));
	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.kind == UDAX_DEV_KIND_FILE);
	T_ASSERT(strcmp(info.path, path) == 0);
	T_ASSERT(info.size == 16 * MiB);
	/* $TMPDIR is not DAX here: msync durability, and the info says so. */
	if (info.durability != UDAX_DUR_MSYNC) {
		fprintf(stderr, "skip: %s is on a DAX file system (%s)\n", dir,
			info.durability_desc);
		udax_dev_close(&dev, 0);
		exit(T_SKIP);
	}
	printf("%s: %s [%s]\n", spec, info.durability_desc, info.persist_impl);
	T_ASSERT(strstr(info.durability_desc, "msync"));
	T_ASSERT(strstr(info.durability_desc, "not on a DAX file system"));
	T_ASSERT(strcmp(info.persist_impl, "msync") == 0);
	T_ASSERT(info.store_granularity == 4096);
	if (extra & UDAX_DEV_NO_PMEM2) {
		T_ASSERT(!info.pmem2);
		T_ASSERT(strstr(info.durability_desc, "plain mmap"));
	} else if (info.pmem2) {
		T_ASSERT(strstr(info.durability_desc, "libpmem2"));
	}
	T_ASSERT((uintptr_t)info.addr % UDAX_PAGE_SIZE == 0);

	/* A second open of the same file is refused while the first lives. */
	o.flags &= ~UDAX_DEV_CREATE;
	o.size = 0;
	T_EXPECT_MSG(udax_dev_open(spec, &o, &dev2), -EBUSY, "already open in this process");

	/* Write, persist (msync), partition; close; reopen: all there. */
	p = info.addr;
	memcpy(p + 8 * MiB, "durable", 8);
	T_OK(udax_dev_persist(dev, p + 8 * MiB, 8));
	T_OK(udax_dev_memcpy_persist(dev, p + 15 * MiB, "copied", 7, 0));
	T_OK(udax_dev_mkpart(dev, ps, 2, 0));
	T_OK(udax_dev_close(&dev, 0));

	T_OK(udax_dev_open(path, &o, &dev));		/* bare path */
	T_OK(udax_dev_info(dev, &info));
	p = info.addr;
	T_ASSERT(memcmp(p + 8 * MiB, "durable", 8) == 0);
	T_ASSERT(memcmp(p + 15 * MiB, "copied", 7) == 0);
	T_ASSERT(udax_dev_part_count(dev) == 2);
	T_OK(udax_dev_part(dev, 0, &pi));
	T_ASSERT(pi.offset == 2 * MiB && pi.size == 4 * MiB);
	T_ASSERT(pi.type == UDAX_PART_TYPE_UDAXFS && strcmp(pi.label, "one") == 0);
	T_OK(udax_dev_part(dev, 1, &pi));
	T_ASSERT(pi.offset == 6 * MiB && pi.size == 10 * MiB);
	T_ASSERT(pi.type == 7 && strcmp(pi.label, "two") == 0);
	T_OK(udax_dev_close(&dev, 0));

	/* Size rules for existing files. */
	o = (struct udax_dev_opts){ .flags = extra, .size = 8 * MiB };
	T_EXPECT_MSG(udax_dev_open(spec, &o, &dev), -EINVAL, "opts.size says");
	o = (struct udax_dev_opts){ .flags = extra, .size = 16 * MiB };
	T_OK(udax_dev_open(spec, &o, &dev));
	T_OK(udax_dev_close(&dev, 0));
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE | UDAX_DEV_EXCL | extra,
				    .size = 16 * MiB };
	T_EXPECT_ERR(udax_dev_open(spec, &o, &dev), -EEXIST);
	T_ASSERT(truncate(path, 16 * MiB + 100) == 0);
	o = (struct udax_dev_opts){ .flags = extra };
	T_EXPECT_MSG(udax_dev_open(spec, &o, &dev), -EINVAL, "not a multiple of 4096");
	T_ASSERT(truncate(path, 0) == 0);
	T_EXPECT_MSG(udax_dev_open(spec, &o, &dev), -EINVAL, "is empty");
	/* An empty existing file is sized by UDAX_DEV_CREATE. */
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE | extra, .size = 4 * MiB };
	T_OK(udax_dev_open(spec, &o, &dev));
	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.size == 4 * MiB);
	T_EXPECT_ERR(udax_dev_part_count(dev), -ENODATA);
	T_OK(udax_dev_close(&dev, 0));
	unlink(path);

	/* A failed open does not leave a file it created. */
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE | extra,
				    .pgmap_flags = UDAX_PGMAP_ALTMAP, .size = 4096 };
	T_EXPECT_ERR(udax_dev_open(spec, &o, &dev), -EINVAL);
	T_ASSERT(access(path, F_OK) != 0);
}

int main(void)
{
	const char *dir = t_tmpdir();
	char cmd[600];

	run(dir, 0);
	run(dir, UDAX_DEV_NO_PMEM2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	T_ASSERT(system(cmd) == 0);
	return 0;
}
