/* SPDX-License-Identifier: MIT */
/*
 * The partition table: one 4 KiB block on the device (docs/dev.md).
 *
 * Where it is: at the device's table offset T, the first 2 MiB boundary
 * at or after the pagemap's altmap (T = 0 without an in-device page
 * array).  A device laid out for an in-device page array keeps its table
 * at that T even when opened without one: the reader scans the 2 MiB
 * boundaries up to the largest possible page array for the first block
 * with the magic.  Partitions start at or after T + 2 MiB.
 *
 * Everything read from media is copied out first, then validated field by
 * field; nothing read from media is trusted before its check.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <udax/crc32c.h>

#include "dev/internal.h"

#define PT_MAGIC	"UDAXPTBL"
#define PT_VERSION	1u
#define PT_BLOCK	4096u
#define PT_ALIGN	UDAX_DEV_PART_ALIGN

/* On media: little-endian, no padding (checked below). */
struct pt_entry_disk {
	uint64_t offset;		/* device byte offset */
	uint64_t size;			/* bytes */
	uint8_t uuid[16];
	uint32_t type;
	uint32_t flags;			/* 0 */
	char label[24];			/* NUL-terminated, zero-padded */
};

struct pt_disk {
	char magic[8];			/* "UDAXPTBL" */
	uint32_t version;		/* 1 */
	uint32_t checksum;		/* crc32c of the block, this field 0 */
	uint32_t nr_parts;		/* 0..63 */
	uint32_t flags;			/* 0 */
	uint64_t table_offset;		/* device offset of this block */
	uint64_t device_size;		/* bytes when written */
	uint64_t part_align;		/* 2 MiB */
	uint8_t uuid[16];		/* of the table */
	struct pt_entry_disk e[UDAX_DEV_MAX_PARTS];
};

_Static_assert(sizeof(struct pt_entry_disk) == 64, "entry layout");
_Static_assert(offsetof(struct pt_entry_disk, label) == 40, "entry layout");
_Static_assert(offsetof(struct pt_disk, e) == 64, "header layout");
_Static_assert(offsetof(struct pt_disk, checksum) == 12, "header layout");
_Static_assert(sizeof(struct pt_disk) == PT_BLOCK, "table layout");

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static uint32_t le32(uint32_t v) { return __builtin_bswap32(v); }
static uint64_t le64(uint64_t v) { return __builtin_bswap64(v); }
#else
static uint32_t le32(uint32_t v) { return v; }
static uint64_t le64(uint64_t v) { return v; }
#endif

static uint32_t pt_checksum(const struct pt_disk *d)
{
	struct pt_disk tmp = *d;

	tmp.checksum = 0;
	return udax_crc32c(0, &tmp, sizeof(tmp));
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Where a new table goes on this open: after the altmap, on 2 MiB. */
static uint64_t default_table_offset(const struct udax_dev *dev)
{
	return round_up(dev->altmap_bytes, PT_ALIGN);
}

/*
 * The last offset the scan looks at: past the largest page array any open
 * could reserve (one 16-byte descriptor per page, plus a page).
 */
static uint64_t scan_limit(const struct udax_dev *dev)
{
	uint64_t pages = dev->size / UDAX_PAGE_SIZE;

	return round_up(pages * sizeof(struct udax_page) + UDAX_PAGE_SIZE, PT_ALIGN);
}

bool dev_part_magic_at(const struct udax_dev *dev, uint64_t offset)
{
	if (offset > dev->size || dev->size - offset < PT_BLOCK)
		return false;
	return memcmp(dev->addr + offset, PT_MAGIC, 8) == 0;
}

/* The first block with the magic, from the default offset on; false if none. */
static bool pt_find(const struct udax_dev *dev, uint64_t *where)
{
	uint64_t limit = scan_limit(dev);

	for (uint64_t off = default_table_offset(dev); off <= limit;
	     off += PT_ALIGN) {
		if (dev_part_magic_at(dev, off)) {
			*where = off;
			return true;
		}
	}
	return false;
}

#define BAD(...) do {							\
	snprintf(msg, msglen, __VA_ARGS__);				\
	return -EUCLEAN;						\
} while (0)

