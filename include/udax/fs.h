/* SPDX-License-Identifier: MIT */
/*
 * udax fs: a crash-consistent DAX file system inside a partition of a udax
 * device, with zero-copy access (views), pins for DMA, and layout breaks
 * that never free a block DMA can still reach.
 *
 * POSIX-shaped and thread-safe.  Paths are absolute within the file system
 * ("/a/b"); components are at most UDAX_NAME_MAX bytes.  Every function
 * returns 0 (or a byte count) on success and a negative errno on failure;
 * udax_strerror() describes it.
 *
 * Durability: metadata operations are atomic and durable when they return
 * (each commits a journal transaction).  File data is written straight to
 * the device and flushed; fsync/fdatasync drain outstanding flushes.  After
 * a crash at any instant, mount recovers a state in which each operation
 * happened completely or not at all, and all data fsync returned for.
 *
 * fork(): a file system and its files, directories, views, pins and leases
 * belong to the process that mounted it.  In a child of fork() every call
 * on them fails with -ESTALE ("inherited across fork(); open the device
 * anew in the child", see include/udax/dev.h); views are not mapped in the
 * child.
 */
#ifndef UDAX_FS_H
#define UDAX_FS_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <udax/dev.h>
#include <udax/error.h>
#include <udax/pagemap.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UDAX_FS_BLOCK_SIZE	4096u	/* = UDAX_PAGE_SIZE: a block is a page */
#define UDAX_NAME_MAX		255
#define UDAX_ROOT_INO		1
#define UDAX_FS_LABEL_MAX	31	/* bytes of a file-system label, NUL excluded */

struct udax_fs;
struct udax_file;
struct udax_dir;
struct udax_view;
struct udax_pin;

/* ---- mkfs, mount ------------------------------------------------------- */

struct udax_mkfs_opts {
	uint32_t nr_inodes;		/* 0: one per 16 KiB */
	uint32_t journal_blocks;	/* 0: default (1 MiB); cut into lanes */
	const char *label;		/* up to UDAX_FS_LABEL_MAX bytes, may be NULL */
	uint64_t reserved[4];		/* zero */
};

/*
 * Make a file system on partition @part of @dev (erasing what was there).
 * Errors: -ENOMEDIUM (the device has no partition table: udax_dev_mkpart()
 * first), -ENOENT (no partition @part), -EBUSY (the partition, or one
 * overlapping it, is mounted, being checked or being made: the message
 * names it), -ENOSPC (too small), -EINVAL, errors of persistence.
 */
int udax_mkfs(struct udax_dev *dev, unsigned part,
	      const struct udax_mkfs_opts *opts);

/*
 * How an operation that frees or moves blocks (truncate down, punch, zero
 * and collapse/insert range, rename over a file, unlink of the last link at
 * last close, unmount) treats pinned pages in the range it breaks:
 */
enum udax_break_mode {
	UDAX_BREAK_WAIT = 0,	/* wait until every pin of the range is released */
	UDAX_BREAK_TIMEOUT,	/* wait at most timeout_ns: -ETIMEDOUT, nothing changed */
	UDAX_BREAK_NOWAIT,	/* pinned: -EBUSY, nothing changed */
	UDAX_BREAK_DEFER,	/* return at once; pinned blocks are freed when
				 * their last pin drops, never reused before;
				 * a pinned block the operation keeps but
				 * zeroes (partly, or marks unwritten) is
				 * replaced by a copy (-ENOSPC: no block for
				 * it, nothing changed) */
};

struct udax_break_opts {
	enum udax_break_mode mode;
	int64_t timeout_ns;		/* for UDAX_BREAK_TIMEOUT */
};

enum {
	UDAX_MOUNT_RDONLY = 1u << 0,
};

struct udax_mount_opts {
	unsigned flags;			/* UDAX_MOUNT_* */
	struct udax_break_opts brk;	/* default for layout breaks */
	/*
	 * Bytes of directory indexes kept in memory between operations (0:
	 * UDAX_DIR_CACHE_DEFAULT).  A directory's first lookup after mount
	 * reads all its blocks, O(entries), and builds an index that makes
	 * later lookups, creates and unlinks O(1); past this many bytes the
	 * least recently used indexes are freed (at the end of an operation,
	 * never one it used) and built again when next needed.
	 */
	uint64_t dir_cache;
	uint64_t reserved[3];		/* zero */
};
#define UDAX_DIR_CACHE_DEFAULT	(64ull << 20)

