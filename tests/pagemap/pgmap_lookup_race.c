/* SPDX-License-Identifier: MIT */
/*
 * Lookups and page references racing registration and removal.  Readers
 * look up pfns and addresses of slots that a writer keeps registering and
 * unregistering; with a range found they check it is the one of that slot
 * and take and drop a page reference through it.  If unregistering ever
 * freed a range that a reader still used (a lookup reference or a held
 * page), AddressSanitizer reports the use after free; a wrong range
 * returned, or a page_free count that does not match the first references
 * taken, fails the test.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <udax/pagemap.h>

#include "testutil.h"

#define SLOTS 4
#define SLOT_SIZE (2ul << 20)

static char *mem;
static _Atomic unsigned long slot_pfn[SLOTS];	/* 0: not registered */
static _Atomic int stop;
static _Atomic long frees, firsts, found, refused;
static _Atomic int bad;

static void count_free(struct udax_page *p, void *d) { (void)p; (void)d; frees++; }
static const struct udax_pgmap_ops ops = { .page_free = count_free };

static void *reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	while (!atomic_load(&stop)) {
		struct udax_pgmap *pgmap;
		struct udax_pgmap_info info;
		unsigned long pfn = 0;
		bool by_pfn;
		int s;

		seed = seed * 1103515245u + 12345u;
		s = (int)((seed >> 8) % SLOTS);
		by_pfn = seed & 0x80000000u;
		if (by_pfn) {
			/* The snapshot may be stale: the pfn may belong to
			 * a newer range by now, of any slot. */
			pfn = atomic_load(&slot_pfn[s]);
			if (!pfn)
				continue;
			pfn += (seed >> 12) % 256;
			pgmap = udax_get_dev_pagemap(pfn, NULL);
		} else {
			pgmap = udax_get_dev_pagemap_addr(mem + s * SLOT_SIZE + (seed >> 12) % SLOT_SIZE, NULL);
		}
		if (!pgmap)
			continue;
		found++;
		udax_pgmap_get_info(pgmap, &info);
		if (by_pfn ? pfn - info.pfn_first >= info.nr_pages
			   : (char *)info.addr != mem + s * SLOT_SIZE) {
			bad = 1;	/* not the range asked for */
		} else {
			struct udax_page *page = udax_pgmap_pfn_to_page(pgmap,
						info.pfn_first + (seed >> 4) % 16);
			if (udax_get_page(page))
				firsts++;
			/* Drop the range reference first: the held page alone
			 * must keep the range from being freed. */
			udax_put_dev_pagemap(pgmap);
			pgmap = NULL;
			udax_put_page(page);
		}
		udax_put_dev_pagemap(pgmap);
	}
	return NULL;
}

int main(void)
{
	long rounds = t_iters(3000);
	struct udax_pgmap *reg[SLOTS] = { 0 };
	pthread_t t[3];
	unsigned seed = 99;

	mem = t_devmem(SLOTS * SLOT_SIZE);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, reader, (void *)(uintptr_t)(i + 1));
	for (long k = 0; k < rounds; k++) {
		int s;

		seed = seed * 1103515245u + 12345u;
		s = (int)((seed >> 8) % SLOTS);
		if (!reg[s]) {
			struct udax_pgmap_params p = {
				.type = (seed >> 20) & 1 ? UDAX_PGMAP_FS_DAX : UDAX_PGMAP_DEVICE_PUBLIC,
				.addr = mem + s * SLOT_SIZE, .size = SLOT_SIZE,
			};
			struct udax_pgmap_info info;

			p.ops = &ops;
			T_EXPECT_ERR(udax_pgmap_register(&p, &reg[s]), 0);
			udax_pgmap_get_info(reg[s], &info);

			atomic_store(&slot_pfn[s], info.pfn_first);
		} else {
			unsigned flags = (seed >> 21) & 1 ? UDAX_UNREGISTER_WAIT : 0;
			int ret = udax_pgmap_unregister(reg[s], flags, -1);

			if (ret == -EBUSY) {
				refused++;
				continue;
			}
			T_EXPECT_ERR(ret, 0);
			reg[s] = NULL;
			atomic_store(&slot_pfn[s], 0);
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	for (int s = 0; s < SLOTS; s++)
		if (reg[s])
			T_EXPECT_ERR(udax_pgmap_unregister(reg[s], 0, 0), 0);
	T_ASSERT(!bad);
	printf("pgmap_lookup_race: %ld rounds, %ld ranges found, %ld unregisters refused (busy), %ld first refs, %ld idle callbacks\n",
	       rounds, (long)found, (long)refused, (long)firsts, (long)frees);
	T_ASSERT(frees == firsts);
	T_ASSERT(!udax_static_key_enabled(&udax_pagemap_managed_key));
	return 0;
}
