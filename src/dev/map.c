/* SPDX-License-Identifier: MIT */
/*
 * Mapping devices: memory (memfd), files and device-dax, through libpmem2
 * when built with it, else plain mmap; and choosing how stores are made
 * durable on each.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#ifdef UDAX_HAVE_PMEM2
#include <libpmem2.h>
#endif

#include "dev/internal.h"

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

/*
 * mmap @len bytes of @fd at an address aligned to @align (a power of two):
 * reserve len + align of address space, map over the aligned part, give
 * back the rest.  Returns the address, or NULL with -errno in *err.
 */
static void *map_aligned(size_t len, size_t align, int flags, int fd, int *err)
{
	size_t rlen;
	char *r, *a;
	void *m;

	if (len > SIZE_MAX - align) {
		*err = -ENOMEM;
		return NULL;
	}
	rlen = len + align;
	r = mmap(NULL, rlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (r == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	a = (char *)(((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1));
	m = mmap(a, len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED) {
		*err = -errno;
		munmap(r, rlen);
		return NULL;
	}
	if (a > r)
		munmap(r, (size_t)(a - r));
	if (a + len < r + rlen)
		munmap(a + len, (size_t)(r + rlen - (a + len)));
	return a;
}

/* ---- memory ---------------------------------------------------------------- */

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004u
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Fault every page of the mapping in now, writable, so that no operation
 * later pays the kernel's allocate-and-zero on first touch (what a real
 * device never does), and so that running out of memory is an error of
 * the open, not a SIGBUS in the middle of a write.  MADV_POPULATE_WRITE
 * (Linux 5.14) allocates and maps the pages and reports failures; then a
 * store to each page (rewriting the byte it holds), because under a
 * hypervisor the guest's zeroed page may still be unbacked on the host
 * until the guest's first store to it (measured: ~30 us per 4 KiB page on
 * the first write after MADV_POPULATE_WRITE alone, in a KVM guest).
 */
static int populate(char *addr, size_t len)
{
	if (madvise(addr, len, MADV_POPULATE_WRITE) && errno != EINVAL)
		return -errno;
	for (size_t off = 0; off < len; off += UDAX_PAGE_SIZE) {
		volatile char *b = addr + off;

		*b = *b;
	}
	return 0;
}

/*
 * huge=hugetlb: a memfd of 2 MiB pages from the hugetlb pool.  Mapping it
 * again (views) must then be 2 MiB-aligned, like device-dax.
 */
static int map_mem_hugetlb(struct udax_dev *dev, const struct dev_open_ctx *oc)
{
	int err = 0;

	if (oc->size % DEV_MAP_ALIGN)
		return dev_err(-EINVAL, "udax_dev_open: huge=hugetlb needs a size "
			       "that is a multiple of 2 MiB, not %" PRIu64, oc->size);
	dev->fd = memfd_create("udax-mem", MFD_CLOEXEC | MFD_HUGETLB);
	if (dev->fd < 0)
		return dev_err(-errno, "udax_dev_open: memfd_create(MFD_HUGETLB): "
			       "%s", strerror(errno));
	if (ftruncate(dev->fd, (off_t)oc->size) < 0) {
		err = -errno;
		goto fail;
	}
	dev->addr = map_aligned(oc->size, DEV_MAP_ALIGN, MAP_SHARED, dev->fd, &err);
	if (!dev->addr)
		goto fail;
	dev->map_len = oc->size;
	err = populate(dev->addr, oc->size);
	if (err) {
		munmap(dev->addr, oc->size);
		dev->addr = NULL;
		goto fail;
	}
	dev->hugetlb = true;
	return 0;
fail:
	close(dev->fd);
	dev->fd = -1;
	return dev_err(err, "udax_dev_open: huge=hugetlb: %" PRIu64 " bytes of "
		       "2 MiB pages could not be mapped: %s (is the hugetlb pool, "
		       "/proc/sys/vm/nr_hugepages, large enough?)", oc->size,
		       strerror(-err));
}

static int map_mem(struct udax_dev *dev, const struct dev_open_ctx *oc)
{
	int err = 0;
	const char *huge;

	dev->kind = UDAX_DEV_KIND_MEM;
	dev->map_align = DEV_MAP_ALIGN;
	if (oc->mem_persist) {
		/* Checked first: a refused mode must not cost a populate. */
		err = dev_persist_init_named(dev, oc->mem_persist);
		if (err)
			return dev_err(err, "udax_dev_open: persist=%s: this CPU has "
				       "no such cache-flush instruction",
				       oc->mem_persist);
	}
	if (oc->mem_hugetlb) {
		err = map_mem_hugetlb(dev, oc);
		if (err)
			return err;
		huge = "2 MiB hugetlb pages";
	} else {
		dev->fd = memfd_create("udax-mem", MFD_CLOEXEC);
		if (dev->fd < 0)
			return dev_err(-errno, "udax_dev_open: memfd_create: %s",
				       strerror(errno));
		if (ftruncate(dev->fd, (off_t)oc->size) < 0) {
			err = -errno;
			goto fail;
		}
		dev->addr = map_aligned(oc->size, dev->map_align, MAP_SHARED,
					dev->fd, &err);
		if (!dev->addr)
			goto fail;
		dev->map_len = oc->size;
		/*
		 * Ask for transparent huge pages (2 MiB entries where the
		 * system's shmem THP policy allows it, "advise" or better);
		 * a refusal only costs the 4 KiB entries.
		 */
		huge = madvise(dev->addr, oc->size, MADV_HUGEPAGE) == 0 ?
			"transparent huge pages asked for" : "4 KiB pages";
		err = populate(dev->addr, oc->size);
		if (err) {
			munmap(dev->addr, oc->size);
			dev->addr = NULL;
			goto fail;
		}
	}
	dev->size = oc->size;
	if (oc->mem_persist) {
		dev->durability = UDAX_DUR_CPU_CACHE;
		dev->pmode = PM_CPU;
		dev->store_granularity = 64;
		dev_set_desc(dev, false,
			 "emulated persistent memory: memfd memory (%s, populated "
			 "at open), flushed like PMem/CXL with %s on every flush "
			 "and drain; the contents are lost when the device is "
			 "closed", huge, dev->persist_impl);
		return 0;
	}
	dev->durability = UDAX_DUR_VOLATILE;
	dev->pmode = PM_NONE;
	dev->persist_impl = "none (volatile)";
	dev->store_granularity = 0;
	dev_set_desc(dev, false,
		 "volatile: memfd memory (%s, populated at open), contents are "
		 "lost when the device is closed; flushes do nothing", huge);
	return 0;
fail:
	close(dev->fd);
	dev->fd = -1;
	return dev_err(err, "udax_dev_open: mapping %" PRIu64 " bytes of memory "
		       "failed: %s", oc->size, strerror(-err));
}

/* ---- files and device-dax: opening ---------------------------------------- */

/* Named like a device-dax: /dev/daxX.Y. */
static bool has_dax_name(const char *path)
{
	return strncmp(path, "/dev/dax", 8) == 0;
}

/* Open oc->path read-write, creating it if asked; sets dev->fd, created. */
static int open_path(struct udax_dev *dev, const struct dev_open_ctx *oc)
{
	bool create = oc->flags & UDAX_DEV_CREATE;
	bool excl = oc->flags & UDAX_DEV_EXCL;
	int fd = -1;

	if (!excl)
		fd = open(oc->path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && create && (excl || errno == ENOENT)) {
		fd = open(oc->path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
		if (fd >= 0)
			dev->created = true;
		else if (errno == EEXIST && !excl)	/* lost a race: use it */
			fd = open(oc->path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT && (oc->want_devdax || has_dax_name(oc->path)))
			return dev_err(-ENOENT, "udax_dev_open: no such device-dax "
				       "device %s", oc->path);
		if (e == ENOENT && create)
			return dev_err(-ENOENT, "udax_dev_open: cannot create %s: "
				       "a directory of the path does not exist",
				       oc->path);
		if (e == ENOENT)
			return dev_err(-ENOENT, "udax_dev_open: %s does not exist "
				       "(pass UDAX_DEV_CREATE with opts.size to "
				       "create it)", oc->path);
		return dev_err(-e, "udax_dev_open: cannot open %s read-write: %s",
			       oc->path, strerror(e));
	}
	dev->fd = fd;
	return 0;
}

/* ---- persistence choice, without libpmem2 ----------------------------------- */

static const char *no_pmem2_reason(const struct dev_open_ctx *oc)
{
#ifdef UDAX_HAVE_PMEM2
	return (oc->flags & UDAX_DEV_NO_PMEM2) ?
		"plain mmap (libpmem2 disabled by UDAX_DEV_NO_PMEM2)" :
		"plain mmap (libpmem2 could not map it)";
#else
	(void)oc;
	return "plain mmap (built without libpmem2)";
#endif
}

static void set_msync(struct udax_dev *dev, const char *why, const char *how)
{
	dev->durability = UDAX_DUR_MSYNC;
	dev->pmode = PM_MSYNC;
	dev->persist_impl = "msync";
	dev->store_granularity = UDAX_PAGE_SIZE;
	dev_set_desc(dev, false, "msync: %s, so stores are durable only "
		     "after msync(2) of their pages; %s", why, how);
}

static void set_cpu_cache(struct udax_dev *dev, const char *what, const char *how)
{
	dev->durability = UDAX_DUR_CPU_CACHE;
	dev->pmode = PM_CPU;
	dev_persist_init_cpu(dev);
	dev->store_granularity = 64;
	dev_set_desc(dev, false,
		 "CPU cache flush: %s, stores are durable once written back "
		 "from the CPU caches (%s); %s", what, dev->persist_impl, how);
}

/* A regular file without libpmem2: MAP_SYNC if the file system takes it. */
static int map_file_plain(struct udax_dev *dev, const struct dev_open_ctx *oc)
{
	int err = 0, sync_err = -EOPNOTSUPP;
	char why[PATH_MAX + 128];

	dev->map_align = DEV_MAP_ALIGN;
	if (dev_cpu_flush_available()) {
		dev->addr = map_aligned(dev->size, dev->map_align,
					MAP_SHARED_VALIDATE | MAP_SYNC, dev->fd,
					&sync_err);
		if (dev->addr) {
			dev->map_len = dev->size;
			set_cpu_cache(dev, "DAX file mapped with MAP_SYNC",
				      no_pmem2_reason(oc));
			return 0;
		}
		/* EOPNOTSUPP: not DAX.  EINVAL: a kernel without MAP_SYNC. */
		if (sync_err != -EOPNOTSUPP && sync_err != -EINVAL)
			return dev_err(sync_err, "udax_dev_open: mmap of %s "
				       "failed: %s", oc->path, strerror(-sync_err));
		snprintf(why, sizeof(why), "%s is not on a DAX file system "
			 "(MAP_SYNC refused: %s)", oc->path, strerror(-sync_err));
	} else {
		snprintf(why, sizeof(why), "no cache-flush instruction is known "
			 "on this CPU, so MAP_SYNC is not used for %s", oc->path);
	}
	dev->addr = map_aligned(dev->size, dev->map_align, MAP_SHARED, dev->fd,
				&err);
	if (!dev->addr)
		return dev_err(err, "udax_dev_open: mmap of %s failed: %s",
			       oc->path, strerror(-err));
	dev->map_len = dev->size;
	set_msync(dev, why, no_pmem2_reason(oc));
	return 0;
}

/* ---- libpmem2 --------------------------------------------------------------- */

#ifdef UDAX_HAVE_PMEM2
/*
 * Map with libpmem2, accepting any store granularity and letting it pick
 * the mode (MAP_SYNC where the file system is DAX, device-dax as is).
 * Returns 0, 1 if libpmem2 could not map it (message in @msg: the caller
 * falls back to plain mmap), or -errno.
 */
static int map_pmem2(struct udax_dev *dev, const struct dev_open_ctx *oc,
		     char *msg, size_t msglen)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	struct pmem2_map *map = NULL;
	enum pmem2_granularity g;
	int ret;

	ret = pmem2_config_new(&cfg);
	if (ret)
		goto fail;
	ret = pmem2_config_set_required_store_granularity(cfg, PMEM2_GRANULARITY_PAGE);
	if (ret)
		goto fail;
	ret = pmem2_source_from_fd(&src, dev->fd);
	if (ret)
		goto fail;
	ret = pmem2_map_new(&map, cfg, src);
	if (ret)
		goto fail;
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);

	if (pmem2_map_get_size(map) != dev->size) {
		snprintf(msg, msglen, "libpmem2 mapped %zu bytes, not %" PRIu64,
			 pmem2_map_get_size(map), dev->size);
		pmem2_map_delete(&map);
		return 1;
	}
	dev->pmem2_map = map;
	dev->pmem2 = true;
	dev->addr = pmem2_map_get_address(map);
	dev->map_len = dev->size;
	dev->map_align = (size_t)1 << __builtin_ctzl((uintptr_t)dev->addr | (1ul << 30));
	if (dev->kind == UDAX_DEV_KIND_DEVDAX && dev->map_align < DEV_MAP_ALIGN)
		dev->map_align = DEV_MAP_ALIGN;
	g = pmem2_map_get_store_granularity(map);
	switch (g) {
	case PMEM2_GRANULARITY_BYTE:
		dev->durability = UDAX_DUR_CPU_STORE;
		dev->pmode = PM_CPU;
		dev->store_granularity = 1;
		break;
	case PMEM2_GRANULARITY_CACHE_LINE:
		dev->durability = UDAX_DUR_CPU_CACHE;
		dev->pmode = PM_CPU;
		dev->store_granularity = 64;
		break;
	case PMEM2_GRANULARITY_PAGE:
	default: {
		/*
		 * Page granularity: libpmem2 persists with msync too, but
		 * drops its errors; our own msync reports -EIO.
		 */
		char why[PATH_MAX + 128];

		snprintf(why, sizeof(why), "%s is not on a DAX file system "
			 "(libpmem2 reports page store granularity: no "
			 "MAP_SYNC)", oc->path);
		set_msync(dev, why, "libpmem2 mapping, persistence by udax's "
			  "msync");
		return 0;
	}
	}
	dev->flush_fn = pmem2_get_flush_fn(map);
	dev->drain_fn = pmem2_get_drain_fn(map);
	dev->memcpy_fn = (dev_memcpy_fn)pmem2_get_memcpy_fn(map);
	dev->memset_fn = (dev_memset_fn)pmem2_get_memset_fn(map);
	dev->persist_impl = "libpmem2";
	dev_set_desc(dev, false, g == PMEM2_GRANULARITY_BYTE ?
		 "CPU store: %s with power-fail-protected CPU caches (eADR), "
		 "stores are durable once globally visible; flush does nothing, "
		 "drain fences (libpmem2)" :
		 "CPU cache flush: %s, stores are durable once written back "
		 "from the CPU caches (libpmem2 flush and drain)",
		 dev->kind == UDAX_DEV_KIND_DEVDAX ? "device-dax" :
		 "DAX file mapped with MAP_SYNC");
	return 0;

fail:
	snprintf(msg, msglen, "%s", pmem2_errormsg());
	if (src)
		pmem2_source_delete(&src);
	if (cfg)
		pmem2_config_delete(&cfg);
	/*
	 * libpmem2 returns -errno for system errors, PMEM2_E_* for its own
	 * (pmem2_err_to_errno is not exported by 1.12).  Out of memory is
	 * an error; anything else: try plain mmap.
	 */
	if (ret == -ENOMEM)
		return -ENOMEM;
	return 1;
}
#endif