/*
 * Mount the file system on partition @part of @dev: validate the superblock
 * and everything read from media, replay the journal, reclaim orphans.  A
 * limited device (no page array) mounts with DAX access but every pin fails
 * with -EOPNOTSUPP.  While mounted, the device refuses with -EBUSY to
 * change the partition under it (udax_dev_mkpart, udax_dev_part_wipe,
 * udax_mkfs or udax_fsck of an overlapping partition, udax_dev_close).
 * Errors: -EUCLEAN (corrupt; message from udax_fs_last_error()), -ENODATA
 * (no file system), -ENOMEDIUM (no partition table), -EBUSY (the partition
 * is mounted, or being checked or made).
 */
int udax_mount(struct udax_dev *dev, unsigned part,
	       const struct udax_mount_opts *opts, struct udax_fs **out);

/*
 * Unmount: a layout break of everything, in the mount's break mode.
 * Refused with -EBUSY (nothing changed) while files, directories, views or
 * leases are open.  Then pinned pages of the partition (udax_pin, leases,
 * io transfers in flight, udax_pin_pages on its pfns) are waited for as the
 * mode says: WAIT until they are released, TIMEOUT at most timeout_ns
 * (then -ETIMEDOUT), NOWAIT not at all (-EBUSY).  Unmount never defers
 * (a remount rebuilds free space and could hand out a block DMA still
 * reaches): DEFER means NOWAIT here.  On any error the file system stays
 * mounted and usable, and udax_fs_last_error() names the cause.
 *
 * A leaked pin (one never unpinned, e.g. kept after its file was closed)
 * keeps its blocks: a WAIT unmount then never returns, and the device
 * cannot close (udax_dev_close: -EBUSY).  Programs that cannot vouch for
 * every pin unmount with udax_unmount_ex() and a TIMEOUT or NOWAIT mode.
 */
int udax_unmount(struct udax_fs **fs);
/* The same in the mode of @brk (NULL: the mount's). */
int udax_unmount_ex(struct udax_fs **fs, const struct udax_break_opts *brk);

/*
 * The last error message of this thread (a one-line reason): every refusal
 * names its cause here (which partition is mounted, what is open, how many
 * pages are pinned...), where udax_strerror() only names the errno.
 */
const char *udax_fs_last_error(void);

/*
 * Failures (docs/fs.md, "Failures").  -ENOSPC or -ENOMEM from any
 * allocation, and any error from the device's persistence calls before an
 * operation's commit point, fail that operation and change nothing, in
 * memory or on media.  A persistence error after the commit point (writing
 * the transaction home, emptying the journal, or failing to take back a
 * commit record whose own persist failed) shuts the file system down: the
 * operation returns -EIO, every later modifying call (write, namespace
 * change, truncate, fallocate, fsync, open for writing, writable view)
 * returns -EIO, reads go on (and may show either state of the failed
 * operation's metadata), unmount releases everything without writing, and
 * the next mount replays the journal: the failed operation then happened
 * either completely or not at all.
 */
bool udax_fs_is_shutdown(struct udax_fs *fs);

/* ---- files --------------------------------------------------------------- */

/*
 * @flags: O_RDONLY/O_WRONLY/O_RDWR with O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 * O_NOFOLLOW (a symbolic link as the last component: -ELOOP), O_DIRECTORY
 * (-ENOTDIR on anything else; with O_CREAT -EINVAL), O_SYNC (an in-place
 * write's times committed before it returns), and, accepted with no
 * effect, O_DSYNC (every write is durable when it returns), O_DIRECT (DAX
 * is direct; no alignment needed), O_NOATIME (reads never change atime),
 * O_CLOEXEC, O_NONBLOCK, O_NOCTTY, O_ASYNC, the kernel's O_LARGEFILE
 * (0100000) and __FMODE_EXEC (040).  O_TMPFILE (with O_WRONLY or O_RDWR,
 * not O_CREAT: -EINVAL): @path is a directory (-ENOTDIR), the file made
 * there has no name (an orphan: freed at its last close, or by the next
 * mount after a crash) until udax_flink names it (not with O_EXCL).
 * O_PATH: -EOPNOTSUPP (a FUSE mount never passes it: the kernel serves
 * O_PATH itself).  Other bits: -EINVAL.
 */
int udax_open(struct udax_fs *fs, const char *path, int flags, mode_t mode,
	      struct udax_file **out);
/*
 * Who creates: the owner of an inode that a *_cred call creates (udax_open
 * and the others create as uid 0, gid 0).  In a directory with S_ISGID the
 * new inode takes the directory's group instead, a new subdirectory
 * inherits S_ISGID, and a group-executable S_ISGID file made by a creator
 * (uid not 0) whose gid is not the directory's loses S_ISGID (Linux's
 * rule; udax knows no supplementary groups).  Owner and mode are set in
 * the create's one transaction.  udax checks no permission here.
 */
