/* SPDX-License-Identifier: MIT */
/*
 * view: map a file range for direct loads and stores (a view), write
 * through it and read through the file interface, and the reverse.
 * A view maps the file's own blocks on the device: there is no copy and no
 * page cache in between.
 *
 *   cc view.c -o view $(pkg-config --cflags --libs udax)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <udax/dev.h>
#include <udax/fs.h>

#define LEN	(4 * UDAX_FS_BLOCK_SIZE)

#define CHECK(call) do {						\
	long _r = (long)(call);						\
	if (_r < 0) {							\
		fprintf(stderr, "view: %s: %s (%s)\n", #call,		\
			udax_strerror((int)_r), udax_fs_last_error());	\
		return 2;						\
	}								\
} while (0)

int main(void)
{
	struct udax_view *view;
	struct udax_file *f;
	struct udax_dev *dev;
	struct udax_fs *fs;
	char *p, buf[32];
	int ok;

	CHECK(udax_dev_open("mem:16M", NULL, &dev));
	CHECK(udax_dev_mkpart(dev, NULL, 0, 0));
	CHECK(udax_mkfs(dev, 0, NULL));
	CHECK(udax_mount(dev, 0, NULL, &fs));
	CHECK(udax_open(fs, "/data", O_CREAT | O_RDWR, 0644, &f));
	CHECK(udax_ftruncate(f, LEN));		/* a hole: views need blocks */

	/* UDAX_VIEW_ALLOCATE fills the hole with zeroed blocks first. */
	CHECK(udax_view_map(f, 0, LEN, UDAX_VIEW_WRITE | UDAX_VIEW_ALLOCATE, &view,
			    (void **)&p));
	/* Stores through the view are stores to the file's blocks. */
	strcpy(p + UDAX_FS_BLOCK_SIZE, "stored through the view");
	CHECK(udax_pread(f, buf, sizeof(buf), UDAX_FS_BLOCK_SIZE));
	printf("pread at 4096: \"%s\"\n", buf);
	ok = strcmp(buf, "stored through the view") == 0;

	/* And writes through the file are seen by loads. */
	CHECK(udax_pwrite(f, "written by pwrite", 18, 2 * UDAX_FS_BLOCK_SIZE));
	printf("load at 8192:  \"%s\"\n", p + 2 * UDAX_FS_BLOCK_SIZE);
	ok &= strcmp(p + 2 * UDAX_FS_BLOCK_SIZE, "written by pwrite") == 0;
	ok &= p[0] == 0;			/* allocated blocks read as zeros */

	/* Make the stores durable (a no-op on memory, a flush on PMem). */
	CHECK(udax_fsync(f));
	CHECK(udax_view_unmap(&view));
	CHECK(udax_close(&f));
	CHECK(udax_unmount(&fs));
	CHECK(udax_dev_close(&dev, 0));
	printf("view: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
