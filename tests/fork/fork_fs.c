/* SPDX-License-Identifier: MIT */
/*
 * fork() with a device, a file system, an open file and directory, two
 * views (one in a reservation of its own, one mapped straight where a view
 * was just unmapped: the two ways udax_view_map places a view), a pin and
 * a lease.  The child:
 *  - gets -ESTALE, with a message saying to open the device anew, from
 *    every call on every inherited object (device, persistence, partition, crash
 *    explorer, mkfs/mount/fsck, fs, file, directory, view, pin, lease); accessors
 *    that cannot fail return nothing (0, NULL, revoked, shut down);
 *  - faults on a store into the device mapping, the view and a pinned
 *    page (the mappings are not inherited);
 *  - can open a device of its own and use it.
 * The parent then goes on with all of its objects: the view and the pin
 * still reach the file's blocks, the lease is released, writes go on,
 * fsck finds nothing and the data is intact after a remount.
 */
#include <fcntl.h>
#include <udax/crash.h>
#include <udax/fsck.h>

#include "fork_util.h"
#include "fs_util.h"

#define PG	4096

static struct udax_dev *dev;
static struct udax_fs *fs;
static struct udax_file *f;
static struct udax_dir *dir;
static struct udax_view *view, *view2;
static struct udax_pin *pin;
static struct udax_lease *lease;
static char *view_addr, *view2_addr, *pin_addr, *dev_addr;
static struct udax_dev *cdev;		/* recorded by a crash explorer */
static struct udax_crash *crash;

static void no_revoke(struct udax_lease *l, void *arg)
{
	(void)l;
	(void)arg;
}

static int nop_flush(void *ctx, const void *a, size_t n)
{
	(void)ctx; (void)a; (void)n;
	return 0;
}

static int nop_drain(void *ctx)
{
	(void)ctx;
	return 0;
}

#define DEV_STALE(expr)	FORK_STALE(expr, udax_dev_last_error())
#define FS_STALE(expr)	FORK_STALE(expr, udax_fs_last_error())

static void child_dev_calls(void)
{
	static const struct udax_persist_ops ops = { .flush = nop_flush, .drain = nop_drain };
	const struct udax_persist_ops *nops = &ops;
	struct udax_part_info pi;
	struct udax_dev_info di;
	struct udax_fsck_report rep;
	struct udax_fs *fs2 = NULL;
	struct udax_dev *d = dev;
	void *ctx = NULL;
	size_t align;
	char b[64] = { 0 };
	int fd;

	DEV_STALE(udax_dev_info(dev, &di));
	DEV_STALE(udax_dev_mmap_fd(dev, &fd, &align));
	FORK_ASSERT(udax_dev_pgmap(dev) == NULL);
	DEV_STALE(udax_dev_part_count(dev));
	DEV_STALE(udax_dev_part_read(dev));
	DEV_STALE(udax_dev_part(dev, 0, &pi));
	DEV_STALE(udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE));
	DEV_STALE(udax_dev_part_wipe(dev));
	DEV_STALE(udax_dev_persist(dev, dev_addr, 64));
	DEV_STALE(udax_dev_flush(dev, dev_addr, 64));
	DEV_STALE(udax_dev_drain(dev));
	DEV_STALE(udax_dev_memcpy_persist(dev, dev_addr, b, sizeof(b), 0));
	DEV_STALE(udax_dev_memset_persist(dev, dev_addr, 0, 64, 0));
	DEV_STALE(udax_dev_set_persist_hooks(dev, &ops, NULL));
	udax_dev_native_persist_ops(dev, &nops, &ctx);
	FORK_ASSERT(nops == NULL && ctx == NULL);
	{
		struct udax_crash *c2 = NULL, *cc = crash;
		struct udax_crash_range r;

		DEV_STALE(udax_crash_new(dev, NULL, &c2));
		FORK_ASSERT(c2 == NULL);
		DEV_STALE(udax_crash_stop(crash));
		DEV_STALE(udax_crash_unflushed(crash, &r, 1));
		udax_crash_delete(&cc);
		FORK_ASSERT(cc == crash);
		DEV_STALE(udax_dev_drain(cdev));
	}
	DEV_STALE(udax_dev_close(&d, 0));
	FORK_ASSERT(d == dev);
	/* The file-system calls that take the device pass its error on. */
	FS_STALE(udax_mkfs(dev, 0, NULL));
	FS_STALE(udax_mount(dev, 0, NULL, &fs2));
	FORK_ASSERT(fs2 == NULL);
	FS_STALE(udax_fsck(dev, 0, 0, NULL, NULL, &rep));
}