struct udax_cred {
	uid_t uid;
	gid_t gid;
};
/* udax_open, creating (O_CREAT) as @cred (NULL: uid 0, gid 0). */
int udax_open_cred(struct udax_fs *fs, const char *path, int flags,
		   mode_t mode, const struct udax_cred *cred,
		   struct udax_file **out);
/* Releases the handle (always).  The last close of an unlinked file frees
 * it: an error doing so (-ENOMEM, -EIO) is returned, and the file stays an
 * orphan on media until the next mount reclaims it. */
int udax_close(struct udax_file **file);

ssize_t udax_pread(struct udax_file *f, void *buf, size_t n, uint64_t off);
ssize_t udax_pwrite(struct udax_file *f, const void *buf, size_t n, uint64_t off);
/* Write at the end of file, atomically with respect to other appends;
 * *@where (may be NULL) receives the offset written at. */
ssize_t udax_append(struct udax_file *f, const void *buf, size_t n,
		    uint64_t *where);
int udax_fsync(struct udax_file *f);
int udax_fdatasync(struct udax_file *f);

int udax_ftruncate(struct udax_file *f, uint64_t size);
int udax_ftruncate_ex(struct udax_file *f, uint64_t size,
		      const struct udax_break_opts *brk);

/*
 * lseek(2)'s SEEK_DATA / SEEK_HOLE (@whence) from @off: the offset of the
 * first data (written blocks; unwritten, fallocated ones count as holes)
 * or hole (the end of file is one) at or after @off, at block granularity
 * and clipped to the file.  -ENXIO: @off at or past the end, or (SEEK_DATA)
 * no data after it.  No file position is kept: the caller keeps it.
 */
int64_t udax_lseek_data(struct udax_file *f, uint64_t off, int whence);
/*
 * copy_file_range(2): copy @len bytes of @in at @off_in to @out at
 * @off_out (a copy through the file API: no block is shared); returns the
 * bytes copied, fewer at the end of @in (0 past it).  @flags 0 (-EINVAL).
 * -EBADF: @in not readable, @out not writable or O_APPEND; -EINVAL:
 * overlapping ranges of one file; -EISDIR; -EFBIG past 16 TiB.  An error
 * after some bytes were copied returns their count.
 */
ssize_t udax_copy_file_range(struct udax_file *in, uint64_t off_in,
			     struct udax_file *out, uint64_t off_out,
			     size_t len, unsigned flags);

/* @mode: 0, or the Linux FALLOC_FL_* values of these: */
#define UDAX_FALLOC_KEEP_SIZE		0x01
#define UDAX_FALLOC_PUNCH_HOLE		0x02
#define UDAX_FALLOC_COLLAPSE_RANGE	0x08
#define UDAX_FALLOC_ZERO_RANGE		0x10
#define UDAX_FALLOC_INSERT_RANGE	0x20
int udax_fallocate(struct udax_file *f, int mode, uint64_t off, uint64_t len);
int udax_fallocate_ex(struct udax_file *f, int mode, uint64_t off, uint64_t len,
		      const struct udax_break_opts *brk);

struct udax_stat {
	uint32_t ino;
	uint32_t mode;			/* S_IFREG | 0644 ... */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t size;
	uint64_t blocks;		/* 4 KiB blocks allocated */
	struct timespec atime, mtime, ctime, btime;
	uint64_t rdev;			/* S_IFCHR, S_IFBLK: the device (makedev) */
	/* Inode generation: changes each time the inode number is reused,
	 * so (ino, gen) names one file for the life of the file system
	 * (what FUSE and NFS file handles need).  Inode numbers never change
	 * while a file exists. */
	uint32_t gen;
};
/* Paths: a symbolic link met on the way is followed (at most 40 per call:
 * -ELOOP); the last component too, except where a call says not
 * (udax_lstat, udax_readlink, udax_link's source, udax_unlink, udax_rename,
 * O_NOFOLLOW and O_CREAT | O_EXCL in udax_open). */
int udax_stat(struct udax_fs *fs, const char *path, struct udax_stat *st);
/* udax_stat of a symbolic link itself (S_IFLNK | 0777, size: the target's
 * length). */