static int check_label(const char *label, size_t n)
{
	size_t len = strnlen(label, n);

	if (len == n)
		return -1;			/* no NUL */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
			return -2;		/* control character */
	for (size_t i = len; i < n; i++)
		if (label[i])
			return -3;		/* bytes after the NUL */
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

/*
 * Validate the table @d (a private copy) found at device offset @where of
 * a device of @dev_size bytes; decode it into @parts / @nr.
 */
static int pt_decode(const struct pt_disk *d, uint64_t where, uint64_t dev_size,
		     struct dev_part *parts, unsigned *nr,
		     char *msg, size_t msglen)
{
	uint64_t first, prev_end;
	uint32_t nr_parts, sum;

	if (memcmp(d->magic, PT_MAGIC, 8) != 0) {
		snprintf(msg, msglen, "no partition table (no magic at offset %"
			 PRIu64 ")", where);
		return -ENODATA;
	}
	if (le32(d->version) != PT_VERSION) {
		snprintf(msg, msglen, "partition table at offset %" PRIu64
			 " has version %" PRIu32 "; this build reads version %u",
			 where, le32(d->version), PT_VERSION);
		return -EPROTONOSUPPORT;
	}
	sum = pt_checksum(d);
	if (le32(d->checksum) != sum)
		BAD("partition table at offset %" PRIu64 ": bad checksum "
		    "(stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
		    where, le32(d->checksum), sum);
	if (le32(d->flags) != 0)
		BAD("partition table at offset %" PRIu64 ": unknown flags 0x%"
		    PRIx32, where, le32(d->flags));
	if (le64(d->table_offset) != where)
		BAD("partition table found at offset %" PRIu64 " says it is at "
		    "offset %" PRIu64, where, le64(d->table_offset));
	if (le64(d->part_align) != PT_ALIGN)
		BAD("partition table at offset %" PRIu64 ": alignment %" PRIu64
		    " (version 1 has %lu)", where, le64(d->part_align), PT_ALIGN);
	if (le64(d->device_size) == 0 || le64(d->device_size) % UDAX_PAGE_SIZE)
		BAD("partition table at offset %" PRIu64 ": bad device size %"
		    PRIu64, where, le64(d->device_size));
	if (le64(d->device_size) > dev_size)
		BAD("partition table at offset %" PRIu64 " was written for a "
		    "device of %" PRIu64 " bytes; this one has %" PRIu64,
		    where, le64(d->device_size), dev_size);
	nr_parts = le32(d->nr_parts);
	if (nr_parts > UDAX_DEV_MAX_PARTS)
		BAD("partition table at offset %" PRIu64 ": %" PRIu32
		    " partitions (at most %d)", where, nr_parts,
		    UDAX_DEV_MAX_PARTS);

	first = where + PT_ALIGN;
	prev_end = first;
	for (uint32_t i = 0; i < nr_parts; i++) {
		const struct pt_entry_disk *e = &d->e[i];
		uint64_t off = le64(e->offset), size = le64(e->size);
		int lr;

		if (off % PT_ALIGN || size % PT_ALIGN)
			BAD("partition %" PRIu32 ": offset %" PRIu64 " or size %"
			    PRIu64 " is not a multiple of 2 MiB", i, off, size);
		if (size == 0)
			BAD("partition %" PRIu32 ": size 0", i);
		if (off < first)
			BAD("partition %" PRIu32 ": offset %" PRIu64 " overlaps "
			    "the partition table area (ends at %" PRIu64 ")",
			    i, off, first);
		if (off > dev_size || size > dev_size - off)
			BAD("partition %" PRIu32 ": [%" PRIu64 ", +%" PRIu64
			    ") goes past the end of the device (%" PRIu64 " bytes)",
			    i, off, size, dev_size);
		if (off < prev_end)
			BAD("partition %" PRIu32 ": offset %" PRIu64 " overlaps "
			    "partition %" PRIu32 " (which ends at %" PRIu64 ") "
			    "or is out of order", i, off, i - 1, prev_end);
		if (le32(e->flags) != 0)
			BAD("partition %" PRIu32 ": unknown flags 0x%" PRIx32,
			    i, le32(e->flags));
		lr = check_label(e->label, sizeof(e->label));
		if (lr)
			BAD("partition %" PRIu32 ": bad label (%s)", i,
			    lr == -1 ? "not NUL-terminated" :
			    lr == -2 ? "control character" :
			    "bytes after the NUL are not zero");
		prev_end = off + size;
		parts[i].offset = off;
		parts[i].size = size;
		parts[i].type = le32(e->type);
		memcpy(parts[i].label, e->label, sizeof(parts[i].label) - 1);
		parts[i].label[sizeof(parts[i].label) - 1] = '\0';
		memcpy(parts[i].uuid, e->uuid, 16);
	}
	for (uint32_t i = nr_parts; i < UDAX_DEV_MAX_PARTS; i++)
		if (!all_zero(&d->e[i], sizeof(d->e[i])))
			BAD("partition table at offset %" PRIu64 ": unused entry %"
			    PRIu32 " is not zero", where, i);
	*nr = nr_parts;
	return 0;
}

/* (Re)load the table into @dev; under dev->lock (or before publication). */
static int pt_load(struct udax_dev *dev)
{
	struct pt_disk d;
	struct dev_part parts[UDAX_DEV_MAX_PARTS];
	unsigned nr = 0;
	uint64_t where;
	int ret;

	if (!pt_find(dev, &where)) {
		dev->table_offset = default_table_offset(dev);
		dev->nr_parts = 0;
		dev->table_err = -ENODATA;
		snprintf(dev->table_msg, sizeof(dev->table_msg),
			 "no partition table on the device (none at offset %"
			 PRIu64 "%s)", dev->table_offset,
			 dev->table_offset + PT_ALIGN <= scan_limit(dev) ?
			 " or at the 2 MiB boundaries after it" : "");
		return dev->table_err;
	}
	/* Copy first: the media may change under us; validate the copy. */
	memcpy(&d, dev->addr + where, sizeof(d));
	ret = pt_decode(&d, where, dev->size, parts, &nr, dev->table_msg,
			sizeof(dev->table_msg));
	dev->table_offset = where;
	dev->table_err = ret;
	dev->nr_parts = ret ? 0 : nr;
	if (!ret)
		memcpy(dev->parts, parts, nr * sizeof(parts[0]));
	return ret;
}

void dev_part_load(struct udax_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	pt_load(dev);
	pthread_mutex_unlock(&dev->lock);
}

static int table_error(struct udax_dev *dev, const char *fn)
{
	return dev_err(dev->table_err, "%s: %s: %s", fn, dev->spec,
		       dev->table_msg);
}

int udax_dev_part_read(struct udax_dev *dev)
{
	int ret;

	if (!dev)
		return dev_err(-EINVAL, "udax_dev_part_read: dev is NULL");
	ret = dev_owned(dev, __func__);
	if (ret)
		return ret;
	pthread_mutex_lock(&dev->lock);
	ret = pt_load(dev);
	if (ret)
		table_error(dev, __func__);
	else
		ret = (int)dev->nr_parts;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int udax_dev_part_count(struct udax_dev *dev)
{
	int ret;

	if (!dev)
		return dev_err(-EINVAL, "udax_dev_part_count: dev is NULL");
	ret = dev_owned(dev, __func__);
	if (ret)
		return ret;
	pthread_mutex_lock(&dev->lock);
	ret = dev->table_err ? table_error(dev, __func__) : (int)dev->nr_parts;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int udax_dev_part(struct udax_dev *dev, unsigned index,
		  struct udax_part_info *info)
{
	const struct dev_part *p;
	int ret = 0;

	if (!dev || !info)
		return dev_err(-EINVAL, "udax_dev_part: %s is NULL",
			       dev ? "info" : "dev");
	ret = dev_owned(dev, __func__);
	if (ret)
		return ret;
	pthread_mutex_lock(&dev->lock);
	if (dev->table_err) {
		ret = table_error(dev, __func__);
		goto out;
	}
	if (index >= dev->nr_parts) {
		ret = dev_err(-ENOENT, "udax_dev_part: %s has %u partition(s), "
			      "no partition %u", dev->spec, dev->nr_parts, index);
		goto out;
	}
	p = &dev->parts[index];
	memset(info, 0, sizeof(*info));
	info->index = index;
	info->offset = p->offset;
	info->size = p->size;
	info->addr = dev->addr + p->offset;
	/* Partitions lie after the altmap (offset >= T + 2 MiB > altmap). */
	info->pfn_first = dev->pfn_first +
			  (unsigned long)((p->offset - dev->altmap_bytes) / UDAX_PAGE_SIZE);
	info->nr_pages = (unsigned long)(p->size / UDAX_PAGE_SIZE);
	info->type = p->type;
	memcpy(info->label, p->label, sizeof(info->label));
	memcpy(info->uuid, p->uuid, sizeof(info->uuid));
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

/* ---- writing ------------------------------------------------------------------ */

static void make_uuid(uint8_t uuid[16])
{
	static _Atomic uint64_t counter;

	if (getrandom(uuid, 16, GRND_NONBLOCK) != 16) {
		/* No entropy yet: unique enough from time, pid and a counter. */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		x ^= (uint64_t)getpid() << 32;
		for (int i = 0; i < 2; i++) {
			uint64_t z;

			x += atomic_fetch_add(&counter, 1);
			z = dev_splitmix64(&x);
			memcpy(uuid + 8 * i, &z, 8);
		}
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);	/* version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
}

/* Under dev->lock: nothing uses a partition (mounted or pinned pages). */
static int check_not_busy(struct udax_dev *dev, const char *fn)
{
	struct udax_pgmap_info info;
	int ret = dev_check_unclaimed(dev, 0, dev->size, fn);

	if (ret)
		return ret;
	udax_pgmap_get_info(dev->pgmap, &info);
	if (info.busy_pages)
		return dev_err(-EBUSY, "%s: %lu page(s) of %s are held; "
			       "repartitioning now would pull partitions from "
			       "under them", fn, info.busy_pages, dev->spec);
	return 0;
}

/*
 * Write @d at @where so that a crash leaves the old table, no table, or
 * the new one: clear the old magic, write the body, then the magic.
 */
static int pt_write(struct udax_dev *dev, const struct pt_disk *d, uint64_t where)
{
	char *dst = dev->addr + where;
	int ret = 0;

	if (dev_part_magic_at(dev, where))
		ret = udax_dev_memset_persist(dev, dst, 0, 8, 0);
	if (!ret)
		ret = udax_dev_memcpy_persist(dev, dst + 8, (const char *)d + 8,
					      sizeof(*d) - 8, 0);
	if (!ret)
		ret = udax_dev_memcpy_persist(dev, dst, d, 8, 0);
	return ret;
}

int udax_dev_mkpart(struct udax_dev *dev, const struct udax_part_spec *parts,
		    unsigned n, unsigned flags)
{
	static const char *fn = "udax_dev_mkpart";
	struct pt_disk d;
	struct udax_part_spec whole = { .size = 0 };
	uint64_t where, pos, end;
	unsigned seq;
	bool found;
	int ret;

	if (!dev)
		return dev_err(-EINVAL, "%s: dev is NULL", fn);
	ret = dev_owned(dev, fn);
	if (ret)
		return ret;
	if (flags & ~UDAX_MKPART_FORCE)
		return dev_err(-EINVAL, "%s: unknown flags 0x%x", fn,
			       flags & ~UDAX_MKPART_FORCE);
	if (n == 0 && parts)
		return dev_err(-EINVAL, "%s: n is 0 but parts is not NULL", fn);
	if (n && !parts)
		return dev_err(-EINVAL, "%s: parts is NULL", fn);
	if (n > UDAX_DEV_MAX_PARTS)
		return dev_err(-EINVAL, "%s: %u partitions (at most %d)", fn, n,
			       UDAX_DEV_MAX_PARTS);
	if (n == 0) {
		parts = &whole;
		n = 1;
	}

	pthread_mutex_lock(&dev->lock);
	ret = check_not_busy(dev, fn);
	if (ret)
		goto out;
	/* What is on the media now (not what was loaded before). */
	ret = pt_load(dev);
	found = ret != -ENODATA;
	where = dev->table_offset;	/* the table's, or the default */
	if (found && !(flags & UDAX_MKPART_FORCE)) {
		ret = dev_err(-EEXIST, "%s: %s already has a partition table at "
			      "offset %" PRIu64 "%s; pass UDAX_MKPART_FORCE to "
			      "replace it", fn, dev->spec, where,
			      ret ? " (damaged)" : "");
		goto out;
	}

	memset(&d, 0, sizeof(d));
	memcpy(d.magic, PT_MAGIC, 8);
	d.version = le32(PT_VERSION);
	d.nr_parts = le32(n);
	d.table_offset = le64(where);
	d.device_size = le64(dev->size);
	d.part_align = le64(PT_ALIGN);
	make_uuid(d.uuid);

	end = dev->size / PT_ALIGN * PT_ALIGN;
	pos = where + PT_ALIGN;
	for (unsigned i = 0; i < n; i++) {
		const struct udax_part_spec *s = &parts[i];
		struct pt_entry_disk *e = &d.e[i];
		uint64_t size = s->size;
		size_t ll = s->label ? strlen(s->label) : 0;

		if (ll > UDAX_DEV_LABEL_MAX) {
			ret = dev_err(-EINVAL, "%s: label of partition %u is %zu "
				      "bytes (at most %d)", fn, i, ll,
				      UDAX_DEV_LABEL_MAX);
			goto out;
		}
		if (ll) {
			char tmp[24] = { 0 };

			memcpy(tmp, s->label, ll);
			if (check_label(tmp, sizeof(tmp))) {
				ret = dev_err(-EINVAL, "%s: label of partition %u "
					      "has a control character", fn, i);
				goto out;
			}
			memcpy(e->label, tmp, sizeof(e->label));
		}
		if (size == 0 && i != n - 1) {
			ret = dev_err(-EINVAL, "%s: partition %u has size 0 (only "
				      "the last may, meaning the rest)", fn, i);
			goto out;
		}
		if (size > UINT64_MAX - PT_ALIGN) {
			ret = dev_err(-ENOSPC, "%s: partition %u: size %" PRIu64
				      " is too large", fn, i, size);
			goto out;
		}
		size = size ? round_up(size, PT_ALIGN) : (end > pos ? end - pos : 0);
		if (size == 0 || pos >= end || size > end - pos) {
			ret = dev_err(-ENOSPC, "%s: partition %u (%" PRIu64 " bytes "
				      "from offset %" PRIu64 ") does not fit in %s "
				      "(%" PRIu64 " bytes, partitions from offset %"
				      PRIu64 ")", fn, i, size ? size : s->size, pos,
				      dev->spec, dev->size, where + PT_ALIGN);
			goto out;
		}
		e->offset = le64(pos);
		e->size = le64(size);
		e->type = le32(s->type);
		make_uuid(e->uuid);
		pos += size;
	}
	d.checksum = le32(pt_checksum(&d));

	seq = dev_err_seq();
	ret = pt_write(dev, &d, where);
	if (ret) {
		char why[256];

		/* msync failures leave a message; a hook's error may not. */
		snprintf(why, sizeof(why), "%s", dev_err_seq() != seq ?
			 udax_dev_last_error() : udax_strerror(ret));
		ret = dev_err(ret, "%s: writing the table of %s failed: %s", fn,
			      dev->spec, why);
		pt_load(dev);
		goto out;
	}
	ret = pt_load(dev);
	if (ret) {
		table_error(dev, fn);
		ret = -EIO;		/* what we wrote did not read back */
	}
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int udax_dev_part_wipe(struct udax_dev *dev)
{
	static const char *fn = "udax_dev_part_wipe";
	uint64_t where;
	unsigned seq;
	int ret;

	if (!dev)
		return dev_err(-EINVAL, "%s: dev is NULL", fn);
	ret = dev_owned(dev, fn);
	if (ret)
		return ret;
	pthread_mutex_lock(&dev->lock);
	ret = check_not_busy(dev, fn);
	if (ret)
		goto out;
	/* Every block the reader could find, magic first. */
	seq = dev_err_seq();
	while (!ret && pt_find(dev, &where)) {
		ret = udax_dev_memset_persist(dev, dev->addr + where, 0, 8, 0);
		if (!ret)
			ret = udax_dev_memset_persist(dev, dev->addr + where + 8,
						      0, PT_BLOCK - 8, 0);
	}
	if (ret && dev_err_seq() == seq)
		dev_err(ret, "%s: clearing the table of %s failed: %s", fn,
			dev->spec, udax_strerror(ret));
	pt_load(dev);
out:
	pthread_mutex_unlock(&dev->lock);
	return ret;
}
