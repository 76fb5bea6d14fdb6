/* SPDX-License-Identifier: MIT */
/*
 * Compiled by scripts/install-check against an installed udax (pkg-config
 * --cflags --libs udax, so the shared library), outside the source tree:
 * only <udax/...> headers and libc.  Makes, mounts and uses a file system
 * on a memory device, and drops managed pages through udax_put_page()
 * sites inlined here, in this program's own static-key table.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/pagemap.h>
#include <udax/version.h>

#define CHECK(expr) do {						\
	long _r = (long)(expr);						\
	if (_r < 0) {							\
		fprintf(stderr, "install_smoke: %s: %s\n", #expr,	\
			udax_strerror((int)_r));			\
		exit(1);						\
	}								\
} while (0)

static int frees;
static void count_free(struct udax_page *p, void *d) { (void)p; (void)d; frees++; }

int main(void)
{
	static const char msg[] = "hello from an installed libudax";
	static const struct udax_pgmap_ops ops = { .page_free = count_free };
	struct udax_pgmap_params mp = { .type = UDAX_PGMAP_DEVICE_PUBLIC, .ops = &ops };
	struct udax_pgmap *pgmap;
	struct udax_pgmap_info info;
	struct udax_page *page;
	struct udax_dev *dev = NULL;
	struct udax_fs *fs = NULL;
	struct udax_file *f;
	char buf[sizeof(msg)];

	if (udax_version() != UDAX_VERSION_CODE ||
	    strcmp(udax_version_string(), UDAX_VERSION_STRING)) {
		fprintf(stderr, "install_smoke: headers %s, library %s\n",
			UDAX_VERSION_STRING, udax_version_string());
		return 1;
	}

	CHECK(udax_dev_open("mem:8M", NULL, &dev));
	CHECK(udax_dev_mkpart(dev, NULL, 0, 0));
	CHECK(udax_mkfs(dev, 0, NULL));
	CHECK(udax_mount(dev, 0, NULL, &fs));
	CHECK(udax_open(fs, "/hello", O_RDWR | O_CREAT, 0644, &f));
	CHECK(udax_pwrite(f, msg, sizeof(msg), 0));
	CHECK(udax_pread(f, buf, sizeof(buf), 0));
	CHECK(udax_close(&f));
	CHECK(udax_unmount(&fs));
	CHECK(udax_dev_close(&dev, 0));
	if (memcmp(buf, msg, sizeof(msg)))
		return 1;

	/* A range with callbacks turns the key on: the put below must call
	 * page_free, through this program's patched site. */
	mp.size = 2u << 20;
	mp.addr = mmap(NULL, mp.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mp.addr == MAP_FAILED)
		return 1;
	CHECK(udax_pgmap_register(&mp, &pgmap));
	udax_pgmap_get_info(pgmap, &info);
	page = udax_pgmap_pfn_to_page(pgmap, info.pfn_first);
	udax_get_page(page);
	udax_put_page(page);
	CHECK(udax_pgmap_unregister(pgmap, 0, 0));
	if (frees != 1) {
		fprintf(stderr, "install_smoke: page_free ran %d times, want 1\n", frees);
		return 1;
	}
	printf("install_smoke: libudax %s: file system, managed put_page (%u key sites), ok\n",
	       udax_version_string(), udax_static_key_nr_sites(&udax_pagemap_managed_key));
	return 0;
}