int udax_lstat(struct udax_fs *fs, const char *path, struct udax_stat *st);
int udax_fstat(struct udax_file *f, struct udax_stat *st);
int udax_chmod(struct udax_fs *fs, const char *path, mode_t mode);
int udax_chown(struct udax_fs *fs, const char *path, uid_t uid, gid_t gid);
int udax_utimens(struct udax_fs *fs, const char *path, const struct timespec ts[2]);

/*
 * Several attributes in one transaction: those named in @mask.  Times take
 * UTIME_NOW and UTIME_OMIT in tv_nsec.  ctime becomes the current time
 * (or @ctime with UDAX_SETATTR_CTIME) whenever anything changes; with
 * nothing left to change (a zero mask, every time UTIME_OMIT) the call
 * does nothing.  A uid or gid change of a non-directory without
 * UDAX_SETATTR_MODE clears S_ISUID, and S_ISGID when S_IXGRP is set (as
 * Linux's chown does, for root too; udax_chown does not).  A size change
 * (regular files: -EISDIR, -EINVAL otherwise; -EFBIG past 16 TiB) is
 * udax_ftruncate's, layout break included (the mount's break mode), with
 * the other attributes in its transaction; mtime and ctime move with it
 * unless set here.  udax checks no permission.  The last component is
 * followed unless UDAX_SETATTR_NOFOLLOW.
 */
