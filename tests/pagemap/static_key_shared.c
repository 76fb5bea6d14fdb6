/* SPDX-License-Identifier: MIT */
/*
 * The static key with a shared libudax.  This program links libudax.so, so
 * the udax_put_page() sites inlined here are in its own jump table, not the
 * library's; a loader thread keeps dlopen'ing and dlclose'ing a plugin
 * (static_key_plugin.c) that has sites of its own.  The main thread toggles
 * the managed key by registering and unregistering a range with callbacks
 * while worker threads drop pages through the sites of both objects.
 *
 * After each toggle every site of the managed key, here and in the plugin
 * when it is loaded, must hold the byte of the key's state (patched mode:
 * 0x3d off, 0xe9 on): a table not registered at load would keep 0xe9, one
 * not released at unload would be written after its text is gone.  And
 * every drop of a managed page must take the managed path: a stale site
 * would skip page_free, the range would stay busy and the unregister
 * below would time out.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <udax/pagemap.h>

#include "static_key_plugin.h"
#include "testutil.h"

#if UDAX_HAVE_JUMP_LABEL && defined(__x86_64__) && defined(__OPTIMIZE__)
#define HAVE_SITES 1
#define OWN_START __start___udax_jump_table	/* this program's table */
#define OWN_STOP __stop___udax_jump_table
#else
#define HAVE_SITES 0
#define OWN_START NULL
#define OWN_STOP NULL
#endif

#define WORKERS 3

static _Atomic long frees, pairs, plugin_pairs, loads, main_frees;
static struct udax_page *_Atomic main_page;	/* the main thread's own */

static void count_free(struct udax_page *p, void *d)
{
	(void)d;
	if (p == atomic_load(&main_page))
		main_frees++;
	else
		frees++;
}
static const struct udax_pgmap_ops ops = { .page_free = count_free };

static struct udax_page *gpage;
static _Atomic unsigned long managed_pfn;
static _Atomic int stop;

/* The plugin, while loaded; changed under the write lock. */
static pthread_rwlock_t plug_lock = PTHREAD_RWLOCK_INITIALIZER;
static void *plug;
static skp_put_page_fn *plug_put;
static skp_key_on_fn *plug_key_on;
static skp_table_fn *plug_table;

/* Code bytes are read with asm: TSan has no shadow for the text. */
static unsigned char site_op(const unsigned char *p)
{
	unsigned char v;

	__asm__ volatile("movb %1, %0" : "=q"(v) : "m"(*p));
	return v;
}

static const struct udax_static_key *entry_key(const struct udax_jump_entry *e)
{
	uintptr_t a = (uintptr_t)&e->key + (uintptr_t)(intptr_t)e->key;

	if (a & UDAX_JUMP_ENTRY_REF)
		return *(struct udax_static_key *const *)(a - UDAX_JUMP_ENTRY_REF);
	return (const struct udax_static_key *)a;
}

/* Sites of the managed key in [start, stop): each must hold @want. */
static unsigned check_table(const char *who, const struct udax_jump_entry *start,
			    const struct udax_jump_entry *end, unsigned char want)
{
	unsigned nr = 0;

	for (const struct udax_jump_entry *e = start; e && e < end; e++) {
		const unsigned char *code =
			(const unsigned char *)((uintptr_t)&e->code + (uintptr_t)(intptr_t)e->code);
		unsigned char b;

		if (entry_key(e) != &udax_pagemap_managed_key)
			continue;
		b = site_op(code);
		if (b != want) {
			fprintf(stderr, "%s: site %p holds 0x%02x, want 0x%02x\n",
				who, (const void *)code, b, want);
			T_ASSERT(b == want);
		}
		nr++;
	}
	return nr;
}

static bool exe_key_on(void)
{
	return udax_static_branch_unlikely_extern(udax_pagemap_managed_key);
}

static unsigned base_sites;	/* the program's and the library's */

static void check_sites(bool on)
{
	bool patched = udax_static_key_mode(NULL) == UDAX_STATIC_KEY_PATCHED;
	unsigned char want = patched && !on ? 0x3d : 0xe9;
	unsigned own, nr;

	T_ASSERT(exe_key_on() == on);
	own = check_table("program", OWN_START, OWN_STOP, want);
	if (HAVE_SITES)
		T_ASSERT(own >= 2);	/* put_page in the worker, exe_key_on */
	pthread_rwlock_rdlock(&plug_lock);
	nr = udax_static_key_nr_sites(&udax_pagemap_managed_key);
	if (plug) {
		const struct udax_jump_entry *s, *e;
		unsigned n;

		T_ASSERT(plug_key_on() == on);
		plug_table(&s, &e);
		n = check_table("plugin", s, e, want);
		if (HAVE_SITES)
			T_ASSERT(n >= 2);
		T_ASSERT(nr == base_sites + n);
	} else {
		T_ASSERT(nr == base_sites);
	}
	pthread_rwlock_unlock(&plug_lock);
}

