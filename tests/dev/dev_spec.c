/* SPDX-License-Identifier: MIT */
/*
 * Spec and option errors: each fails with the right code and a message
 * naming the problem, and leaves *out NULL.  Device-dax geometry is read
 * from a fake sysfs (UDAX_SYSFS_ROOT) pointing at /dev/null.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <udax/dev.h>

#include "dev_util.h"

static void bad(const char *spec, const struct udax_dev_opts *o, int want,
		const char *substr)
{
	struct udax_dev *dev = (struct udax_dev *)1;

	T_EXPECT_MSG(udax_dev_open(spec, o, &dev), want, substr);
	T_ASSERT(dev == NULL);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	T_ASSERT(f);
	fputs(text, f);
	fclose(f);
}

/* A fake /sys/dev/char/M:m for /dev/null with the given attributes. */
static void fake_sysfs(const char *root, const char *subsys, const char *size,
		       const char *align)
{
	struct stat st;
	char p[512], link[512];

	T_ASSERT(stat("/dev/null", &st) == 0);
	snprintf(p, sizeof(p), "rm -rf '%s/dev' && mkdir -p '%s/dev/char/%u:%u' "
		 "'%s/class/%s'", root, root, major(st.st_rdev),
		 minor(st.st_rdev), root, subsys);
	T_ASSERT(system(p) == 0);
	snprintf(p, sizeof(p), "%s/dev/char/%u:%u/subsystem", root,
		 major(st.st_rdev), minor(st.st_rdev));
	snprintf(link, sizeof(link), "../../../class/%s", subsys);
	T_ASSERT(symlink(link, p) == 0);
	if (size) {
		snprintf(p, sizeof(p), "%s/dev/char/%u:%u/size", root,
			 major(st.st_rdev), minor(st.st_rdev));
		put(p, size);
	}
	if (align) {
		snprintf(p, sizeof(p), "%s/dev/char/%u:%u/align", root,
			 major(st.st_rdev), minor(st.st_rdev));
		put(p, align);
	}
}