/* ---- files ------------------------------------------------------------------ */

static int size_file(struct udax_dev *dev, const struct dev_open_ctx *oc,
		     const struct stat *st)
{
	uint64_t size = (uint64_t)st->st_size;

	if (size == 0 && (oc->flags & UDAX_DEV_CREATE)) {
		int r = posix_fallocate(dev->fd, 0, (off_t)oc->size);

		if (r == EOPNOTSUPP || r == EINVAL)
			r = ftruncate(dev->fd, (off_t)oc->size) ? errno : 0;
		if (r)
			return dev_err(-r, "udax_dev_open: sizing %s to %" PRIu64
				       " bytes failed: %s", oc->path, oc->size,
				       strerror(r));
		size = oc->size;
	} else if (size == 0) {
		return dev_err(-EINVAL, "udax_dev_open: %s is empty (pass "
			       "UDAX_DEV_CREATE with opts.size to size it)",
			       oc->path);
	} else if (oc->size && oc->size != size) {
		return dev_err(-EINVAL, "udax_dev_open: %s has %" PRIu64
			       " bytes, opts.size says %" PRIu64, oc->path,
			       size, oc->size);
	}
	if (size % UDAX_PAGE_SIZE)
		return dev_err(-EINVAL, "udax_dev_open: size of %s (%" PRIu64
			       " bytes) is not a multiple of %lu", oc->path, size,
			       UDAX_PAGE_SIZE);
	if (size > SIZE_MAX / 2)
		return dev_err(-EFBIG, "udax_dev_open: %s is too large to map",
			       oc->path);
	dev->size = size;
	return 0;
}

