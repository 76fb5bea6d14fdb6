/* SPDX-License-Identifier: MIT */
/*
 * Views: a file range mapped for direct loads and stores (the analogue of
 * mmap of a DAX file).  The range's extents are mapped, each at its place,
 * from the device's own descriptor into one reserved stretch of address
 * space, so the program sees the file's blocks themselves: no copy, no
 * page cache.
 *
 * Views are tracked per inode (like VMAs), and a layout break of a range
 * remaps the covered part of every view inaccessible before any block is
 * freed: a late access faults instead of reaching a reused block.  Holes
 * are never mapped (there is no fault handler to allocate them), so a view
 * of a range with holes is refused unless UDAX_VIEW_ALLOCATE fills them
 * first.  A view holds no page references: it does not delay a break,
 * and unmapping it never releases a pin.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fs/zc.h"

struct udax_view {
	struct udax_view *next;		/* ino->views, under zc_lock */
	struct udax_fs *fs;
	struct fs_inode *ino;
	char *addr;
	size_t len;
	char *raw;			/* the reservation holding [addr, +len) */
	size_t raw_len;
	uint64_t lblk, end;		/* file blocks [lblk, end) */
	bool revoked;			/* inaccessible whole (fs_views_invalidate) */
};

struct view_map {
	struct udax_fs *fs;
	char *addr;
	char *raw;			/* the reservation around addr */
	size_t raw_len;
	uint64_t first;
	int prot, fd;
	int populate;			/* MAP_POPULATE or 0 */
	size_t covered;
	bool unwritten;
	int err;
	struct fs_extent *ext;		/* the range's extents, in order */
	size_t n, cap;
};

#define VIEW_ALIGN (2ul << 20)	/* a PMD: DAX maps 2 MiB at a time if it can */

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Collect the extents first: where the view goes depends on the first. */
static int view_collect_extent(const struct fs_extent *e, void *arg)
{
	struct view_map *vm = arg;

	if (e->flags & FS_EXT_UNWRITTEN) {
		vm->unwritten = true;
		return 1;
	}
	if (vm->n == vm->cap) {
		size_t cap = vm->cap ? vm->cap * 2 : 16;
		struct fs_extent *v = fault_realloc(vm->ext, cap * sizeof(*v));

		if (!v) {
			vm->err = -ENOMEM;
			return 1;
		}
		vm->ext = v;
		vm->cap = cap;
	}
	vm->ext[vm->n++] = *e;
	vm->covered += e->len;
	return 0;
}

/* The device offset of extent @e's first block. */
static uint64_t ext_doff(const struct view_map *vm, const struct fs_extent *e)
{
	return vm->fs->dev_offset + e->pblk * UDAX_FS_BLOCK_SIZE;
}

/* The first address at or after @from whose offset in a VIEW_ALIGN page
 * is that of the view's first byte on the device: there a DAX mapping
 * gets 2 MiB entries where the blocks allow. */
static uintptr_t view_congruent(const struct view_map *vm, uintptr_t from)
{
	uint64_t doff = ext_doff(vm, &vm->ext[0]) -
			(vm->ext[0].lblk - vm->first) * UDAX_FS_BLOCK_SIZE;
	uintptr_t a = (from + VIEW_ALIGN - 1) / VIEW_ALIGN * VIEW_ALIGN + doff % VIEW_ALIGN;

	return a - from >= VIEW_ALIGN ? a - VIEW_ALIGN : a;
}

/* The end of the run of extents starting at extent @i (extents that follow
 * each other both in the file and on the device: one mmap) and its length
 * in blocks, *@blocks. */
static size_t view_run(const struct view_map *vm, size_t i, uint64_t *blocks)
{
	const struct fs_extent *e = &vm->ext[i];
	uint64_t len = e->len;
	size_t j;

	for (j = i + 1; j < vm->n; j++) {
		const struct fs_extent *x = &vm->ext[j];

		if (x->lblk != e->lblk + len || x->pblk != e->pblk + len)
			break;
		len += x->len;
	}
	*blocks = len;
	return j;
}

/*
 * A view of one run, mapped straight at the address where the mount's
 * last view was unmapped (fs->view_hint), moved up to the right
 * congruence: no reservation first, so a program that maps and unmaps
 * views in turn pays two calls a map (this mmap and MADV_DONTFORK), not
 * three.  MAP_FIXED_NOREPLACE makes the kernel refuse the address when
 * anything is mapped there now (another view, a malloc arena): then, as on
 * a kernel older than 4.17 that takes the flag for a plain hint and puts
 * the mapping elsewhere, false and the caller reserves as usual.  Any free
 * address at the right congruence is as good as another, so a stale hint
 * costs one refused call, nothing else.
 */
