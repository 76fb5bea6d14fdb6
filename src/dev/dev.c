/* SPDX-License-Identifier: MIT */
/*
 * Devices: spec parsing, open and close, the device's pagemap range, and
 * the per-thread error message.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dev/internal.h"

/* ---- error messages ------------------------------------------------------ */

static __thread char last_error[512];
static __thread unsigned last_error_seq;

int dev_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	last_error_seq++;
	return err;
}

unsigned dev_err_seq(void)
{
	return last_error_seq;
}

const char *udax_dev_last_error(void)
{
	return last_error;
}

int dev_err_inherited(const struct udax_dev *dev, const char *fn)
{
	return dev_err(-FORK_ERRNO, "%s: device %s was opened by process %d and "
		       "is unusable here: " FORK_HINT, fn, dev->spec,
		       (int)dev->owner);
}

void dev_set_desc(struct udax_dev *dev, bool append, const char *fmt, ...)
{
	char *s = NULL, *joined = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;			/* out of memory: keep the old one */
	if (append && dev->durability_desc) {
		if (asprintf(&joined, "%s%s", dev->durability_desc, s) < 0) {
			free(s);
			return;
		}
		free(s);
		s = joined;
	}
	free(dev->durability_desc);
	dev->durability_desc = s;
}

/* ---- spec parsing ---------------------------------------------------------- */

/*
 * A byte count: decimal digits and an optional K, M, G or T suffix (either
 * case, powers of 1024).  Nothing else: no sign, space, or hex.
 */
static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	default:
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * The options of a memory device, after its size: ",persist=MODE" (flush
 * like PMem/CXL: cpu, clwb, clflushopt or clflush) and ",huge=hugetlb".
 * Each at most once.
 */
static int parse_mem_options(const char *opts, const char *spec,
			     struct dev_open_ctx *oc)
{
	static const char *const modes[] = { "cpu", "clwb", "clflushopt", "clflush" };
	bool seen_persist = false, seen_huge = false;

	while (*opts == ',') {
		const char *o = opts + 1;
		size_t n = strcspn(o, ",");

		if (n > 8 && !strncmp(o, "persist=", 8) && !seen_persist) {
			size_t i;

			for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
				if (strlen(modes[i]) == n - 8 && !strncmp(o + 8, modes[i], n - 8))
					break;
			if (i == sizeof(modes) / sizeof(modes[0]))
				return dev_err(-EINVAL, "udax_dev_open: bad persist "
					       "mode \"%.*s\" in spec \"%s\" (want cpu, "
					       "clwb, clflushopt or clflush)", (int)(n - 8),
					       o + 8, spec);
			oc->mem_persist = modes[i];
			seen_persist = true;
		} else if (n == 12 && !strncmp(o, "huge=hugetlb", 12) && !seen_huge) {
			oc->mem_hugetlb = true;
			seen_huge = true;
		} else {
			return dev_err(-EINVAL, "udax_dev_open: bad or repeated option "
				       "\"%.*s\" in spec \"%s\" (want persist=MODE or "
				       "huge=hugetlb, each at most once)", (int)n, o, spec);
		}
		opts = o + n;
	}
	if (*opts)	/* unreachable: the size stopped at a ',' or the end */
		return dev_err(-EINVAL, "udax_dev_open: bad spec \"%s\"", spec);
	return 0;
}

static int parse_spec(const char *spec, const struct udax_dev_opts *o,
		      struct dev_open_ctx *oc)
{
	const char *rest;
	int ret;

	memset(oc, 0, sizeof(*oc));
	oc->flags = o->flags;
	if (spec[0] == '\0')
		return dev_err(-EINVAL, "udax_dev_open: empty spec (want mem:SIZE, "
			       "file:PATH, devdax:PATH or a path)");
	if (strlen(spec) >= PATH_MAX + 16)
		return dev_err(-ENAMETOOLONG, "udax_dev_open: spec is longer "
			       "than PATH_MAX");

