# SPDX-License-Identifier: MIT
# POSIX behaviour of a udax FUSE mount, through the kernel (run by
# tests/fuse/fuse_test.sh as root on a mount with allow_other and
# default_permissions): every call the server implements, with the errno
# Linux gives, and files created by another user owned by that user.
import errno, os, stat, sys, time

M = sys.argv[1]
P = lambda *a: os.path.join(M, *a)
checks = 0


def ok(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


def err(want, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except OSError as e:
        ok(e.errno == want, "%s%r: errno %s, want %s" % (fn.__name__, a,
           errno.errorcode.get(e.errno), errno.errorcode[want]))
        return
    raise AssertionError("%s%r succeeded, want %s" % (fn.__name__, a, errno.errorcode[want]))


# create, write, read, stat
fd = os.open(P("f"), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
ok(os.write(fd, b"hello world") == 11, "write")
ok(os.pread(fd, 5, 6) == b"world", "pread")
st = os.fstat(fd)
ok(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640, "mode %o" % st.st_mode)
ok(st.st_size == 11 and st.st_nlink == 1 and st.st_uid == 0, "stat %r" % (st,))
os.fsync(fd)
os.fdatasync(fd)
os.close(fd)
err(errno.EEXIST, os.open, P("f"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
err(errno.ENOENT, os.open, P("nope"), os.O_RDONLY)
err(errno.ENOTDIR, os.open, P("f", "x"), os.O_RDONLY)
with open(P("f"), "rb") as f:
    ok(f.read() == b"hello world", "read back")
ino = os.stat(P("f")).st_ino

# O_APPEND, O_TRUNC, sparse writes and holes
with open(P("f"), "ab") as f:
    f.write(b"!")
ok(open(P("f"), "rb").read() == b"hello world!", "append")
fd = os.open(P("sparse"), os.O_CREAT | os.O_WRONLY, 0o644)
os.pwrite(fd, b"x", 1 << 20)
os.close(fd)
st = os.stat(P("sparse"))
ok(st.st_size == (1 << 20) + 1 and st.st_blocks <= 16, "sparse %r" % (st,))
with open(P("sparse"), "rb") as f:
    ok(f.read(4096) == bytes(4096), "hole reads zero")
fd = os.open(P("sparse"), os.O_WRONLY | os.O_TRUNC)
os.close(fd)
ok(os.stat(P("sparse")).st_size == 0, "O_TRUNC")

# truncate, fallocate
os.truncate(P("f"), 5)
ok(open(P("f"), "rb").read() == b"hello", "truncate down")
os.truncate(P("f"), 8192)
d = open(P("f"), "rb").read()
ok(len(d) == 8192 and d[:5] == b"hello" and d[5:] == bytes(8187), "truncate up")
fd = os.open(P("f"), os.O_RDWR)
os.posix_fallocate(fd, 0, 1 << 16)
ok(os.fstat(fd).st_size == 1 << 16 and os.pread(fd, 5, 0) == b"hello", "fallocate")
os.ftruncate(fd, 5)
os.close(fd)

# mkdir, readdir, rmdir, "." and ".."
os.mkdir(P("d"), 0o750)
st = os.stat(P("d"))
ok(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750 and st.st_nlink == 2, "mkdir")
ok(os.stat(M).st_nlink == 3, "parent nlink")
err(errno.EEXIST, os.mkdir, P("d"))
err(errno.EEXIST, os.mkdir, P("f"))
names = set()
for k in range(300):
    open(P("d", "n%03d" % k), "w").close()
    names.add("n%03d" % k)
ok(set(os.listdir(P("d"))) == names, "listdir")
with os.scandir(P("d")) as it:
    seen = {e.name: e.inode() for e in it}
ok(set(seen) == names and all(seen.values()), "scandir")
ok(os.stat(P("d", "n007")).st_ino == seen["n007"], "readdir ino = stat ino")
err(errno.ENOTEMPTY, os.rmdir, P("d"))
err(errno.ENOTDIR, os.rmdir, P("f"))
err(errno.EISDIR, os.unlink, P("d"))
for n in names:
    os.unlink(P("d", n))
ok(os.listdir(P("d")) == [], "emptied")
os.rmdir(P("d"))
err(errno.ENOENT, os.stat, P("d"))
ok(os.stat(M).st_nlink == 2, "parent nlink after rmdir")

# rename: plain, over a file, directories, into itself
os.rename(P("f"), P("g"))
err(errno.ENOENT, os.stat, P("f"))
ok(os.stat(P("g")).st_ino == ino, "rename keeps the inode")
open(P("h"), "w").write("other")
os.rename(P("g"), P("h"))
ok(open(P("h")).read() == "hello" and os.stat(P("h")).st_ino == ino, "rename over")
os.makedirs(P("a", "b"))
os.mkdir(P("c"))
os.rename(P("a", "b"), P("c", "b"))
ok(os.stat(P("a")).st_nlink == 2 and os.stat(P("c")).st_nlink == 3, "dir rename nlinks")
err(errno.EINVAL, os.rename, P("c"), P("c", "b", "x"))
err(errno.ENOTEMPTY, os.rename, P("a"), P("c"))
os.rename(P("c", "b"), P("a", "b"))

# link, unlink, open-unlinked files
os.link(P("h"), P("h2"))
ok(os.stat(P("h")).st_nlink == 2 and os.stat(P("h2")).st_ino == ino, "link")
err(errno.EEXIST, os.link, P("h"), P("h2"))
err(errno.EPERM, os.link, P("a"), P("a2"))
os.unlink(P("h"))
ok(os.stat(P("h2")).st_nlink == 1, "unlink one link")
fd = os.open(P("h2"), os.O_RDWR)
os.unlink(P("h2"))
os.pwrite(fd, b"still", 0)
ok(os.pread(fd, 5, 0) == b"still" and os.fstat(fd).st_nlink == 0, "unlinked but open")
os.close(fd)
err(errno.ENOENT, os.unlink, P("h2"))

# chmod, chown, utimes, ctime moves
open(P("t"), "w").close()
c0 = os.stat(P("t")).st_ctime_ns
time.sleep(0.01)
os.chmod(P("t"), 0o4751)
st = os.stat(P("t"))
ok(stat.S_IMODE(st.st_mode) == 0o4751 and st.st_ctime_ns > c0, "chmod")
os.chown(P("t"), 1234, 5678)
st = os.stat(P("t"))
ok(st.st_uid == 1234 and st.st_gid == 5678, "chown")
os.chown(P("t"), -1, 42)
ok(os.stat(P("t")).st_uid == 1234 and os.stat(P("t")).st_gid == 42, "chown gid only")
os.utime(P("t"), ns=(1000000000123, 2000000000456))
st = os.stat(P("t"))
ok(st.st_atime_ns == 1000000000123 and st.st_mtime_ns == 2000000000456, "utimes")
os.utime(P("t"))
ok(abs(os.stat(P("t")).st_mtime - time.time()) < 60, "utimes now")

# Does fn() return, run in a child as uid 1234, gid 4321 (no other
# groups) with umask @mask?  @loud: say why it did not.
def as_1234(fn, mask=0o077, loud=False):
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(4321)
            os.setuid(1234)
            os.umask(mask)
            fn()
            os._exit(0)
        except BaseException as e:
            if loud:
                print("child:", e, file=sys.stderr)
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


# another user's files are that user's (fuse_req_ctx, not the server's)
os.chmod(M, 0o777)
os.mkdir(P("sg"), 0o2777)
os.chown(P("sg"), 0, 777)
os.chmod(P("sg"), 0o2777)
open(P("ro"), "w").close()
os.chmod(P("ro"), 0o644)
def other_user_calls():
    open(P("u"), "w").write("x")
    os.mkdir(P("ud"))
    open(P("sg", "u"), "w").close()
    os.mkdir(P("sg", "ud"))
    os.symlink("u", P("ul"))
    err(errno.EACCES, os.open, P("ro"), os.O_WRONLY)
    err(errno.EPERM, os.chown, P("u"), 0, 0)
ok(as_1234(other_user_calls, 0o022, loud=True), "the other user's calls")
for n in ("u", "ud"):
    st = os.stat(P(n))
    ok(st.st_uid == 1234 and st.st_gid == 4321, "owner of %s: %d:%d" % (n, st.st_uid, st.st_gid))
ok(stat.S_IMODE(os.stat(P("u")).st_mode) == 0o644, "umask applied")
st = os.lstat(P("ul"))
ok(st.st_uid == 1234 and st.st_gid == 4321, "owner of a symlink")
st = os.stat(P("sg", "u"))
ok(st.st_uid == 1234 and st.st_gid == 777, "setgid directory: group %d" % st.st_gid)
st = os.stat(P("sg", "ud"))
ok(st.st_gid == 777 and st.st_mode & stat.S_ISGID, "setgid directory inherited")

# symbolic links: symlink, readlink, lstat, followed by open and stat,
# a dangling one, O_NOFOLLOW, a long target, a second user's link
open(P("target"), "w").write("via link")
os.symlink("target", P("sl"))
ok(os.readlink(P("sl")) == "target", "readlink")
st = os.lstat(P("sl"))
ok(stat.S_ISLNK(st.st_mode) and st.st_size == 6, "lstat %r" % (st,))
ok(open(P("sl")).read() == "via link", "open follows")
ok(os.stat(P("sl")).st_ino == os.stat(P("target")).st_ino, "stat follows")
err(errno.ELOOP, os.open, P("sl"), os.O_RDONLY | os.O_NOFOLLOW)
err(errno.EEXIST, os.symlink, "x", P("sl"))
os.symlink("nowhere", P("dangling"))
err(errno.ENOENT, os.stat, P("dangling"))
ok(os.readlink(P("dangling")) == "nowhere", "dangling readlink")
long_target = "/".join(["d" * 200] * 10)
os.symlink(long_target, P("long"))
ok(os.readlink(P("long")) == long_target, "long target")
os.mkdir(P("ldir"))
os.symlink("ldir", P("ldl"))
open(P("ldl", "in"), "w").close()
ok(os.listdir(P("ldir")) == ["in"], "through a link to a directory")
with os.scandir(M) as it:
    types = {e.name: e.is_symlink() for e in it}
ok(types["sl"] and not types["target"], "readdir type of a link")
os.rename(P("sl"), P("sl2"))
os.link(P("sl2"), P("sl3"))
ok(os.lstat(P("sl3")).st_nlink == 2 and os.readlink(P("sl3")) == "target", "link of a link")
os.unlink(P("sl2"))
os.unlink(P("sl3"))
ok(os.path.exists(P("target")), "unlink of a link leaves its target")

# special files: FIFO, devices (mknod), rename(RENAME_EXCHANGE)
os.mkfifo(P("fifo"), 0o640)
st = os.lstat(P("fifo"))
ok(stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640, "mkfifo")
os.mknod(P("chr"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
st = os.lstat(P("chr"))
ok(stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3), "mknod chr %r" % (st,))
pid = os.fork()
if pid == 0:	# a FIFO on the mount works between two processes
    with open(P("fifo"), "wb") as w:
        w.write(b"through the fifo")
    os._exit(0)
with open(P("fifo"), "rb") as r:
    ok(r.read() == b"through the fifo", "fifo data")
os.waitpid(pid, 0)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
ok(libc.renameat2(AT_FDCWD, P("fifo").encode(), AT_FDCWD, P("chr").encode(),
                  RENAME_EXCHANGE) == 0, "renameat2 RENAME_EXCHANGE: %d" % ctypes.get_errno())
ok(stat.S_ISCHR(os.lstat(P("fifo")).st_mode) and stat.S_ISFIFO(os.lstat(P("chr")).st_mode),
   "exchanged")
os.unlink(P("fifo"))
os.unlink(P("chr"))

# extended attributes: set (XATTR_CREATE/REPLACE), get, list (size 0
# asks for the size), remove; on a file, a directory and a symbolic link
open(P("xa"), "w").close()
os.mkdir(P("xd"))
os.symlink("xa", P("xl"))
os.setxattr(P("xa"), "user.a", b"one")
ok(os.getxattr(P("xa"), "user.a") == b"one", "getxattr")
os.setxattr(P("xa"), "user.a", b"two!", os.XATTR_REPLACE)
ok(os.getxattr(P("xa"), "user.a") == b"two!", "XATTR_REPLACE")
err(errno.EEXIST, os.setxattr, P("xa"), "user.a", b"3", os.XATTR_CREATE)
err(errno.ENODATA, os.setxattr, P("xa"), "user.b", b"3", os.XATTR_REPLACE)
err(errno.ENODATA, os.getxattr, P("xa"), "user.b")
os.setxattr(P("xa"), "trusted.t", b"")
ok(os.getxattr(P("xa"), "trusted.t") == b"", "empty value")
ok(sorted(os.listxattr(P("xa"))) == ["trusted.t", "user.a"], "listxattr %r" % os.listxattr(P("xa")))
ok(os.getxattr(P("xl"), "user.a") == b"two!", "getxattr through a link")
bpath = P("xa").encode()
ok(libc.getxattr(bpath, b"user.a", None, 0) == 4, "getxattr size 0")
ok(libc.listxattr(bpath, None, 0) == len(b"trusted.t\0user.a\0"), "listxattr size 0")
small = ctypes.create_string_buffer(2)
ok(libc.getxattr(bpath, b"user.a", small, 2) == -1 and ctypes.get_errno() == errno.ERANGE,
   "getxattr small buffer: ERANGE")
ok(libc.listxattr(bpath, small, 2) == -1 and ctypes.get_errno() == errno.ERANGE,
   "listxattr small buffer: ERANGE")
err(errno.E2BIG, os.setxattr, P("xa"), "user.big", bytes(3073))
fd = os.open(P("xa"), os.O_RDONLY)
os.setxattr(fd, "user.f", b"by fd")
ok(os.getxattr(fd, "user.f") == b"by fd", "fsetxattr/fgetxattr")
os.close(fd)
os.removexattr(P("xa"), "user.a")
os.removexattr(P("xa"), "user.f")
err(errno.ENODATA, os.removexattr, P("xa"), "user.a")
ok(os.listxattr(P("xa")) == ["trusted.t"], "removexattr")
os.setxattr(P("xd"), "user.d", b"dir")
ok(os.getxattr(P("xd"), "user.d") == b"dir" and os.listxattr(P("xd")) == ["user.d"], "directory xattr")
# a symbolic link's and a FIFO's own (xfstests generic/062): user.* is
# EPERM as on Linux, trusted.* is stored as on ext4, the link's target's
# attributes untouched
err(errno.EPERM, os.setxattr, P("xl"), "user.l", b"v", 0, follow_symlinks=False)
os.setxattr(P("xl"), "trusted.l", b"v", 0, follow_symlinks=False)
ok(os.getxattr(P("xl"), "trusted.l", follow_symlinks=False) == b"v", "a link's trusted.l")
err(errno.EEXIST, os.setxattr, P("xl"), "trusted.l", b"w", os.XATTR_CREATE, follow_symlinks=False)
ok(os.listxattr(P("xl"), follow_symlinks=False) == ["trusted.l"], "a link's list")
ok("trusted.l" not in os.listxattr(P("xa")), "the target's list untouched")
os.removexattr(P("xl"), "trusted.l", follow_symlinks=False)

# POSIX ACLs (default_permissions: the kernel enforces them, udax keeps
# them): a named user's entry grants what the mode does not; setting one
# moves the mode's group bits to the mask; a default ACL is inherited
# by new files and directories, and masks their mode instead of the umask
def acl(*ents):
    import struct
    # ids of the owner, group, mask and other entries: undefined (-1),
    # as the kernel writes them
    return struct.pack("<I", 2) + b"".join(
        struct.pack("<HHI", t, p, i if t in (USER, 8) else 0xffffffff) for t, p, i in ents)
UOBJ, USER, GOBJ, MASK, OTHER = 1, 2, 4, 0x10, 0x20
# set-ID bits on write, truncate and fallocate by a caller other than
# root (the VFS rule, the server's: FUSE's own keeps S_ISGID of a file
# that is not group-executable): S_ISUID goes, and S_ISGID too when the
# caller is outside the file's group; root's writes keep both
for how in ("write", "truncate", "fallocate"):
    open(P("sid"), "w").write("x" * 8192)
    os.chmod(P("sid"), 0o6666)
    def act():
        fd = os.open(P("sid"), os.O_WRONLY)
        if how == "write":
            os.pwrite(fd, b"y", 0)
        elif how == "truncate":
            os.ftruncate(fd, 100)
        else:
            os.posix_fallocate(fd, 0, 16384)
        os.close(fd)
    ok(as_1234(act), "another user's %s" % how)
    ok(stat.S_IMODE(os.stat(P("sid")).st_mode) == 0o666,
       "set-ID bits after another user's %s: %o" % (how, os.stat(P("sid")).st_mode))
    os.chmod(P("sid"), 0o6666)
    act()
    ok(stat.S_IMODE(os.stat(P("sid")).st_mode) == 0o6666, "root's %s keeps them" % how)
os.unlink(P("sid"))

os.mkdir(P("acl"), 0o755)
open(P("acl", "f"), "w").write("acl")
os.chmod(P("acl", "f"), 0o600)
ok(not as_1234(lambda: open(P("acl", "f")).read()), "no ACL: the other user is refused")
os.setxattr(P("acl", "f"), "system.posix_acl_access",
            acl((UOBJ, 6, 0), (USER, 4, 1234), (GOBJ, 0, 0), (MASK, 4, 0), (OTHER, 0, 0)))
ok(stat.S_IMODE(os.stat(P("acl", "f")).st_mode) == 0o640, "the mask is the group bits")
ok(as_1234(lambda: open(P("acl", "f")).read() == "acl" or 1/0), "a named user reads")
ok(not as_1234(lambda: open(P("acl", "f"), "w")), "but does not write")
os.chmod(P("acl", "f"), 0o600)
ok(not as_1234(lambda: open(P("acl", "f")).read()), "chmod g-r masks the entry")
os.setxattr(P("acl"), "system.posix_acl_default",
            acl((UOBJ, 7, 0), (USER, 7, 1234), (GOBJ, 5, 0), (MASK, 7, 0), (OTHER, 0, 0)))
err(errno.EACCES, os.setxattr, P("acl", "f"), "system.posix_acl_default", acl((UOBJ, 7, 0), (GOBJ, 5, 0), (OTHER, 0, 0)))
os.setxattr(P("acl"), "system.posix_acl_access",
            acl((UOBJ, 7, 0), (USER, 7, 1234), (GOBJ, 0, 0), (MASK, 7, 0), (OTHER, 0, 0)))
ok(as_1234(lambda: open(P("acl", "by1234"), "w").write("x")), "a named user creates in the directory")
st = os.stat(P("acl", "by1234"))
ok(st.st_uid == 1234 and stat.S_IMODE(st.st_mode) == 0o660, "inherited mode (umask 077 ignored): %o" % st.st_mode)
ok(os.getxattr(P("acl", "by1234"), "system.posix_acl_access") ==
   acl((UOBJ, 6, 0), (USER, 7, 1234), (GOBJ, 5, 0), (MASK, 6, 0), (OTHER, 0, 0)), "the inherited access ACL %r" % os.getxattr(P("acl", "by1234"), "system.posix_acl_access"))
os.mkdir(P("acl", "sub"), 0o777)
ok(os.getxattr(P("acl", "sub"), "system.posix_acl_default") ==
   os.getxattr(P("acl"), "system.posix_acl_default"), "a subdirectory keeps the default")
os.umask(0o022)
os.removexattr(P("acl"), "system.posix_acl_default")
open(P("acl", "plain"), "w").close()
ok(stat.S_IMODE(os.stat(P("acl", "plain")).st_mode) == 0o644, "no default: the umask")
err(errno.ENODATA, os.getxattr, P("acl", "plain"), "system.posix_acl_access")
err(errno.ENODATA, os.getxattr, P("xl"), "trusted.l", follow_symlinks=False)
ok(os.listxattr(P("xl"), follow_symlinks=False) == [], "a link's list after removal")
os.mkfifo(P("xf"))
os.setxattr(P("xf"), "trusted.f", b"fifo")
ok(os.getxattr(P("xf"), "trusted.f") == b"fifo" and os.listxattr(P("xf")) == ["trusted.f"],
   "a FIFO's trusted.f")
err(errno.EPERM, os.setxattr, P("xf"), "user.f", b"v")
os.unlink(P("xf"))
os.unlink(P("xl"))
os.rmdir(P("xd"))

# access: root reads and writes anything, executes with an x bit; a
# second user gets the other bits
ok(os.access(P("xa"), os.R_OK | os.W_OK) and os.access(P("xa"), os.F_OK), "access root rw")
ok(not os.access(P("xa"), os.X_OK), "access root x without an x bit")
ok(not os.access(P("nope"), os.F_OK), "access F_OK missing")
os.chmod(P("xa"), 0o604)
pid = os.fork()
if pid == 0:
    os.setgid(4321)
    os.setuid(1234)
    os._exit(0 if os.access(P("xa"), os.R_OK) and not os.access(P("xa"), os.W_OK) else 1)
ok(os.waitpid(pid, 0)[1] == 0, "access as another user")
os.unlink(P("xa"))

# SEEK_DATA / SEEK_HOLE on a sparse file: data at 0 and at 1 MiB
fd = os.open(P("sp"), os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"d" * 4096, 0)
os.pwrite(fd, b"e", 1 << 20)
end = (1 << 20) + 1
ok(os.lseek(fd, 0, os.SEEK_DATA) == 0, "SEEK_DATA at data")
ok(os.lseek(fd, 0, os.SEEK_HOLE) == 4096, "SEEK_HOLE after data")
ok(os.lseek(fd, 4096, os.SEEK_DATA) == 1 << 20, "SEEK_DATA over a hole")
ok(os.lseek(fd, 1 << 20, os.SEEK_HOLE) == end, "SEEK_HOLE at the end of file")
err(errno.ENXIO, os.lseek, fd, end, os.SEEK_DATA)
err(errno.ENXIO, os.lseek, fd, end + 10, os.SEEK_HOLE)

# copy_file_range: within the mount, at offsets, past the end of file
data = bytes(range(256)) * 40
fd2 = os.open(P("cp"), os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd2, data, 0)
dst = os.open(P("cp2"), os.O_CREAT | os.O_RDWR, 0o644)
done = 0
while done < len(data):
    n = os.copy_file_range(fd2, dst, len(data) - done, done, done)
    ok(n > 0, "copy_file_range progress")
    done += n
ok(os.pread(dst, len(data) + 1, 0) == data, "copy_file_range data")
ok(os.copy_file_range(fd2, dst, 10, 100, 20000) == 10, "copy at offsets")
st = os.fstat(dst)
ok(st.st_size == 20010 and os.pread(dst, 10, 20000) == data[100:110], "copy past the end %r" % (st,))
ok(os.copy_file_range(fd2, dst, 10, len(data), 0) == 0, "copy from past the end")
ok(os.copy_file_range(fd, dst, 4096, 0, 0) == 4096 and os.pread(dst, 4, 0) == b"dddd", "copy between files")
for f in (fd, fd2, dst):
    os.close(f)
for n in ("sp", "cp", "cp2"):
    os.unlink(P(n))

# statfs
sv = os.statvfs(M)
ok(sv.f_bsize == 4096 and sv.f_blocks > 0 and 0 < sv.f_bfree <= sv.f_blocks, "statvfs %r" % (sv,))
ok(sv.f_files > 0 and 0 < sv.f_ffree < sv.f_files and sv.f_namemax == 255, "statvfs inodes")
err(errno.ENAMETOOLONG, os.open, P("x" * 256), os.O_CREAT | os.O_WRONLY, 0o644)

# a shared writable mapping reaches the file (through the page cache)
import mmap
with open(P("m"), "wb") as f:
    f.write(bytes(8192))
with open(P("m"), "r+b") as f:
    mm = mmap.mmap(f.fileno(), 8192)
    mm[100:105] = b"mmapd"
    mm.flush()
    mm.close()
ok(open(P("m"), "rb").read()[100:105] == b"mmapd", "mmap write")

print("fuse_posix: %d checks passed" % checks)
