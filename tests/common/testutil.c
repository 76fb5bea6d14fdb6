/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <udax/pagemap.h>

const char *t_errname(long err)
{
	return err < 0 ? udax_strerror((int)err) : "ok";
}

uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

long t_iters(long base)
{
	const char *s = getenv("UDAX_TEST_SCALE");
	long pct = s ? atol(s) : 100;

	if (pct <= 0)
		pct = 100;
	return base * pct / 100 > 0 ? base * pct / 100 : 1;
}

void *t_devmem(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

void t_devmem_free(void *p, size_t size)
{
	munmap(p, size);
}

int t_env_on(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}
