/* SPDX-License-Identifier: MIT */
/*
 * Pins: file pages held for DMA (the analogue of pin_user_pages on a DAX
 * mapping).  A pin is a page reference on every block of a file range,
 * taken under the inode lock after any layout break of the range is done,
 * so every break either waits for it or never sees the blocks at all.
 * A pin is independent of views: unmapping a view never releases one.
 */
#include <errno.h>
#include <stdlib.h>

#include "fs/zc.h"

struct udax_pin {
	struct udax_fs *fs;
	size_t nr_pages;
	struct udax_page *pages[];
};

void fs_gate_wait_read(struct fs_inode *ino, uint64_t lblk, uint64_t end)
{
	pthread_mutex_lock(&ino->zc_lock);
	while (fs_gate_overlaps(ino, lblk, end)) {
		pthread_rwlock_unlock(&ino->lock);
		pthread_cond_wait(&ino->zc_cond, &ino->zc_lock);
		pthread_mutex_unlock(&ino->zc_lock);
		pthread_rwlock_rdlock(&ino->lock);
		pthread_mutex_lock(&ino->zc_lock);
	}
	pthread_mutex_unlock(&ino->zc_lock);
}

/*
 * The range rule of zero-copy access (pins, leases, views, io transfers of
 * file ranges; fs.h "Zero-copy ranges"): whole blocks, nothing rounded.
 */
int fs_zc_range_check(const char *fn, uint64_t off, size_t len)
{
	if (!len || (off | len) % UDAX_FS_BLOCK_SIZE || off + len < off)
		return fs_error(-EINVAL, "%s: [%llu, +%zu) is not a non-empty range "
				"of whole blocks (offset and length must be "
				"multiples of %u; nothing is rounded)", fn,
				(unsigned long long)off, len, UDAX_FS_BLOCK_SIZE);
	return 0;
}

/* With ino->lock held: the range lies in the file's blocks, the last one
 * counted whole even when the file ends inside it. */
int fs_zc_eof_check(const char *fn, struct fs_inode *ino, uint64_t off,
		    size_t len)
{
	uint64_t size = fs_inode_size(ino);
	uint64_t blocks_end = (size + UDAX_FS_BLOCK_SIZE - 1) /
			      UDAX_FS_BLOCK_SIZE * UDAX_FS_BLOCK_SIZE;

	if (off + len > blocks_end)
		return fs_error(-EINVAL, "%s: [%llu, +%zu) reaches past the end of "
				"inode %u (size %llu: its blocks end at %llu)", fn,
				(unsigned long long)off, len, ino->ino,
				(unsigned long long)size,
				(unsigned long long)blocks_end);
	return 0;
}

struct pin_fill {
	struct udax_fs *fs;
	struct udax_pin *pin;
	uint64_t first;		/* lblk of pages[0] */
	size_t covered;
	bool unwritten;
};

static int pin_fill_extent(const struct fs_extent *e, void *arg)
{
	struct pin_fill *pf = arg;

	if (e->flags & FS_EXT_UNWRITTEN) {
		pf->unwritten = true;
		return 1;
	}
	for (uint32_t k = 0; k < e->len; k++)
		pf->pin->pages[e->lblk + k - pf->first] =
			udax_pgmap_pfn_to_page(pf->fs->pgmap,
					       fs_block_pfn(pf->fs, e->pblk + k));
	pf->covered += e->len;
	return 0;
}

/* Leave headroom below pagemap's own limit so a pin never saturates. */
#define PIN_REF_LIMIT (UDAX_PAGE_REF_MASK / 2)

int udax_pin(struct udax_file *f, uint64_t off, size_t len, unsigned flags,
	     struct udax_pin **out)
{
	struct udax_fs *fs;
	struct fs_inode *ino;
	struct udax_pin *pin = NULL;
	struct pin_fill pf = { 0 };
	uint64_t first, end;
	size_t n, i;
	int ret;