static int map_file(struct udax_dev *dev, const struct dev_open_ctx *oc,
		    const struct stat *st)
{
	int ret;

	dev->kind = UDAX_DEV_KIND_FILE;
	ret = size_file(dev, oc, st);
	if (ret)
		return ret;
#ifdef UDAX_HAVE_PMEM2
	if (!(oc->flags & UDAX_DEV_NO_PMEM2)) {
		char msg[256];

		ret = map_pmem2(dev, oc, msg, sizeof(msg));
		if (ret <= 0) {
			if (ret)
				return dev_err(ret, "udax_dev_open: libpmem2 "
					       "mapping of %s failed: %s",
					       oc->path, msg);
			return 0;
		}
		ret = map_file_plain(dev, oc);
		if (!ret)
			dev_set_desc(dev, true, ": %s", msg);
		return ret;
	}
#endif
	return map_file_plain(dev, oc);
}

/* ---- device-dax ------------------------------------------------------------- */

static const char *sysfs_root(void)
{
	const char *r = secure_getenv("UDAX_SYSFS_ROOT");	/* tests */

	return r && r[0] ? r : "/sys";
}

/* Read a decimal attribute.  Returns 0, -ENOENT, or -EINVAL if malformed. */
static int read_sysfs_u64(const char *path, uint64_t *v)
{
	char buf[64], *end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || (*end != '\0' && *end != '\n') ||
	    (*end == '\n' && end[1] != '\0'))
		return -EINVAL;
	return 0;
}