static void child_fs_calls(void)
{
	static const struct udax_lease_ops lops = { no_revoke };
	struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };
	struct udax_file *f2 = NULL, *fc = f;
	struct udax_dir *d2 = NULL, *dc = dir;
	struct udax_view *v2 = NULL, *vc = view;
	struct udax_pin *p2 = NULL, *pc = pin;
	struct udax_lease *l2 = NULL, *lc = lease;
	struct udax_fs *fsc = fs;
	struct udax_statfs sf;
	struct udax_stat st;
	struct udax_dirent de;
	char b[PG] = { 0 };
	void *a = NULL;
	uint64_t where;

	/* The file system */
	FS_STALE(udax_open(fs, "/new", O_RDWR | O_CREAT, 0644, &f2));
	FS_STALE(udax_open(fs, "/a", O_RDONLY, 0, &f2));
	FORK_ASSERT(f2 == NULL);
	FS_STALE(udax_stat(fs, "/a", &st));
	FS_STALE(udax_chmod(fs, "/a", 0600));
	FS_STALE(udax_chown(fs, "/a", 1, 1));
	FS_STALE(udax_utimens(fs, "/a", ts));
	FS_STALE(udax_mkdir(fs, "/d2", 0755));
	FS_STALE(udax_rmdir(fs, "/d"));
	FS_STALE(udax_unlink(fs, "/a"));
	FS_STALE(udax_unlink_ex(fs, "/a", NULL));
	FS_STALE(udax_link(fs, "/a", "/a2"));
	FS_STALE(udax_rename(fs, "/a", "/b", 0));
	FS_STALE(udax_rename_ex(fs, "/a", "/b", 0, NULL));
	FS_STALE(udax_opendir(fs, "/", &d2));
	FORK_ASSERT(d2 == NULL);
	FS_STALE(udax_statfs(fs, &sf));
	FORK_ASSERT(udax_fs_is_shutdown(fs));
	FS_STALE(udax_unmount(&fsc));
	FORK_ASSERT(fsc == fs);
	/* The file */
	FS_STALE(udax_pread(f, b, PG, 0));
	FS_STALE(udax_pwrite(f, b, PG, 0));
	FS_STALE(udax_append(f, b, PG, &where));
	FS_STALE(udax_fsync(f));
	FS_STALE(udax_fdatasync(f));
	FS_STALE(udax_fstat(f, &st));
	FS_STALE(udax_ftruncate(f, 0));
	FS_STALE(udax_ftruncate_ex(f, 0, NULL));
	FS_STALE(udax_fallocate(f, 0, 0, PG));
	FS_STALE(udax_fallocate_ex(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
				   0, PG, NULL));
	FS_STALE(udax_view_map(f, 0, PG, UDAX_VIEW_WRITE, &v2, &a));
	FORK_ASSERT(v2 == NULL && a == NULL);
	FS_STALE(udax_pin(f, 0, PG, 0, &p2));
	FORK_ASSERT(p2 == NULL);
	FS_STALE(udax_lease_take(f, 0, PG, -1, &lops, NULL, &l2));
	FORK_ASSERT(l2 == NULL);
	FS_STALE(udax_close(&fc));
	FORK_ASSERT(fc == f);
	/* The directory */
	FS_STALE(udax_readdir(dir, &de));
	FS_STALE(udax_closedir(&dc));
	FORK_ASSERT(dc == dir);
	/* View, pin, lease */
	FS_STALE(udax_view_unmap(&vc));
	FORK_ASSERT(vc == view);
	FORK_ASSERT(udax_pin_nr_pages(pin) == 0);
	FORK_ASSERT(udax_pin_page_array(pin) == NULL);
	FORK_ASSERT(udax_pin_page_addr(pin, 0) == NULL);
	FS_STALE(udax_unpin(&pc));
	FORK_ASSERT(pc == pin);
	FORK_ASSERT(udax_lease_pin(lease) == NULL);
	FORK_ASSERT(udax_lease_revoked(lease));
	FS_STALE(udax_lease_release(&lc));
	FORK_ASSERT(lc == lease);
	FORK_ASSERT(strstr(udax_strerror(-ESTALE), "fork"));
}

/* The device memory is not reachable from the child. */
static void child_stores(void)
{
	FORK_ASSERT(fork_store_faults(dev_addr));
	FORK_ASSERT(fork_store_faults(dev_addr + (32u << 20)));
	FORK_ASSERT(fork_store_faults(view_addr));
	FORK_ASSERT(fork_store_faults(view2_addr));
	FORK_ASSERT(fork_store_faults(pin_addr));
}