int main(void)
{
	struct udax_dev_opts o = { 0 };
	struct udax_dev *dev = NULL;
	const char *dir = t_tmpdir();
	char path[512], cmd[600];

	/* Arguments. */
	T_EXPECT_MSG(udax_dev_open("mem:4M", NULL, NULL), -EINVAL, "out is NULL");
	bad(NULL, NULL, -EINVAL, "spec is NULL");
	bad("", NULL, -EINVAL, "empty spec");

	/* Memory sizes. */
	bad("mem:", NULL, -EINVAL, "bad size");
	bad("mem:abc", NULL, -EINVAL, "bad size");
	bad("mem:12Q", NULL, -EINVAL, "bad size");
	bad("mem:64MB", NULL, -EINVAL, "bad size");
	bad("mem:-4096", NULL, -EINVAL, "bad size");
	bad("mem: 4096", NULL, -EINVAL, "bad size");
	bad("mem:0x1000", NULL, -EINVAL, "bad size");
	bad("mem:0", NULL, -EINVAL, "not a positive multiple");
	bad("mem:4097", NULL, -EINVAL, "not a positive multiple");
	bad("mem:1000", NULL, -EINVAL, "not a positive multiple");
	bad("mem:99999999999999999999", NULL, -EINVAL, "overflows");
	bad("mem:17179869184G", NULL, -EINVAL, "overflows");
	bad("mem:16777216T", NULL, -EINVAL, "overflows");
	/* Memory options. */
	bad("mem:4M,", NULL, -EINVAL, "bad or repeated option");
	bad("mem:4M,bogus", NULL, -EINVAL, "bad or repeated option \"bogus\"");
	bad("mem:4M,persist=", NULL, -EINVAL, "bad or repeated option");
	bad("mem:4M,persist=foo", NULL, -EINVAL, "bad persist mode \"foo\"");
	bad("mem:4M,persist=clwbx", NULL, -EINVAL, "bad persist mode");
	bad("mem:4M,persist=cpu,persist=cpu", NULL, -EINVAL, "repeated");
	bad("mem:4M,huge=thp", NULL, -EINVAL, "bad or repeated option");
	bad("mem:4M,huge=hugetlb,huge=hugetlb", NULL, -EINVAL, "repeated");
	bad("mem:4096,huge=hugetlb", NULL, -EINVAL, "multiple of 2 MiB");
	bad("mem:4M,persist=cpu;x", NULL, -EINVAL, "bad persist mode");
	bad("mem:12Q,persist=cpu", NULL, -EINVAL, "bad size \"12Q\"");

	/* Options. */
	o = (struct udax_dev_opts){ .flags = 1u << 20 };
	bad("mem:4M", &o, -EINVAL, "unknown flags");
	o = (struct udax_dev_opts){ .reserved = { 0, 0, 7, 0 } };
	bad("mem:4M", &o, -EINVAL, "reserved[2]");
	o = (struct udax_dev_opts){ .pgmap_flags = UDAX_PGMAP_ALTMAP | UDAX_PGMAP_LIMITED };
	bad("mem:4M", &o, -EINVAL, "pgmap_flags");
	o = (struct udax_dev_opts){ .pgmap_flags = 1u << 7 };
	bad("mem:4M", &o, -EINVAL, "pgmap_flags");
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_EXCL };
	bad("mem:4M", &o, -EINVAL, "UDAX_DEV_EXCL needs");
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE, .size = 4 * MiB };
	bad("mem:4M", &o, -EINVAL, "file devices only");
	o = (struct udax_dev_opts){ .size = 4 * MiB };
	bad("mem:4M", &o, -EINVAL, "opts.size must be 0");
	o = (struct udax_dev_opts){ .pgmap_flags = UDAX_PGMAP_ALTMAP };
	bad("mem:4096", &o, -EINVAL, "too small");

	/* Paths. */
	bad("file:", NULL, -EINVAL, "no path");
	bad("devdax:", NULL, -EINVAL, "no path");
	snprintf(path, sizeof(path), "%s/missing", dir);
	bad(path, NULL, -ENOENT, "does not exist");
	snprintf(path, sizeof(path), "file:%s/missing", dir);
	bad(path, NULL, -ENOENT, "does not exist");
	snprintf(path, sizeof(path), "%s/no/such/dir/f", dir);
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE, .size = 4 * MiB };
	bad(path, &o, -ENOENT, "cannot create");
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE };
	bad(path, &o, -EINVAL, "needs opts.size");
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE, .size = 5000 };
	bad(path, &o, -EINVAL, "not a multiple");
	bad(dir, NULL, -EISDIR, "Is a directory");
	bad("file:/dev/null", NULL, -EINVAL, "character device");
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE, .size = 4 * MiB };
	bad("devdax:/dev/dax0.0", &o, -EINVAL, "file devices only");

	/* Device-dax: a missing one, and character devices that are not. */
	bad("/dev/dax9.9", NULL, -ENOENT, "no such device-dax device /dev/dax9.9");
	bad("devdax:/dev/dax9.9", NULL, -ENOENT, "no such device-dax");
	bad("devdax:/dev/null", NULL, -ENODEV, "not a device-dax");
	bad("/dev/null", NULL, -ENODEV, "subsystem \"mem\"");
	snprintf(path, sizeof(path), "%s/plain", dir);
	put(path, "");
	snprintf(cmd, sizeof(cmd), "devdax:%s", path);
	bad(cmd, NULL, -ENODEV, "regular file, not a device-dax");

	/* Device-dax geometry from a fake sysfs; the mmap of /dev/null then
	 * fails, which is as far as a machine without device-dax gets. */
	snprintf(path, sizeof(path), "%s/sys", dir);
	T_ASSERT(setenv("UDAX_SYSFS_ROOT", path, 1) == 0);
	for (int np = 0; np < 2; np++) {
		o = (struct udax_dev_opts){ .flags = np ? UDAX_DEV_NO_PMEM2 : 0 };
		fake_sysfs(path, "dax", NULL, NULL);
		bad("devdax:/dev/null", &o, -ENODEV, "cannot read the size");
		fake_sysfs(path, "dax", "abc\n", NULL);
		bad("devdax:/dev/null", &o, -ENODEV, "malformed");
		fake_sysfs(path, "dax", "0\n", NULL);
		bad("devdax:/dev/null", &o, -ENODEV, "not a positive multiple");
		fake_sysfs(path, "dax", "4194304\n", "3000\n");
		bad("devdax:/dev/null", &o, -ENODEV, "alignment 3000");
		fake_sysfs(path, "dax", "4194304\n", "12x\n");
		bad("devdax:/dev/null", &o, -ENODEV, "malformed");
		fake_sysfs(path, "dax", "3145728\n", "2097152\n");
		bad("devdax:/dev/null", &o, -ENODEV, "not a positive multiple");
		fake_sysfs(path, "dax", "4194304\n", "2097152\n");
		bad("devdax:/dev/null", &o, -ENODEV, "mmap of /dev/null");
		fake_sysfs(path, "dax", "4194304\n", NULL);	/* default align */
		bad("devdax:/dev/null", &o, -ENODEV, "mmap of /dev/null");
		fake_sysfs(path, "nvme", "4194304\n", NULL);
		bad("devdax:/dev/null", &o, -ENODEV, "subsystem \"nvme\"");
	}
	unsetenv("UDAX_SYSFS_ROOT");

	/* A failed open leaves nothing behind: the next one works. */
	T_OK(udax_dev_open("mem:4M", NULL, &dev));
	T_OK(udax_dev_close(&dev, 0));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	T_ASSERT(system(cmd) == 0);
	return 0;
}