static int devdax_geometry(struct udax_dev *dev, const struct dev_open_ctx *oc,
			   const struct stat *st)
{
	char dir[PATH_MAX], p[PATH_MAX + 32], link[PATH_MAX];
	const char *sub;
	uint64_t size, align;
	ssize_t n;
	int ret;

	snprintf(dir, sizeof(dir), "%s/dev/char/%u:%u", sysfs_root(),
		 major(st->st_rdev), minor(st->st_rdev));
	snprintf(p, sizeof(p), "%s/subsystem", dir);
	n = readlink(p, link, sizeof(link) - 1);
	if (n < 0)
		return dev_err(-ENODEV, "udax_dev_open: %s is not a device-dax "
			       "(no %s: %s)", oc->path, p, strerror(errno));
	link[n] = '\0';
	sub = strrchr(link, '/');
	sub = sub ? sub + 1 : link;
	if (strcmp(sub, "dax") != 0)
		return dev_err(-ENODEV, "udax_dev_open: %s is not a device-dax "
			       "(a character device of subsystem \"%s\")",
			       oc->path, sub);

	snprintf(p, sizeof(p), "%s/size", dir);
	ret = read_sysfs_u64(p, &size);
	if (ret)
		return dev_err(-ENODEV, "udax_dev_open: cannot read the size of "
			       "%s from %s: %s", oc->path, p,
			       ret == -EINVAL ? "malformed" : strerror(-ret));
	snprintf(p, sizeof(p), "%s/align", dir);
	ret = read_sysfs_u64(p, &align);
	if (ret == -ENOENT) {	/* kernels before 5.10: the region's */
		snprintf(p, sizeof(p), "%s/device/dax_region/align", dir);
		ret = read_sysfs_u64(p, &align);
	}
	if (ret == -ENOENT) {
		align = DEV_MAP_ALIGN;
		ret = 0;
	}
	if (ret)
		return dev_err(-ENODEV, "udax_dev_open: cannot read the alignment "
			       "of %s from %s: malformed", oc->path, p);
	if (align < UDAX_PAGE_SIZE || align > (1ull << 30) ||
	    (align & (align - 1)))
		return dev_err(-ENODEV, "udax_dev_open: %s has alignment %" PRIu64
			       " (want a power of two from 4 KiB to 1 GiB)",
			       oc->path, align);
	if (size == 0 || size % align)
		return dev_err(-ENODEV, "udax_dev_open: %s has size %" PRIu64
			       ", not a positive multiple of its alignment %"
			       PRIu64, oc->path, size, align);
	if (size > SIZE_MAX / 2)
		return dev_err(-EFBIG, "udax_dev_open: %s is too large to map",
			       oc->path);
	dev->size = size;
	dev->map_align = align < DEV_MAP_ALIGN ? DEV_MAP_ALIGN : (size_t)align;
	return 0;
}