/* A device of the child's own works as any. */
static void child_own_device(void)
{
	struct udax_dev *d;
	struct udax_fs *cfs;
	struct udax_file *cf;

	d = t_fs_dev("mem:8M");
	FS_OK(udax_mkfs(d, 0, NULL));
	cfs = t_fs_mount(d);
	t_write_file(cfs, "/mine", "child", 5);
	FS_OK(udax_open(cfs, "/mine", O_RDONLY, 0, &cf));
	FS_OK(udax_close(&cf));
	FS_OK(udax_unmount(&cfs));
	FS_OK(udax_dev_close(&d, 0));
}

static void child(void *arg)
{
	(void)arg;
	child_dev_calls();
	child_fs_calls();
	child_stores();
	child_own_device();
}

int main(void)
{
	static const struct udax_lease_ops lops = { no_revoke };
	struct udax_fsck_report rep;
	struct udax_dev_info di;
	char b[4 * PG], got[4 * PG];
	struct udax_dirent de;
	void *va;

	fs = t_fs_new("mem:64M", &dev);
	FS_OK(udax_dev_info(dev, &di));
	dev_addr = di.addr;
	FS_OK(udax_mkdir(fs, "/d", 0755));
	for (size_t k = 0; k < sizeof(b); k++)
		b[k] = (char)(k * 13 + 1);
	FS_OK(udax_open(fs, "/a", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, b, sizeof(b), 0) == (ssize_t)sizeof(b));
	FS_OK(udax_opendir(fs, "/", &dir));
	FS_OK(udax_view_map(f, 0, PG, UDAX_VIEW_WRITE, &view, &va));
	view_addr = va;
	FS_OK(udax_view_map(f, 3 * PG, PG, UDAX_VIEW_WRITE, &view2, &va));
	FS_OK(udax_view_unmap(&view2));
	FS_OK(udax_view_map(f, 3 * PG, PG, UDAX_VIEW_WRITE, &view2, &va));
	view2_addr = va;
	FS_OK(udax_pin(f, PG, PG, 0, &pin));
	pin_addr = udax_pin_page_addr(pin, 0);
	T_ASSERT(pin_addr);
	FS_OK(udax_lease_take(f, 2 * PG, PG, -1, &lops, NULL, &lease));
	FS_OK(udax_dev_open("mem:4M", NULL, &cdev));
	FS_OK(udax_crash_new(cdev, NULL, &crash));

	T_EXPECT_ERR(fork_run(child, NULL), 0);

	/* The parent's objects are untouched and keep working. */
	FS_OK(udax_crash_stop(crash));
	udax_crash_delete(&crash);
	FS_OK(udax_dev_close(&cdev, 0));
	T_ASSERT(udax_readdir(dir, &de) >= 0);
	FS_OK(udax_closedir(&dir));
	T_ASSERT(!udax_fs_is_shutdown(fs));
	T_ASSERT(udax_pin_nr_pages(pin) == 1);
	T_ASSERT(!udax_lease_revoked(lease) && udax_lease_pin(lease));
	memset(view_addr, 'v', PG);
	memset(b, 'v', PG);
	memset(view2_addr, 'u', PG);
	memset(b + 3 * PG, 'u', PG);
	memset(pin_addr, 'p', PG);
	memset(b + PG, 'p', PG);
	T_ASSERT(udax_pread(f, got, sizeof(got), 0) == (ssize_t)sizeof(got));
	T_ASSERT(memcmp(got, b, sizeof(b)) == 0);
	FS_OK(udax_lease_release(&lease));
	FS_OK(udax_unpin(&pin));
	FS_OK(udax_view_unmap(&view));
	FS_OK(udax_view_unmap(&view2));
	memset(b + 3 * PG, 'w', PG);
	T_ASSERT(udax_pwrite(f, b + 3 * PG, PG, 3 * PG) == PG);
	t_write_file(fs, "/after", b, sizeof(b));
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));

	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &rep));
	T_EXPECT_ERR((long)rep.problems, 0);
	fs = t_fs_mount(dev);
	FS_OK(udax_open(fs, "/a", O_RDONLY, 0, &f));
	T_ASSERT(udax_pread(f, got, sizeof(got), 0) == (ssize_t)sizeof(got));
	T_ASSERT(memcmp(got, b, sizeof(b)) == 0);
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fork_fs: every inherited call refused, stores fault, parent intact\n");
	return 0;
}