	if (has_prefix(spec, "mem:")) {
		char size[32];
		size_t n = strcspn(spec + 4, ",");

		rest = spec + 4;
		oc->is_mem = true;
		ret = n < sizeof(size) ? 0 : -EINVAL;
		if (!ret) {
			memcpy(size, rest, n);
			size[n] = '\0';
			ret = parse_size(size, &oc->size);
		}
		if (ret == -ERANGE)
			return dev_err(-EINVAL, "udax_dev_open: size \"%.*s\" in "
				       "spec \"%s\" overflows 64 bits", (int)n, rest,
				       spec);
		if (ret)
			return dev_err(-EINVAL, "udax_dev_open: bad size \"%.*s\" in "
				       "spec \"%s\" (want digits with an optional "
				       "K, M, G or T suffix, e.g. mem:64M)", (int)n,
				       rest, spec);
		ret = parse_mem_options(rest + n, spec, oc);
		if (ret)
			return ret;
		if (oc->size == 0 || oc->size % UDAX_PAGE_SIZE)
			return dev_err(-EINVAL, "udax_dev_open: memory size %" PRIu64
				       " of spec \"%s\" is not a positive multiple "
				       "of %lu", oc->size, spec, UDAX_PAGE_SIZE);
		if (oc->size > SIZE_MAX / 2)
			return dev_err(-EINVAL, "udax_dev_open: memory size %" PRIu64
				       " is too large", oc->size);
		if (o->flags & UDAX_DEV_CREATE)
			return dev_err(-EINVAL, "udax_dev_open: UDAX_DEV_CREATE "
				       "applies to file devices only");
		if (o->size)
			return dev_err(-EINVAL, "udax_dev_open: opts.size must be 0 "
				       "for a memory device (the spec gives the size)");
		return 0;
	}
	if (has_prefix(spec, "file:")) {
		oc->want_file = true;
		rest = spec + 5;
	} else if (has_prefix(spec, "devdax:")) {
		oc->want_devdax = true;
		rest = spec + 7;
	} else {
		rest = spec;
	}
	if (rest[0] == '\0')
		return dev_err(-EINVAL, "udax_dev_open: no path in spec \"%s\"",
			       spec);
	if (strlen(rest) >= PATH_MAX)
		return dev_err(-ENAMETOOLONG, "udax_dev_open: path is longer "
			       "than PATH_MAX");
	if ((o->flags & UDAX_DEV_CREATE) && oc->want_devdax)
		return dev_err(-EINVAL, "udax_dev_open: UDAX_DEV_CREATE applies "
			       "to file devices only, not \"%s\"", spec);
	if (o->size % UDAX_PAGE_SIZE)
		return dev_err(-EINVAL, "udax_dev_open: opts.size %" PRIu64
			       " is not a multiple of %lu", o->size,
			       UDAX_PAGE_SIZE);
	if ((o->flags & UDAX_DEV_CREATE) && !o->size)
		return dev_err(-EINVAL, "udax_dev_open: UDAX_DEV_CREATE needs "
			       "opts.size");
	oc->path = rest;
	oc->size = o->size;
	return 0;
}