static int map_devdax(struct udax_dev *dev, const struct dev_open_ctx *oc,
		      const struct stat *st)
{
	int ret, err = 0;

	dev->kind = UDAX_DEV_KIND_DEVDAX;
	ret = devdax_geometry(dev, oc, st);
	if (ret)
		return ret;
	if (oc->size && oc->size != dev->size)
		return dev_err(-EINVAL, "udax_dev_open: %s has %" PRIu64
			       " bytes, opts.size says %" PRIu64, oc->path,
			       dev->size, oc->size);
#ifdef UDAX_HAVE_PMEM2
	if (!(oc->flags & UDAX_DEV_NO_PMEM2)) {
		char msg[256];

		ret = map_pmem2(dev, oc, msg, sizeof(msg));
		if (ret < 0)
			return dev_err(ret, "udax_dev_open: libpmem2 mapping of "
				       "%s failed: %s", oc->path, msg);
		if (ret == 0)
			return 0;
		/* fall through to plain mmap */
	}
#endif
	if (!dev_cpu_flush_available())
		return dev_err(-EOPNOTSUPP, "udax_dev_open: %s: no cache-flush "
			       "instruction is known on this CPU (build with "
			       "libpmem2)", oc->path);
	/* Device-dax has no page cache: MAP_SYNC or not, flushes suffice. */
	dev->addr = map_aligned(dev->size, dev->map_align,
				MAP_SHARED_VALIDATE | MAP_SYNC, dev->fd, &err);
	if (!dev->addr && (err == -EOPNOTSUPP || err == -EINVAL))
		dev->addr = map_aligned(dev->size, dev->map_align, MAP_SHARED,
					dev->fd, &err);
	if (!dev->addr)
		return dev_err(err == -ENODEV ? -ENODEV : err, "udax_dev_open: "
			       "mmap of %s failed: %s", oc->path, strerror(-err));
	dev->map_len = dev->size;
	set_cpu_cache(dev, "device-dax", no_pmem2_reason(oc));
	return 0;
}