	if (!f || !out || flags)
		return fs_error(-EINVAL, "udax_pin: %s", flags ? "unknown flags" :
				"file or result is NULL");
	*out = NULL;
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "udax_pin");
	ret = fs_zc_range_check("udax_pin", off, len);
	if (ret)
		return ret;
	fs = f->fs;
	ino = f->inode;
	if (fs->limited)
		return fs_error(-EOPNOTSUPP, "udax_pin: the device has no page "
				"array (limited): its pages cannot be pinned");
	first = off / UDAX_FS_BLOCK_SIZE;
	end = (off + len) / UDAX_FS_BLOCK_SIZE;
	n = (size_t)(end - first);

	pthread_rwlock_rdlock(&ino->lock);
	fs_gate_wait_read(ino, first, end);
	ret = fs_zc_eof_check("udax_pin", ino, off, len);
	if (ret)
		goto out;
	/* The page array only for a range that can be pinned: inside the
	 * file, and no more blocks than the device has (more would be holes). */
	if (n > fs->nr_blocks) {
		ret = fs_error(-ENODATA, "udax_pin: inode %u has holes in [%llu, +%zu): "
			       "it is longer than the device", ino->ino,
			       (unsigned long long)off, len);
		goto out;
	}
	pin = fault_calloc(1, sizeof(*pin) + n * sizeof(pin->pages[0]));
	if (!pin) {
		ret = fs_error(-ENOMEM, "udax_pin: out of memory");
		goto out;
	}
	pin->fs = fs;
	pin->nr_pages = n;
	pf.fs = fs;
	pf.pin = pin;
	pf.first = first;
	ret = fs_inode_extents(fs, ino, first, n, pin_fill_extent, &pf);
	if (ret < 0)
		goto out;
	if (pf.unwritten || pf.covered != n) {
		ret = fs_error(-ENODATA, "udax_pin: inode %u has %s in [%llu, +%zu): "
			       "only allocated, written blocks can be pinned",
			       ino->ino, pf.unwritten ? "unwritten extents" : "holes",
			       (unsigned long long)off, len);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (udax_page_ref_count(pin->pages[i]) >= PIN_REF_LIMIT) {
			udax_release_pages(pin->pages, i);
			ret = fs_error(-EOVERFLOW, "udax_pin: page pinned too often");
			goto out;
		}
		/* The mount holds a live range reference: first references
		 * are allowed. */
		udax_get_page(pin->pages[i]);
		udax_page_set_owner(pin->pages[i], ino->ino, (uint32_t)(first + i));
	}
	ret = 0;
out:
	pthread_rwlock_unlock(&ino->lock);
	if (ret) {
		free(pin);
		return ret;
	}
	*out = pin;
	return 0;
}

/* A pin inherited across fork() reads as empty: its pages are the parent's. */
static bool pin_inherited(const struct udax_pin *pin, const char *fn)
{
	if (!fork_inherited(pin->fs->fork_gen))
		return false;
	fs_err_inherited(pin->fs, fn);
	return true;
}

size_t udax_pin_nr_pages(const struct udax_pin *pin)
{
	if (!pin || pin_inherited(pin, __func__))
		return 0;
	return pin->nr_pages;
}

struct udax_page *const *udax_pin_page_array(const struct udax_pin *pin)
{
	if (!pin || pin_inherited(pin, __func__))
		return NULL;
	return pin->pages;
}

void *udax_pin_page_addr(const struct udax_pin *pin, size_t i)
{
	if (!pin || pin_inherited(pin, __func__) || i >= pin->nr_pages)
		return NULL;
	return udax_page_address(pin->pages[i]);
}

/* Releasing the last pin of a freed block frees it (break.c's holder). */
int udax_unpin(struct udax_pin **ppin)
{
	int ret;

	if (!ppin || !*ppin)
		return fs_error(-EINVAL, "udax_unpin: no pin");
	if (fork_inherited((*ppin)->fs->fork_gen))
		return fs_err_inherited((*ppin)->fs, "udax_unpin");
	/* -EINVAL only if someone unpinned our pages behind our back
	 * (udax_unpin_pages on them): those are refused and counted. */
	ret = udax_unpin_pages((*ppin)->pages, (*ppin)->nr_pages);
	free(*ppin);
	*ppin = NULL;
	if (ret)
		return fs_error(ret, "udax_unpin: %s", udax_pgmap_last_error());
	return 0;
}