static void *loader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		pthread_rwlock_wrlock(&plug_lock);
		if (plug) {
			T_ASSERT(dlclose(plug) == 0);
			plug = NULL;
		} else {
			plug = dlopen(PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
			if (!plug) {
				fprintf(stderr, "dlopen: %s\n", dlerror());
				exit(1);
			}
			plug_put = (skp_put_page_fn *)dlsym(plug, "skp_put_page");
			plug_key_on = (skp_key_on_fn *)dlsym(plug, "skp_key_on");
			plug_table = (skp_table_fn *)dlsym(plug, "skp_table");
			T_ASSERT(plug_put && plug_key_on && plug_table);
			loads++;
		}
		pthread_rwlock_unlock(&plug_lock);
		for (volatile int spin = 0; spin < 20000; spin++)
			;
	}
	return NULL;
}

static void *worker(void *arg)
{
	int id = (int)(uintptr_t)arg;
	long n = 0, np = 0;

	while (!atomic_load(&stop)) {
		for (int i = 0; i < 64; i++) {
			udax_get_page(gpage);
			udax_put_page(gpage);
		}
		unsigned long pfn = atomic_load(&managed_pfn);
		struct udax_pgmap *pgmap = pfn ? udax_get_dev_pagemap(pfn + (unsigned long)id, NULL) : NULL;

		if (!pgmap)
			continue;
		/* Each worker has its own page: every pair is one idle
		 * transition, dropped through the plugin when it is there. */
		struct udax_page *page = udax_pgmap_pfn_to_page(pgmap, pfn + (unsigned long)id);

		T_ASSERT(udax_get_page(page));
		pthread_rwlock_rdlock(&plug_lock);
		if (plug && (n & 1)) {
			plug_put(page);
			np++;
		} else {
			udax_put_page(page);
		}
		pthread_rwlock_unlock(&plug_lock);
		udax_put_dev_pagemap(pgmap);
		n++;
	}
	pairs += n;
	plugin_pairs += np;
	return NULL;
}

int main(void)
{
	long rounds = t_iters(1000);
	size_t sz = 2ul << 20;
	char *mem = t_devmem(2 * sz);
	struct udax_pgmap_params gp = { .type = UDAX_PGMAP_GENERIC, .addr = mem, .size = sz };
	struct udax_pgmap_params mp = {
		.type = UDAX_PGMAP_DEVICE_PUBLIC, .addr = mem + sz, .size = sz, .ops = &ops,
	};
	struct udax_pgmap *generic, *managed;
	struct udax_pgmap_info info;
	enum udax_static_key_mode mode;
	const char *reason;
	pthread_t t[WORKERS], lt;

	base_sites = udax_static_key_nr_sites(&udax_pagemap_managed_key);
	check_sites(false);
	T_EXPECT_ERR(udax_pgmap_register(&gp, &generic), 0);
	udax_pgmap_get_info(generic, &info);
	gpage = udax_pgmap_pfn_to_page(generic, info.pfn_first);
	udax_get_page(gpage);		/* base reference */
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	pthread_create(&lt, NULL, loader, NULL);

	for (long k = 0; k < rounds; k++) {
		check_sites(false);
		T_EXPECT_ERR(udax_pgmap_register(&mp, &managed), 0);
		check_sites(true);
		udax_pgmap_get_info(managed, &info);
		/* One drop of our own, through the plugin when it is loaded:
		 * page_free runs in the dropping thread, before it returns. */
		struct udax_page *page = udax_pgmap_pfn_to_page(managed, info.pfn_first + WORKERS);
		long before = main_frees;

		atomic_store(&main_page, page);
		T_ASSERT(udax_get_page(page));
		pthread_rwlock_rdlock(&plug_lock);
		if (plug) {
			plug_put(page);
			plugin_pairs++;
		} else {
			udax_put_page(page);
		}
		pthread_rwlock_unlock(&plug_lock);
		T_ASSERT(main_frees == before + 1);
		atomic_store(&managed_pfn, info.pfn_first);
		for (volatile int spin = 0; spin < 20000; spin++)
			;
		check_sites(true);
		atomic_store(&managed_pfn, 0);
		/* Watchdog only: a lost managed put leaves the range busy. */
		T_EXPECT_ERR(udax_pgmap_unregister(managed, UDAX_UNREGISTER_WAIT, 10ll * 1000000000ll), 0);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	pthread_join(lt, NULL);
	check_sites(false);

	T_ASSERT(udax_page_ref_count(gpage) == 1);
	T_ASSERT(frees == pairs);
	T_ASSERT(main_frees == rounds);
	udax_put_page(gpage);
	T_EXPECT_ERR(udax_pgmap_unregister(generic, 0, 0), 0);
	mode = udax_static_key_mode(&reason);
	printf("static_key_shared: %ld key toggles (%s mode: %s), %u sites in the program and the library, "
	       "%ld plugin loads, %ld managed get/put pairs (%ld through the plugin), %ld page_free calls\n",
	       rounds, mode == UDAX_STATIC_KEY_PATCHED ? "patched" : "flag", reason, base_sites,
	       (long)loads, (long)(pairs + rounds), (long)plugin_pairs, (long)(frees + main_frees));
	return 0;
}