/* ---- entry points ---------------------------------------------------------- */

/*
 * A child of fork() must not store into the device (its heap copy of the
 * allocators would hand out what the parent hands out): the mapping is
 * not inherited at all.  If the kernel refused, the child's atfork
 * handler (dev_fork_child()) still makes it inaccessible.
 */
static int dontfork(struct udax_dev *dev, int ret)
{
	if (!ret && dev->addr)
		(void)madvise(dev->addr, dev->map_len, MADV_DONTFORK);
	return ret;
}

static int map_path(struct udax_dev *dev, const struct dev_open_ctx *oc);

/*
 * Map every page of a DAX mapping (a file mapped MAP_SYNC, device-dax) at
 * open.  A block of a DAX file that was never written is an unwritten
 * extent (posix_fallocate) or a hole: the first store to it faults, and
 * the file system allocates or converts it, zeroes it and, for MAP_SYNC,
 * commits its journal before the store goes on: tens of µs inside an
 * operation, once per block of the device, and ENOSPC there is a SIGBUS.
 * MADV_POPULATE_WRITE (Linux 5.14) takes all of that at the first open
 * and reports it as the open's error; later opens only build page tables
 * (2 MiB entries where the file's blocks allow).  No stores: on DAX the
 * pages are the media, nothing is left to back.  A kernel without it
 * (EINVAL) keeps the faults.  On failure the mapping is undone.
 */