static bool view_at_hint(struct view_map *vm, size_t len)
{
	uintptr_t h = atomic_load_explicit(&vm->fs->view_hint, memory_order_relaxed);
	uintptr_t a;
	uint64_t blocks;
	char *m;

	if (!h || view_run(vm, 0, &blocks) != vm->n)
		return false;
	a = view_congruent(vm, h);
	if (a > UINTPTR_MAX - len)
		return false;
	m = mmap((void *)a, len, vm->prot,
		 MAP_SHARED | MAP_FIXED_NOREPLACE | vm->populate, vm->fd,
		 (off_t)ext_doff(vm, &vm->ext[0]));
	if (m == MAP_FAILED)
		return false;
	if (m != (char *)a) {
		munmap(m, len);
		return false;
	}
	vm->addr = m;
	vm->raw = m;
	vm->raw_len = len;
	return true;
}

/*
 * Reserve address space for the view such that virtual addresses and
 * device offsets are congruent modulo 2 MiB: where the file's blocks are
 * contiguous and aligned on the device, a DAX file system then maps them
 * with 2 MiB page-table entries (what the kernel's DAX mmap arranges with
 * thp_get_unmapped_area).  The slack around the view stays reserved
 * (PROT_NONE, no memory) until the view is unmapped, which saves two
 * munmaps per map.  Returns NULL without address space.
 */
