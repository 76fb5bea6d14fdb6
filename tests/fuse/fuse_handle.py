# SPDX-License-Identifier: MIT
# File handles on a udax FUSE mount (run by tests/fuse/fuse_test.sh, as
# root): "save DIR OUT" makes files and directories under DIR and writes
# their name_to_handle_at(2) handles to OUT; "open MOUNT OUT", after a
# remount (a new server and a kernel that has forgotten every node),
# opens them again with open_by_handle_at(2): a file's data, a nested
# directory's entries and a lookup in it are found, and a handle of a
# file removed before the remount is ESTALE.  Without export support
# every open is ESTALE: the kernel no longer has the nodes.
import ctypes, errno, json, os, sys

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
MAX_HANDLE_SZ = 128


class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * MAX_HANDLE_SZ)]


def name_to_handle(path):
    fh = FileHandle(handle_bytes=MAX_HANDLE_SZ)
    mnt = ctypes.c_int()
    if libc.name_to_handle_at(AT_FDCWD, path.encode(), ctypes.byref(fh),
                              ctypes.byref(mnt), 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "name_to_handle_at %s: %s" % (path, os.strerror(e)))
    return [fh.handle_type, list(fh.f_handle[:fh.handle_bytes])]


def open_by_handle(mount_fd, h, flags):
    fh = FileHandle(handle_bytes=len(h[1]), handle_type=h[0])
    fh.f_handle[:len(h[1])] = h[1]
    fd = libc.open_by_handle_at(mount_fd, ctypes.byref(fh), flags)
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return fd


def fail(what):
    print("fuse_handle: FAIL: " + what, file=sys.stderr)
    sys.exit(1)


if sys.argv[1] == "save":
    d = sys.argv[2]
    os.makedirs(os.path.join(d, "hd", "sub"))
    with open(os.path.join(d, "hd", "sub", "in"), "w") as f:
        f.write("inside")
    with open(os.path.join(d, "hfile"), "w") as f:
        f.write("by handle")
    with open(os.path.join(d, "hgone"), "w") as f:
        f.write("gone")
    hs = {n: name_to_handle(os.path.join(d, *n.split("/")))
          for n in ("hfile", "hd/sub", "hgone")}
    os.unlink(os.path.join(d, "hgone"))
    json.dump(hs, open(sys.argv[3], "w"))
    sys.exit(0)

hs = json.load(open(sys.argv[3]))
mfd = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
try:
    fd = open_by_handle(mfd, hs["hfile"], os.O_RDONLY)
except OSError as e:
    fail("open_by_handle_at of a file after a remount: " + e.strerror)
if os.read(fd, 100) != b"by handle":
    fail("a file opened by handle reads other data")
os.close(fd)
try:
    fd = open_by_handle(mfd, hs["hd/sub"], os.O_RDONLY | os.O_DIRECTORY)
except OSError as e:
    fail("open_by_handle_at of a directory after a remount: " + e.strerror)
if os.listdir(fd) != ["in"]:
    fail("a directory opened by handle lists %r" % os.listdir(fd))
f = os.open("in", os.O_RDONLY, dir_fd=fd)
if os.read(f, 100) != b"inside":
    fail("a file under a directory opened by handle")
os.close(f)
os.close(fd)
try:
    open_by_handle(mfd, hs["hgone"], os.O_RDONLY)
    fail("a removed file opened by its handle")
except OSError as e:
    if e.errno != errno.ESTALE:
        fail("a removed file's handle: %s, want ESTALE" % e.strerror)
print("fuse_handle: ok")