static int populate_dax(struct udax_dev *dev, const struct dev_open_ctx *oc)
{
	int err;

	if (!madvise(dev->addr, dev->map_len, MADV_POPULATE_WRITE)) {
		dev_set_desc(dev, true, "; populated at open");
		return 0;
	}
	err = errno;
	if (err == EINVAL)
		return 0;
	dev_unmap(dev);
	return dev_err(-err, "udax_dev_open: mapping every page of %s failed: "
		       "%s%s", oc->path, strerror(err), err == EFAULT ?
		       " (a hole the file system could not fill: is it full?)" : "");
}

/*
 * The process holding the flock of the file @st describes, from
 * /proc/locks (0: not found, e.g. no /proc).  For the message only.
 */
static long flock_holder(const struct stat *st)
{
	char line[256];
	long pid = 0;
	FILE *f = fopen("/proc/locks", "re");

	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long ino;
		long p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 00:2f:5678 0 EOF"; waiters
		 * are listed as "1: -> FLOCK ..." and do not hold it. */
		if (sscanf(line, "%*d: FLOCK %*s %*s %ld %x:%x:%lu", &p, &maj,
			   &min, &ino) == 4 && ino == st->st_ino &&
		    makedev(maj, min) == st->st_dev)
			pid = p;
	}
	fclose(f);
	return pid;
}

/* -EBUSY for a device whose lock another open holds, naming who. */
static int lock_busy(const char *path, const struct stat *st)
{
	long pid = flock_holder(st);

	if (pid == (long)getpid())
		return dev_err(-EBUSY, "udax_dev_open: %s is already open in this "
			       "process (another udax_dev_open holds its lock); "
			       "use that device, or close it first", path);
	if (pid > 0)
		return dev_err(-EBUSY, "udax_dev_open: %s is open in another "
			       "process (pid %ld holds its lock; a device serves "
			       "one process at a time): close it there first",
			       path, pid);
	return dev_err(-EBUSY, "udax_dev_open: %s is open in another process "
		       "or another open of this one (its lock is held): close it "
		       "there first", path);
}

int dev_map(struct udax_dev *dev, const struct dev_open_ctx *oc)
{
	return dontfork(dev, oc->is_mem ? map_mem(dev, oc) : map_path(dev, oc));
}

static int map_path(struct udax_dev *dev, const struct dev_open_ctx *oc)
{
	struct stat st;
	int ret;

	ret = open_path(dev, oc);
	if (ret)
		return ret;
	if (fstat(dev->fd, &st) < 0) {
		ret = dev_err(-errno, "udax_dev_open: fstat %s: %s", oc->path,
			      strerror(errno));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		if (oc->want_devdax) {
			ret = dev_err(-ENODEV, "udax_dev_open: %s is a regular "
				      "file, not a device-dax (use file:)",
				      oc->path);
			goto fail;
		}
	} else if (S_ISCHR(st.st_mode)) {
		if (oc->want_file) {
			ret = dev_err(-EINVAL, "udax_dev_open: %s is a character "
				      "device, not a regular file (use devdax:)",
				      oc->path);
			goto fail;
		}
		if (oc->flags & UDAX_DEV_CREATE) {
			ret = dev_err(-EINVAL, "udax_dev_open: UDAX_DEV_CREATE "
				      "applies to file devices only, %s is a "
				      "character device", oc->path);
			goto fail;
		}
	} else {
		ret = dev_err(S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
			      "udax_dev_open: %s is neither a regular file nor "
			      "a character device", oc->path);
		goto fail;
	}
	/* One open per file or device: two would lay out partitions apart. */
	if (flock(dev->fd, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? lock_busy(oc->path, &st) :
			dev_err(-errno, "udax_dev_open: flock %s: %s", oc->path,
				strerror(errno));
		goto fail;
	}
	ret = S_ISREG(st.st_mode) ? map_file(dev, oc, &st) :
				    map_devdax(dev, oc, &st);
	if (!ret && dev->pmode == PM_CPU)
		ret = populate_dax(dev, oc);
	if (ret)
		goto fail;
	return 0;
fail:
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
	if (dev->created)
		unlink(oc->path);
	return ret;
}

void dev_unmap(struct udax_dev *dev)
{
#ifdef UDAX_HAVE_PMEM2
	if (dev->pmem2_map) {
		pmem2_map_delete(&dev->pmem2_map);
		dev->addr = NULL;
	}
#endif
	if (dev->addr)
		munmap(dev->addr, dev->map_len);
	dev->addr = NULL;
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}