static char *view_reserve(struct view_map *vm, size_t len)
{
	char *raw = mmap(NULL, len + VIEW_ALIGN, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	vm->raw = raw;
	vm->raw_len = len + VIEW_ALIGN;
	return (char *)view_congruent(vm, (uintptr_t)raw);
}

/*
 * Map the extents, each at its place, as few mmaps as possible: extents
 * that follow each other both in the file and on the device are one run,
 * one mmap (a file written in order is usually one run, so mapping it
 * costs what one mmap of the device costs, not one per extent).
 * UDAX_VIEW_POPULATE adds MAP_POPULATE: the page tables are filled now, so
 * loads and stores never fault, paid at map time; without it each page
 * takes a minor fault on first access (page tables only: the device
 * memory is already there), as an mmap of a DAX file does.
 */
static int view_place_extents(struct view_map *vm)
{
	for (size_t i = 0, j; i < vm->n; i = j) {
		const struct fs_extent *e = &vm->ext[i];
		void *at = vm->addr + (e->lblk - vm->first) * UDAX_FS_BLOCK_SIZE;
		uint64_t len;

		j = view_run(vm, i, &len);
		if (mmap(at, (size_t)len * UDAX_FS_BLOCK_SIZE, vm->prot,
			 MAP_SHARED | MAP_FIXED | vm->populate, vm->fd,
			 (off_t)ext_doff(vm, e)) == MAP_FAILED)
			return -errno;
	}
	return 0;
}

struct gap_scan {
	uint64_t next;		/* first block not yet seen written */
	uint64_t *gaps;		/* pairs [start, end) */
	size_t n, cap;
};

static int gap_add(struct gap_scan *g, uint64_t s, uint64_t e)
{
	if (s >= e)
		return 0;
	if (g->n + 2 > g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		uint64_t *v = fault_realloc(g->gaps, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		g->gaps = v;
		g->cap = cap;
	}
	g->gaps[g->n++] = s;
	g->gaps[g->n++] = e;
	return 0;
}

static int gap_extent(const struct fs_extent *e, void *arg)
{
	struct gap_scan *g = arg;
	int ret = gap_add(g, g->next, e->lblk);

	if (ret)
		return ret;
	if (e->flags & FS_EXT_UNWRITTEN)
		ret = gap_add(g, e->lblk, e->lblk + e->len);
	g->next = e->lblk + e->len;
	return ret;
}

/*
 * UDAX_VIEW_ALLOCATE: write zeroes over holes and unwritten extents of
 * [first, end) through the ordinary write path, which allocates zeroed,
 * written blocks in one transaction per call.  Only what lies below the
 * file size is filled: a view never extends a file.
 */
static int view_allocate(struct udax_file *f, uint64_t first, uint64_t end)
{
	static const char zero[UDAX_FS_BLOCK_SIZE];
	struct fs_inode *ino = f->inode;
	struct gap_scan g = { .next = first };
	uint64_t size;
	int ret;

	pthread_rwlock_rdlock(&ino->lock);
	size = (fs_inode_size(ino) + UDAX_FS_BLOCK_SIZE - 1) / UDAX_FS_BLOCK_SIZE;
	if (end > size)
		end = size;
	if (first >= end) {
		pthread_rwlock_unlock(&ino->lock);
		return 0;
	}
	ret = fs_inode_extents(f->fs, ino, first, end - first, gap_extent, &g);
	if (!ret)
		ret = gap_add(&g, g.next, end);
	pthread_rwlock_unlock(&ino->lock);
	for (size_t i = 0; !ret && i < g.n; i += 2)
		for (uint64_t b = g.gaps[i]; !ret && b < g.gaps[i + 1]; b++) {
			ssize_t w = udax_pwrite(f, zero, sizeof(zero),
						b * UDAX_FS_BLOCK_SIZE);
			if (w < 0)
				ret = (int)w;
		}
	free(g.gaps);
	return ret < 0 ? ret : 0;
}

int udax_view_map(struct udax_file *f, uint64_t off, size_t len, unsigned flags,
		  struct udax_view **out, void **addr)
{
	struct udax_fs *fs;
	struct fs_inode *ino;
	struct udax_view *v;
	struct view_map vm = { 0 };
	uint64_t first, end;
	size_t align;
	int fd, ret;

	if (!f || !out || !addr ||
	    (flags & ~(UDAX_VIEW_WRITE | UDAX_VIEW_ALLOCATE | UDAX_VIEW_POPULATE)))
		return fs_error(-EINVAL, "udax_view_map: %s", f && out && addr ?
				"unknown flags" : "file, view or address is NULL");
	*out = NULL;
	*addr = NULL;
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "udax_view_map");
	ret = fs_zc_range_check("udax_view_map", off, len);
	if (ret)
		return ret;
	fs = f->fs;
	ino = f->inode;
	if ((flags & UDAX_VIEW_WRITE) && (f->flags & O_ACCMODE) == O_RDONLY)
		return fs_error(-EACCES, "udax_view_map: writable view of a "
				"read-only handle");
	if ((flags & (UDAX_VIEW_WRITE | UDAX_VIEW_ALLOCATE)) &&
	    udax_fs_is_shutdown(fs))
		return fs_error(-EIO, "udax_view_map: file system shut down after "
				"a persistence error");
	ret = udax_dev_mmap_fd(fs->dev, &fd, &align);
	if (ret)
		return fs_error(ret, "udax_view_map: %s", udax_dev_last_error());
	if (align > UDAX_FS_BLOCK_SIZE)
		return fs_error(-EOPNOTSUPP, "udax_view_map: the device maps only in "
				"%zu-byte units (device-dax); views of 4 KiB extents "
				"are not supported on it", align);
	first = off / UDAX_FS_BLOCK_SIZE;
	end = first + len / UDAX_FS_BLOCK_SIZE;
	/* Before the allocation: running out of memory here changes nothing. */
	v = fault_calloc(1, sizeof(*v));
	if (!v)
		return fs_error(-ENOMEM, "udax_view_map: out of memory");
	if (flags & UDAX_VIEW_ALLOCATE) {
		ret = view_allocate(f, first, end);
		if (ret) {
			free(v);
			return ret;
		}
	}
	vm.fs = fs;
	vm.first = first;
	vm.fd = fd;
	vm.prot = PROT_READ | (flags & UDAX_VIEW_WRITE ? PROT_WRITE : 0);
	vm.populate = flags & UDAX_VIEW_POPULATE ? MAP_POPULATE : 0;

	pthread_rwlock_rdlock(&ino->lock);
	fs_gate_wait_read(ino, first, end);
	ret = fs_zc_eof_check("udax_view_map", ino, off, len);
	if (ret)
		goto fail;
	ret = fs_inode_extents(fs, ino, first, end - first, view_collect_extent, &vm);
	if (ret < 0 || vm.err) {
		ret = fs_error(vm.err ? vm.err : ret, "udax_view_map: inode %u: %s",
			       ino->ino, udax_strerror(vm.err ? vm.err : ret));
		goto fail;
	}
	if (vm.unwritten || vm.covered != end - first) {
		ret = fs_error(-ENODATA, "udax_view_map: inode %u has %s in the range "
			       "(use UDAX_VIEW_ALLOCATE)", ino->ino,
			       vm.unwritten ? "unwritten extents" : "holes");
		goto fail;
	}
	/* A child of fork() must not store through the view (common/fork.h):
	 * no fork between mapping and DONTFORK. */
	ret = fork_window_begin();
	if (!ret) {
		if (!view_at_hint(&vm, len)) {
			vm.addr = view_reserve(&vm, len);
			if (vm.addr)
				ret = view_place_extents(&vm);
		}
		if (vm.addr && !ret && madvise(vm.addr, len, MADV_DONTFORK))
			ret = -errno;
		fork_window_end();
	}
	if (!ret && !vm.addr) {
		ret = fs_error(-ENOMEM, "udax_view_map: no address space for %zu bytes", len);
		goto fail;
	}
	if (ret) {
		ret = fs_error(ret, "udax_view_map: mapping inode %u failed: %s",
			       ino->ino, udax_strerror(ret));
		goto fail;
	}
	v->fs = fs;
	v->ino = ino;
	v->addr = vm.addr;
	v->len = len;
	v->raw = vm.raw;
	v->raw_len = vm.raw_len;
	v->lblk = first;
	v->end = end;
	fs_inode_hold(ino);
	pthread_mutex_lock(&ino->zc_lock);
	v->next = ino->views;
	ino->views = v;
	pthread_mutex_unlock(&ino->zc_lock);
	pthread_rwlock_unlock(&ino->lock);
	free(vm.ext);
	*out = v;
	*addr = vm.addr;
	return 0;
fail:
	pthread_rwlock_unlock(&ino->lock);
	if (vm.raw)
		munmap(vm.raw, vm.raw_len);
	free(vm.ext);
	free(v);
	return ret;
}

int udax_view_unmap(struct udax_view **pv)
{
	struct udax_view *v;
	struct fs_inode *ino;

	if (!pv || !*pv)
		return -EINVAL;
	v = *pv;
	if (fork_inherited(v->fs->fork_gen))
		return fs_err_inherited(v->fs, "udax_view_unmap");
	ino = v->ino;
	pthread_mutex_lock(&ino->zc_lock);
	for (struct udax_view **p = &ino->views; *p; p = &(*p)->next) {
		if (*p == v) {
			*p = v->next;
			break;
		}
	}
	pthread_mutex_unlock(&ino->zc_lock);
	munmap(v->raw, v->raw_len);
	atomic_store_explicit(&v->fs->view_hint, (uintptr_t)v->raw, memory_order_relaxed);
	fs_inode_release(v->fs, ino);
	free(v);
	*pv = NULL;
	return 0;
}

/*
 * Replace [@a, +@len) of a view with inaccessible anonymous memory
 * (MAP_FIXED replaces atomically: no instant where the address range is
 * free for another mapping to land in).
 */
static int view_replace(char *a, size_t len)
{
	return mmap(a, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		    MAP_FIXED, -1, 0) == MAP_FAILED ? -errno : 0;
}

/*
 * Make the covered part of each view inaccessible.  Replacing part of a
 * mapping splits it, and the kernel refuses a split (ENOMEM) once the
 * process holds vm.max_map_count mappings; past that count it refuses
 * every mmap.  Then the whole view is made inaccessible: replaced, or
 * else mprotect'ed PROT_NONE, which splits nothing (the view's ends are
 * already mapping ends) and creates no mapping.  It stays so until
 * unmapped.  Ignoring the refusal would leave the view on blocks the
 * caller is about to free, and a later store through it would land in
 * another file.  If nothing works, the error: the break must not go on.
 */
int fs_views_invalidate(struct udax_fs *fs, struct fs_inode *ino,
			uint64_t lblk, uint64_t end)
{
	int ret = 0;

	(void)fs;
	pthread_mutex_lock(&ino->zc_lock);
	for (struct udax_view *v = ino->views; v && !ret; v = v->next) {
		uint64_t s = lblk > v->lblk ? lblk : v->lblk;
		uint64_t e = end < v->end ? end : v->end;

		if (s >= e || v->revoked ||
		    !view_replace(v->addr + (s - v->lblk) * UDAX_FS_BLOCK_SIZE,
				  (size_t)(e - s) * UDAX_FS_BLOCK_SIZE))
			continue;
		ret = view_replace(v->addr, v->len);
		if (ret && !mprotect(v->addr, v->len, PROT_NONE))
			ret = 0;
		if (!ret)
			v->revoked = true;
		else
			ret = fs_error(ret, "layout break: inode %u: a view of blocks "
				       "%llu..%llu could not be made inaccessible: %s",
				       ino->ino, (unsigned long long)s,
				       (unsigned long long)e - 1, strerror(-ret));
	}
	pthread_mutex_unlock(&ino->zc_lock);
	return ret;
}