static int check_opts(const struct udax_dev_opts *o)
{
	const unsigned known = UDAX_DEV_CREATE | UDAX_DEV_EXCL | UDAX_DEV_NO_PMEM2;

	if (o->flags & ~known)
		return dev_err(-EINVAL, "udax_dev_open: unknown flags 0x%x in "
			       "opts.flags", o->flags & ~known);
	if ((o->flags & UDAX_DEV_EXCL) && !(o->flags & UDAX_DEV_CREATE))
		return dev_err(-EINVAL, "udax_dev_open: UDAX_DEV_EXCL needs "
			       "UDAX_DEV_CREATE");
	if (o->pgmap_flags != 0 && o->pgmap_flags != UDAX_PGMAP_LIMITED &&
	    o->pgmap_flags != UDAX_PGMAP_ALTMAP)
		return dev_err(-EINVAL, "udax_dev_open: opts.pgmap_flags 0x%x: "
			       "want 0, UDAX_PGMAP_LIMITED or UDAX_PGMAP_ALTMAP",
			       o->pgmap_flags);
	for (size_t i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
		if (o->reserved[i])
			return dev_err(-EINVAL, "udax_dev_open: opts.reserved[%zu] "
				       "is not zero", i);
	return 0;
}

/* ---- open / close ---------------------------------------------------------- */

/*
 * Close the descriptor and stop tracking the device with no fork() in
 * between: a child must neither keep a copy of the locked descriptor nor
 * have its handler close a number the parent has reused meanwhile.  The
 * fork handlers are installed (the device was tracked), so the lock cannot
 * fail.
 */
static void dev_close_fd(struct udax_dev *dev)
{
	bool locked = fork_lock() == 0;

	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
	if (locked) {
		fork_untrack_locked(&dev->fork_node);
		fork_unlock();
	}
}

/*
 * In a child, right after fork() (common/fork.h).  The mapping was not
 * inherited (MADV_DONTFORK, dev_map()); reserve its addresses inaccessible
 * so a store through an inherited pointer faults instead of landing in
 * whatever the child maps there next.  Close the child's copy of the
 * descriptor: the flock belongs to the open file description, which the
 * copy would keep locked after the parent closes the device, and a memfd
 * copy would keep the parent's memory alive.
 */
static void dev_fork_child(struct fork_node *n)
{
	struct udax_dev *dev = (struct udax_dev *)
		((char *)n - offsetof(struct udax_dev, fork_node));

	if (dev->addr && dev->map_len)
		mmap(dev->addr, dev->map_len, PROT_NONE, MAP_PRIVATE |
		     MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (dev->fd >= 0)
		close(dev->fd);
	dev->fd = -1;
}

static void dev_free(struct udax_dev *dev)
{
	fork_untrack(&dev->fork_node);
	pthread_mutex_destroy(&dev->lock);
	free(dev->durability_desc);
	free(dev->spec);
	free(dev->path);
	free(dev);
}

static int register_range(struct udax_dev *dev, const struct udax_dev_opts *o)
{
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_FS_DAX,
		.flags = o->pgmap_flags,
		.addr = dev->addr,
		.size = dev->size,
		.ops = NULL,		/* the standard FS_DAX ops: holders */
		.name = o->name ? o->name : dev->spec,
	};
	struct udax_pgmap_info info;
	int ret;

	if ((o->pgmap_flags & UDAX_PGMAP_ALTMAP) && dev_part_magic_at(dev, 0))
		return dev_err(-EINVAL, "udax_dev_open: %s holds a partition "
			       "table at offset 0 (laid out without a page-array "
			       "reservation); UDAX_PGMAP_ALTMAP would overwrite "
			       "it: open without it, or wipe the table first",
			       dev->spec);
	ret = udax_pgmap_register(&p, &dev->pgmap);
	if (ret) {
		const char *why = ret == -EINVAL && (o->pgmap_flags & UDAX_PGMAP_ALTMAP)
			? " (device too small for an in-device page array?)" : "";
		return dev_err(ret, "udax_dev_open: registering the pagemap range "
			       "of %s (%" PRIu64 " bytes) failed: %s%s", dev->spec,
			       dev->size, udax_strerror(ret), why);
	}
	udax_pgmap_get_info(dev->pgmap, &info);
	dev->pgmap_flags = o->pgmap_flags;
	dev->pfn_first = info.pfn_first;
	dev->nr_pages = info.nr_pages;
	dev->altmap_bytes = info.altmap_bytes;
	/* The pagemap's usable pages start right after its altmap. */
	if ((char *)info.addr != dev->addr + info.altmap_bytes) {
		udax_pgmap_unregister(dev->pgmap, 0, -1);
		dev->pgmap = NULL;
		return dev_err(-EPROTO, "udax_dev_open: pagemap range of %s does "
			       "not start its pages after its altmap", dev->spec);
	}
	return 0;
}

int udax_dev_open(const char *spec, const struct udax_dev_opts *opts,
		  struct udax_dev **out)
{
	static const struct udax_dev_opts zero_opts;
	struct dev_open_ctx oc;
	struct udax_dev *dev;
	int ret;

	if (!out)
		return dev_err(-EINVAL, "udax_dev_open: out is NULL");
	*out = NULL;
	if (!spec)
		return dev_err(-EINVAL, "udax_dev_open: spec is NULL");
	if (!opts)
		opts = &zero_opts;
	ret = check_opts(opts);
	if (ret)
		return ret;
	ret = parse_spec(spec, opts, &oc);
	if (ret)
		return ret;

	dev = fault_calloc(1, sizeof(*dev));
	if (!dev)
		return dev_err(-ENOMEM, "udax_dev_open: out of memory");
	dev->fd = -1;
	pthread_mutex_init(&dev->lock, NULL);
	dev->spec = fault_strdup(spec);
	dev->path = fault_strdup(oc.is_mem ? "" : oc.path);
	if (!dev->spec || !dev->path) {
		dev_free(dev);
		return dev_err(-ENOMEM, "udax_dev_open: out of memory");
	}

	/*
	 * Under the fork lock from open(2) to tracking: a child forked in
	 * between would keep a copy of the locked descriptor that nothing
	 * closes, or the mapping before it was made DONTFORK.
	 */
	ret = fork_lock();
	if (ret) {
		dev_free(dev);
		return dev_err(ret, "udax_dev_open: cannot install the fork "
			       "handlers: %s", strerror(-ret));
	}
	ret = dev_map(dev, &oc);		/* sets its own message */
	if (!ret) {
		dev->fork_gen = fork_gen();
		dev->owner = getpid();
		dev->fork_node.child = dev_fork_child;
		fork_track_locked(&dev->fork_node);
	}
	fork_unlock();
	if (ret) {
		dev_free(dev);
		return ret;
	}
	ret = register_range(dev, opts);
	if (ret) {
		dev_close_fd(dev);
		dev_unmap(dev);
		if (dev->created)	/* do not leave a file we made */
			unlink(dev->path);
		dev_free(dev);
		return ret;
	}
	dev_part_load(dev);
	*out = dev;
	return 0;
}

int udax_dev_close_timeout(struct udax_dev **devp, unsigned flags,
			   int64_t timeout_ns)
{
	const unsigned known = UDAX_DEV_CLOSE_WAIT | UDAX_DEV_CLOSE_ABANDON;
	struct udax_dev *dev;
	int ret;

	if (!devp)
		return dev_err(-EINVAL, "udax_dev_close: dev is NULL");
	if (flags & ~known)
		return dev_err(-EINVAL, "udax_dev_close: unknown flags 0x%x",
			       flags & ~known);
	if (timeout_ns < -1)
		return dev_err(-EINVAL, "udax_dev_close: timeout %" PRId64
			       " (want -1 or >= 0)", timeout_ns);
	dev = *devp;
	if (!dev)
		return 0;
	ret = dev_owned(dev, "udax_dev_close");
	if (ret)
		return ret;
	/* A mounted file system holds a range reference and uses the
	 * mapping: closing would wait for it forever, or unmap under it. */
	pthread_mutex_lock(&dev->lock);
	ret = dev_check_unclaimed(dev, 0, dev->size, "udax_dev_close");
	pthread_mutex_unlock(&dev->lock);
	if (ret)
		return ret;

	ret = udax_pgmap_unregister(dev->pgmap,
				    (flags & UDAX_DEV_CLOSE_WAIT) ?
				    UDAX_UNREGISTER_WAIT : 0, timeout_ns);
	if (ret == -EBUSY || ret == -ETIMEDOUT) {
		struct udax_pgmap_info info;

		udax_pgmap_get_info(dev->pgmap, &info);
		if (flags & UDAX_DEV_CLOSE_ABANDON) {
			/*
			 * Late holders may still touch the memory: keep it
			 * mapped and the range registered, drop the rest.
			 * The fd goes (the mapping keeps the file).
			 */
			dev_close_fd(dev);
			dev_free(dev);
			*devp = NULL;
			return 0;
		}
		if (ret == -EBUSY)
			return dev_err(ret, "udax_dev_close: %lu page(s) of %s "
				       "are still held (pinned or mapped); release "
				       "them, or pass UDAX_DEV_CLOSE_WAIT",
				       info.busy_pages, dev->spec);
		return dev_err(ret, "udax_dev_close: %lu page(s) of %s still "
			       "held when the timeout expired", info.busy_pages,
			       dev->spec);
	}
	if (ret)
		return dev_err(ret, "udax_dev_close: unregistering the pagemap "
			       "range of %s failed: %s", dev->spec,
			       udax_strerror(ret));
	dev->pgmap = NULL;
	dev_close_fd(dev);
	dev_unmap(dev);
	dev_free(dev);
	*devp = NULL;
	return 0;
}

int udax_dev_close(struct udax_dev **devp, unsigned flags)
{
	return udax_dev_close_timeout(devp, flags, -1);
}

/* ---- queries ---------------------------------------------------------------- */

int udax_dev_info(const struct udax_dev *dev, struct udax_dev_info *info)
{
	if (!dev || !info)
		return dev_err(-EINVAL, "udax_dev_info: %s is NULL",
			       dev ? "info" : "dev");
	if (fork_inherited(dev->fork_gen))
		return dev_err_inherited(dev, __func__);
	memset(info, 0, sizeof(*info));
	info->kind = dev->kind;
	info->spec = dev->spec;
	info->path = dev->path;
	info->addr = dev->addr;
	info->size = dev->size;
	info->map_align = dev->map_align;
	info->durability = dev->durability;
	info->durability_desc = dev->durability_desc ? dev->durability_desc : "";
	info->persist_impl = dev->persist_impl;
	info->store_granularity = dev->store_granularity;
	info->pmem2 = dev->pmem2;
	info->pgmap_flags = dev->pgmap_flags;
	info->pfn_first = dev->pfn_first;
	info->nr_pages = dev->nr_pages;
	info->altmap_bytes = dev->altmap_bytes;
	pthread_mutex_lock((pthread_mutex_t *)&dev->lock);
	info->table_offset = dev->table_offset;
	pthread_mutex_unlock((pthread_mutex_t *)&dev->lock);
	return 0;
}

int udax_dev_mmap_fd(const struct udax_dev *dev, int *fd, size_t *align)
{
	if (!dev || !fd || !align)
		return dev_err(-EINVAL, "udax_dev_mmap_fd: NULL argument");
	if (fork_inherited(dev->fork_gen))
		return dev_err_inherited(dev, __func__);
	if (dev->fd < 0)
		return dev_err(-EBADF, "udax_dev_mmap_fd: the device has no descriptor");
	*fd = dev->fd;
	*align = dev->kind == UDAX_DEV_KIND_DEVDAX || dev->hugetlb ?
		 dev->map_align : UDAX_PAGE_SIZE;
	return 0;
}

struct udax_pgmap *udax_dev_pgmap(const struct udax_dev *dev)
{
	if (dev && fork_inherited(dev->fork_gen)) {
		dev_err_inherited(dev, __func__);
		return NULL;
	}
	return dev ? dev->pgmap : NULL;
}
