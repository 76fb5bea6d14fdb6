/* SPDX-License-Identifier: MIT */
/*
 * Threads sharing udax descriptors through libudax-preload.so (run by
 * preload_test.sh threads, argv[1] the prefix): appends through one O_APPEND
 * descriptor never interleave, reads through one descriptor's offset never
 * return the same bytes twice, and F_OFD_SETLKW waits for the lock's owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NT	4
#define NREC	2000
#define RECSZ	64

static const char *root;
static int fd;
static int seen[NT][NREC];
static int lock_state;		/* 0 held by main, 1 released, 2 taken by the waiter */

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "preload_threads:%d: %s failed (errno %d: %s)\n", \
			__LINE__, #cond, errno, strerror(errno));	\
		exit(1);						\
	}								\
} while (0)

static void *appender(void *arg)
{
	int t = (int)(long)arg;
	char rec[RECSZ];

	for (int i = 0; i < NREC; i++) {
		memset(rec, 'a' + t, sizeof(rec));
		snprintf(rec, sizeof(rec), "%d %d ", t, i);
		CHECK(write(fd, rec, sizeof(rec)) == RECSZ);
	}
	return NULL;
}

static void *reader(void *arg)
{
	char rec[RECSZ];
	ssize_t n;

	while ((n = read(fd, rec, sizeof(rec))) > 0) {
		int t, i;

		CHECK(n == RECSZ && sscanf(rec, "%d %d ", &t, &i) == 2);
		CHECK(t >= 0 && t < NT && i >= 0 && i < NREC);
		CHECK(rec[RECSZ - 1] == 'a' + t);	/* one writer's record, whole */
		__atomic_add_fetch(&seen[t][i], 1, __ATOMIC_RELAXED);
	}
	CHECK(n == 0);
	return NULL;
}

static void *waiter(void *arg)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	int fd2 = (int)(long)arg;

	CHECK(fcntl(fd2, F_OFD_SETLKW, &fl) == 0);
	CHECK(__atomic_load_n(&lock_state, __ATOMIC_ACQUIRE) == 1);
	__atomic_store_n(&lock_state, 2, __ATOMIC_RELEASE);
	return NULL;
}

int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	pthread_t th[NT];
	char path[4096];
	struct stat st;
	int fd2;

	if (argc != 2)
		return 2;
	root = argv[1];
	snprintf(path, sizeof(path), "%s/threads", root);
	fd = open(path, O_CREAT | O_RDWR | O_APPEND, 0644);
	CHECK(fd >= 0);
	for (long t = 0; t < NT; t++)
		CHECK(pthread_create(&th[t], NULL, appender, (void *)t) == 0);
	for (int t = 0; t < NT; t++)
		CHECK(pthread_join(th[t], NULL) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)NT * NREC * RECSZ);

	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	for (long t = 0; t < NT; t++)
		CHECK(pthread_create(&th[t], NULL, reader, NULL) == 0);
	for (int t = 0; t < NT; t++)
		CHECK(pthread_join(th[t], NULL) == 0);
	for (int t = 0; t < NT; t++)
		for (int i = 0; i < NREC; i++)
			CHECK(seen[t][i] == 1);

	CHECK(fcntl(fd, F_OFD_SETLK, &fl) == 0);
	fd2 = open(path, O_RDWR);
	CHECK(fd2 >= 0);
	CHECK(pthread_create(&th[0], NULL, waiter, (void *)(long)fd2) == 0);
	usleep(100000);
	CHECK(__atomic_load_n(&lock_state, __ATOMIC_ACQUIRE) == 0);	/* still waiting */
	__atomic_store_n(&lock_state, 1, __ATOMIC_RELEASE);
	fl.l_type = F_UNLCK;
	CHECK(fcntl(fd, F_OFD_SETLK, &fl) == 0);
	CHECK(pthread_join(th[0], NULL) == 0 && lock_state == 2);
	CHECK(close(fd2) == 0 && close(fd) == 0);
	printf("preload_threads: ok\n");
	return 0;
}