#define UDAX_SETATTR_MODE	(1u << 0)
#define UDAX_SETATTR_UID	(1u << 1)
#define UDAX_SETATTR_GID	(1u << 2)
#define UDAX_SETATTR_SIZE	(1u << 3)
#define UDAX_SETATTR_ATIME	(1u << 4)
#define UDAX_SETATTR_MTIME	(1u << 5)
#define UDAX_SETATTR_CTIME	(1u << 6)
#define UDAX_SETATTR_NOFOLLOW	(1u << 31)	/* a symbolic link itself */
struct udax_setattr {
	unsigned mask;			/* UDAX_SETATTR_* */
	mode_t mode;			/* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime, mtime, ctime;
};
int udax_setattr(struct udax_fs *fs, const char *path,
		 const struct udax_setattr *sa);

/*
 * access(2) for callers that do not let the kernel check (a FUSE mount
 * without default_permissions, the preload library): 0 if @cred (NULL:
 * root) may do @mode (F_OK, or R_OK | W_OK | X_OK) on @path (its last
 * component followed), else -EACCES; -EROFS for W_OK on a read-only
 * mount.  Root reads and writes anything and executes what has an x bit
 * or is a directory; others get the owner's, else the group's (@cred's
 * gid only: no supplementary groups), else the others' bits.  ACLs (see
 * udax_setxattr) and search permission on the path's directories are not
 * checked.  udax's other calls check no permission.
 */
int udax_access(struct udax_fs *fs, const char *path, int mode,
		const struct udax_cred *cred);

/* ---- namespace ------------------------------------------------------------- */

int udax_mkdir(struct udax_fs *fs, const char *path, mode_t mode);
/* udax_mkdir as @cred (see struct udax_cred; NULL: uid 0, gid 0). */
int udax_mkdir_cred(struct udax_fs *fs, const char *path, mode_t mode,
		    const struct udax_cred *cred);
int udax_rmdir(struct udax_fs *fs, const char *path);
/*
 * Make @linkpath a symbolic link to @target (any bytes but NUL, 1 to 4095
 * of them: -ENOENT empty, -ENAMETOOLONG longer; not resolved now).  It is
 * stored in the inode up to 144 bytes, in a block of its own beyond.
 * -EEXIST if @linkpath exists (even as a dangling link).
 */
int udax_symlink(struct udax_fs *fs, const char *target, const char *linkpath);
/* udax_symlink as @cred (see struct udax_cred; NULL: uid 0, gid 0). */
int udax_symlink_cred(struct udax_fs *fs, const char *target,
		      const char *linkpath, const struct udax_cred *cred);
/* The target of symbolic link @path (its last component not followed) in
 * @buf, at most @size bytes, no NUL added: returns the bytes stored.
 * -EINVAL if @path is not a symbolic link. */
/*
 * Make @path a special file as @cred (NULL: uid 0, gid 0; struct
 * udax_cred's rules): @mode's type S_IFIFO, S_IFSOCK, S_IFCHR or S_IFBLK
 * (S_IFREG or 0: an empty regular file; others -EINVAL), @rdev the device
 * of S_IFCHR / S_IFBLK (major < 4096, minor < 2^20: -EINVAL beyond; stat's
 * rdev).  Special files are inode types only: udax_open of one is -ENXIO
 * (the kernel serves FIFOs, sockets and devices of a FUSE mount itself).
 */
int udax_mknod(struct udax_fs *fs, const char *path, mode_t mode, dev_t rdev,
	       const struct udax_cred *cred);
ssize_t udax_readlink(struct udax_fs *fs, const char *path, char *buf,
		      size_t size);
int udax_unlink(struct udax_fs *fs, const char *path);
int udax_unlink_ex(struct udax_fs *fs, const char *path,
		   const struct udax_break_opts *brk);
int udax_link(struct udax_fs *fs, const char *oldpath, const char *newpath);
/* linkat(2) with AT_EMPTY_PATH: name the file of @f at @newpath too.  An
 * unlinked file: -ENOENT, except an O_TMPFILE one opened without O_EXCL,
 * which this gives its first name (and a crash then keeps it). */
int udax_flink(struct udax_file *f, const char *newpath);
#define UDAX_RENAME_NOREPLACE	(1u << 0)	/* = Linux RENAME_NOREPLACE */
#define UDAX_RENAME_EXCHANGE	(1u << 1)	/* = Linux RENAME_EXCHANGE */
/* Atomic; replaces an existing target (a layout break of the target).
 * NOREPLACE: -EEXIST if the target exists.  EXCHANGE: both names must
 * exist (-ENOENT) and swap their inodes, of any types (a directory moved
 * below itself: -EINVAL); not with NOREPLACE (-EINVAL).  Neither name's
 * last component is followed. */
int udax_rename(struct udax_fs *fs, const char *oldpath, const char *newpath,
		unsigned flags);
int udax_rename_ex(struct udax_fs *fs, const char *oldpath, const char *newpath,
		   unsigned flags, const struct udax_break_opts *brk);

struct udax_dirent {
	uint32_t ino;
	uint8_t type;			/* DT_REG, DT_DIR, DT_LNK, DT_FIFO, ... */
	char name[UDAX_NAME_MAX + 1];
	uint64_t off;			/* cookie of the position after it */
};
/* Without "." and ".." (udax_opendir_ex with UDAX_OPENDIR_DOTS for them). */
int udax_opendir(struct udax_fs *fs, const char *path, struct udax_dir **out);
#define UDAX_OPENDIR_DOTS	(1u << 0)	/* readdir returns "." and ".." first */
int udax_opendir_ex(struct udax_fs *fs, const char *path, unsigned flags,
		    struct udax_dir **out);
/*
 * 1: an entry was stored, 0: end of directory, <0: error.  An entry present
 * from opendir (or seekdir) to the end of the listing is returned exactly
 * once, whatever is created or removed meanwhile; one created or removed
 * meanwhile is returned at most once.
 */
int udax_readdir(struct udax_dir *d, struct udax_dirent *ent);
/*
 * Cookies: udax_telldir gives the position (0: the start; never 0 after an
 * entry was returned), udax_seekdir goes back to one (any value is safe:
 * the listing resumes at the first entry at or after it).  A cookie stays
 * valid for the directory's life, across handles, under concurrent
 * changes, with the guarantees of udax_readdir from there on; it is
 * ent->off of the entry before.  For a handle with UDAX_OPENDIR_DOTS, 1
 * and 2 are the positions after "." and "..".
 */
uint64_t udax_telldir(struct udax_dir *d);
int udax_seekdir(struct udax_dir *d, uint64_t cookie);
int udax_closedir(struct udax_dir **d);

/* ---- extended attributes ------------------------------------------------------ */

/*
 * Linux's setxattr family on a path (its last component followed) or an
 * open file.  Names: "user." (regular files and directories only; -EPERM
 * elsewhere), "trusted.", "security.", "system.posix_acl_access" and
 * "system.posix_acl_default" (POSIX ACLs in Linux's xattr form: checked,
 * -EINVAL if malformed; setting an access ACL sets the mode's permission
 * bits from it, in the same transaction, and one that the mode says whole
 * is not stored; removing an absent ACL is 0; chmod rewrites the access ACL; a new inode takes its
 * directory's default ACL, which masks its mode, so a caller applies a
 * umask only where the directory has none; a default ACL on a
 * non-directory is -EACCES.  udax enforces no ACL: the kernel does, on a
 * FUSE mount with default_permissions);
 * other names -EOPNOTSUPP, a name over 255 bytes -ERANGE.  Storage: one
 * checksummed block per inode, changed in one journal transaction with
 * the inode's ctime (after a crash the old set or the new one); all the
 * attributes of an inode take at most 4072 bytes, each 4 + name + value
 * rounded up to 4 (-ENOSPC beyond), one value at most
 * UDAX_XATTR_VALUE_MAX bytes (-E2BIG).  set: @flags 0, XATTR_CREATE
 * (-EEXIST if present) or XATTR_REPLACE (-ENODATA if absent).  get and
 * list: @size 0 returns the size needed; a buffer too small -ERANGE;
 * list gives NUL-ended names.  A missing attribute: -ENODATA.
 */
#define UDAX_XATTR_VALUE_MAX	3072
/* setxattr flag for system.posix_acl_access: also drop S_ISGID (the
 * caller is outside the file's group and may not keep it: Linux's
 * posix_acl_update_mode rule, FUSE's FUSE_SETXATTR_ACL_KILL_SGID). */
#define UDAX_XATTR_ACL_KILL_SGID	0x100
int udax_setxattr(struct udax_fs *fs, const char *path, const char *name,
		  const void *value, size_t size, int flags);
ssize_t udax_getxattr(struct udax_fs *fs, const char *path, const char *name,
		      void *value, size_t size);
ssize_t udax_listxattr(struct udax_fs *fs, const char *path, char *list,
		       size_t size);
int udax_removexattr(struct udax_fs *fs, const char *path, const char *name);
int udax_fsetxattr(struct udax_file *f, const char *name, const void *value,
		   size_t size, int flags);
ssize_t udax_fgetxattr(struct udax_file *f, const char *name, void *value,
		       size_t size);
ssize_t udax_flistxattr(struct udax_file *f, char *list, size_t size);
int udax_fremovexattr(struct udax_file *f, const char *name);

struct udax_statfs {
	uint64_t block_size;
	uint64_t blocks, blocks_free;
	uint64_t blocks_busy;		/* freed but still pinned (deferred) */
	uint64_t inodes, inodes_free;
	uint32_t name_max;
	uint32_t flags;			/* UDAX_STATFS_* */
	struct timespec mkfs_time;	/* when udax_mkfs made it (CLOCK_REALTIME) */
	char label[UDAX_FS_LABEL_MAX + 1];	/* udax_mkfs_opts.label, "" if none */
};
#define UDAX_STATFS_SHUTDOWN	0x1	/* shut down after a persistence error */
int udax_statfs(struct udax_fs *fs, struct udax_statfs *st);

/* ---- inode handles ---------------------------------------------------------- */

/*
 * A held inode: what a FUSE server or an NFS-style exporter names files
 * by, instead of paths.  Each call that returns one (udax_iget_root,
 * udax_lookup, udax_create_at, udax_mkdir_at, udax_symlink_at,
 * udax_mknod_at) holds it
 * once more; every hold is dropped by udax_iput().  A held inode stays in
 * memory with its number and generation; one unlinked while held (an
 * orphan) keeps its blocks until its last hold and its last open file are
 * gone.  Unmount refuses (-EBUSY) while any inode is held.
 *
 * Names given with a parent inode are one component: no '/' (-EINVAL),
 * not empty (-ENOENT), at most UDAX_NAME_MAX bytes (-ENAMETOOLONG); "."
 * and ".." are looked up as in a path, and the calls that create or
 * remove refuse them as the path calls do.  No call walks a path or
 * follows a symbolic link.  A parent directory removed while held:
 * -ENOENT.  New inodes are owned as struct udax_cred says (NULL: uid 0,
 * gid 0).  udax checks no permission: the caller does (the kernel, for a
 * FUSE mount with default_permissions).
 */
struct udax_inode;

int udax_iget_root(struct udax_fs *fs, struct udax_inode **out);
/* A new hold of inode @ino by number, as a file handle names it (FUSE's
 * export support, NFS): -ESTALE unless the inode is in use (linked, or
 * unlinked but still held or open) with generation @gen; UDAX_GEN_ANY:
 * any generation (st->gen tells which).  Attributes in *@st (may be NULL). */
#define UDAX_GEN_ANY	((uint64_t)1 << 32)
int udax_iget(struct udax_fs *fs, uint64_t ino, uint64_t gen,
	      struct udax_inode **out, struct udax_stat *st);
/* Look @name up in directory @parent: a new hold of the child in *@out,
 * and its attributes in *@st (may be NULL).  -ENOENT, -ENOTDIR. */
int udax_lookup(struct udax_fs *fs, struct udax_inode *parent, const char *name,
		struct udax_inode **out, struct udax_stat *st);
/* Drop one hold (the kernel's forget); *@ino becomes NULL.  The last hold
 * of an unlinked inode with no open file frees it: an error doing so is
 * returned, and the orphan is reclaimed at the next mount. */
int udax_iput(struct udax_inode **ino);
int udax_getattr(struct udax_inode *ino, struct udax_stat *st);
/* udax_setattr() of a held inode (UDAX_SETATTR_NOFOLLOW is implied); the
 * attributes after it in *@st (may be NULL). */
int udax_setattr_inode(struct udax_fs *fs, struct udax_inode *ino,
		       const struct udax_setattr *sa, struct udax_stat *st);
/* udax_readlink() of a held symbolic link (-EINVAL: not one). */
ssize_t udax_readlink_inode(struct udax_inode *ino, char *buf, size_t size);

/* udax_setxattr() and the others on a held inode of any type (a symbolic
 * link or special file too, as lsetxattr(2): user. names -EPERM there). */
int udax_setxattr_inode(struct udax_fs *fs, struct udax_inode *ino,
			const char *name, const void *value, size_t size,
			int flags);
ssize_t udax_getxattr_inode(struct udax_fs *fs, struct udax_inode *ino,
			    const char *name, void *value, size_t size);
ssize_t udax_listxattr_inode(struct udax_fs *fs, struct udax_inode *ino,
			     char *list, size_t size);
int udax_removexattr_inode(struct udax_fs *fs, struct udax_inode *ino,
			   const char *name);

/* udax_open() and udax_opendir_ex() of a held inode (O_CREAT: -EINVAL;
 * a symbolic link: -ELOOP; a special file: -ENXIO). */
int udax_open_inode(struct udax_fs *fs, struct udax_inode *ino, int flags,
		    struct udax_file **out);
int udax_opendir_inode(struct udax_fs *fs, struct udax_inode *ino,
		       unsigned flags, struct udax_dir **out);

/*
 * Create (or with @flags lacking O_EXCL, open an existing) regular file
 * @name in @parent as @cred and open it with @flags (O_CREAT implied):
 * the file in *@file, a hold of its inode in *@out, its attributes in
 * *@st (@out and @st may be NULL).
 */
int udax_create_at(struct udax_fs *fs, struct udax_inode *parent,
		   const char *name, int flags, mode_t mode,
		   const struct udax_cred *cred, struct udax_inode **out,
		   struct udax_file **file, struct udax_stat *st);
int udax_mkdir_at(struct udax_fs *fs, struct udax_inode *parent,
		  const char *name, mode_t mode, const struct udax_cred *cred,
		  struct udax_inode **out, struct udax_stat *st);
int udax_symlink_at(struct udax_fs *fs, struct udax_inode *parent,
		    const char *name, const char *target,
		    const struct udax_cred *cred, struct udax_inode **out,
		    struct udax_stat *st);
/* udax_mknod() in @parent: a FIFO, socket, device or regular file. */
int udax_mknod_at(struct udax_fs *fs, struct udax_inode *parent,
		  const char *name, mode_t mode, dev_t rdev,
		  const struct udax_cred *cred, struct udax_inode **out,
		  struct udax_stat *st);
int udax_unlink_at(struct udax_fs *fs, struct udax_inode *parent,
		   const char *name);
int udax_rmdir_at(struct udax_fs *fs, struct udax_inode *parent,
		  const char *name);
int udax_rename_at(struct udax_fs *fs, struct udax_inode *oldparent,
		   const char *oldname, struct udax_inode *newparent,
		   const char *newname, unsigned flags);
/* A new name for @ino (a directory: -EPERM); *@st (may be NULL) receives
 * its attributes after (nlink). */
int udax_link_at(struct udax_fs *fs, struct udax_inode *ino,
		 struct udax_inode *newparent, const char *newname,
		 struct udax_stat *st);

/* ---- zero-copy: views and pins ------------------------------------------------ */

/*
 * Zero-copy ranges: ONE rule for udax_pin, udax_lease_take, udax_view_map
 * and the io engine's file transfers (udax_io_read_file/write_file,
 * udax_io_lease_fixed; include/udax/io.h):
 *  1. [off, off + len) is whole blocks: @off and @len are multiples of
 *     UDAX_FS_BLOCK_SIZE and @len > 0; otherwise -EINVAL.  Nothing is
 *     rounded: what is pinned, mapped or transferred is exactly the range.
 *  2. It lies in the file's blocks: off + len <= the file size rounded up
 *     to a block.  The last block counts whole even when the file ends
 *     inside it (a 1-byte file has block [0, 4096)); past that, -EINVAL.
 *  3. Every block of it is allocated and written; a hole or an unwritten
 *     (fallocated) block is -ENODATA (views: unless UDAX_VIEW_ALLOCATE,
 *     which fills holes below the end of file first).
 * Bytes of the last block past the end of file read as zero.  Stores there
 * (a writable view, DMA into the file) are not part of the file.
 */

enum {
	UDAX_VIEW_WRITE = 1u << 0,	/* map writable */
	UDAX_VIEW_ALLOCATE = 1u << 1,	/* fill holes (allocate zeroed blocks) first */
	/* Fill the page tables at map time (no fault on first access); by
	 * default each page faults once, like an mmap of a DAX file. */
	UDAX_VIEW_POPULATE = 1u << 2,
};

/*
 * Map [off, off + len) of @f (a zero-copy range, see above) for direct
 * loads and stores:
 * one contiguous virtual range backed by the file's blocks.  A hole in the
 * range is refused (-ENODATA) unless UDAX_VIEW_ALLOCATE allocates it first;
 * there is no write-fault allocation.  A layout break of a mapped range
 * invalidates that part of the view: it is remapped inaccessible, so a late
 * access faults (SIGSEGV) instead of reaching a reused block.  The break
 * invalidates before it waits, so a break that is then refused (-EBUSY,
 * -ETIMEDOUT) has invalidated that part too.  Where the kernel refuses to
 * split the view's mapping (the process holds vm.max_map_count mappings),
 * the whole view is made inaccessible instead; where it refuses even that,
 * the break fails with -ENOMEM and frees nothing.
 */
int udax_view_map(struct udax_file *f, uint64_t off, size_t len, unsigned flags,
		  struct udax_view **out, void **addr);
/* Unmapping a view never releases a pin taken through its range. */
int udax_view_unmap(struct udax_view **view);

/*
 * Pin [off, off + len) of @f for DMA (the analogue of pin_user_pages): take
 * a page reference on every block, so no layout break can free or move
 * them until udax_unpin().  The range follows the zero-copy rule above:
 * whole blocks (-EINVAL, never rounded), inside the file's blocks (-EINVAL
 * past them), allocated and written (-ENODATA).  A pin request that overlaps a
 * layout break in progress waits until the break is done (and then pins
 * what the file holds then).  Limited devices: -EOPNOTSUPP.
 */
int udax_pin(struct udax_file *f, uint64_t off, size_t len, unsigned flags,
	     struct udax_pin **out);
size_t udax_pin_nr_pages(const struct udax_pin *pin);
struct udax_page *const *udax_pin_page_array(const struct udax_pin *pin);
/* CPU address of page @i of the pin (for DMA engines that take addresses). */
void *udax_pin_page_addr(const struct udax_pin *pin, size_t i);
/* Release the pin.  Returns 0, or -EINVAL when a page of the pin had been
 * unpinned behind its back (udax_unpin_pages on it: refused and counted,
 * see include/udax/pagemap.h); the pin is released either way. */
int udax_unpin(struct udax_pin **pin);

/* ---- leases: long-term pins that a layout break can revoke ------------------ */

/*
 * A lease is a pin held for a long time (e.g. io_uring fixed buffers,
 * RDMA registrations: what the kernel refuses on fsdax with EOPNOTSUPP)
 * that the file system may ask back.  A layout break overlapping the lease
 * calls ops->revoke once, then waits for udax_lease_release() at most
 * @revoke_timeout_ns (-1: as long as the break's own mode allows); if the
 * holder does not release in time the break fails with -ETIMEDOUT and
 * changes nothing.  revoke runs in the breaking thread with file locks
 * held: it must only tell the holder (set a flag, post to a queue), never
 * call file operations itself.  It may call udax_lease_release().  Once
 * udax_lease_release() has returned, revoke is not running and will not be
 * called for that lease (unless release was called from revoke itself).
 * A lease holds its file as an open handle does: unlinking the file or
 * renaming another over it does not revoke the lease; the file and its
 * blocks stay until the lease is released, and unmount refuses (-EBUSY)
 * meanwhile.
 */
struct udax_lease;
struct udax_lease_ops {
	void (*revoke)(struct udax_lease *lease, void *arg);
};
int udax_lease_take(struct udax_file *f, uint64_t off, size_t len,
		    int64_t revoke_timeout_ns, const struct udax_lease_ops *ops,
		    void *arg, struct udax_lease **out);
/* The pinned pages of the lease. */
const struct udax_pin *udax_lease_pin(const struct udax_lease *lease);
/* Has a layout break asked for the lease back? */
bool udax_lease_revoked(const struct udax_lease *lease);
int udax_lease_release(struct udax_lease **lease);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif /* UDAX_FS_H */
