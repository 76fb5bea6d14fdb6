/* SPDX-License-Identifier: MIT */
/*
 * fork() and the one-opener lock of a file device (its flock): the child
 * does not share it.  While the parent holds the device, the child's own
 * open of the file gets -EBUSY and its calls on the inherited device get
 * -ESTALE; once the parent closes the device, the child's open succeeds
 * (a child that kept a copy of the locked descriptor would keep the lock
 * alive and be refused); after the child is gone the parent opens it
 * again.  With and without libpmem2.
 */
#include <fcntl.h>
#include <udax/dev.h>

#include "dev_util.h"
#include "fork_util.h"

#define MiB	(1ull << 20)

static char dir[] = "/var/tmp/udax-forklock-XXXXXX";
static char spec[600];
static unsigned extra;
static struct udax_dev *dev;
static char *dev_addr;
static int c2p[2], p2c[2];

static void child(void *arg)
{
	struct udax_dev_opts o = { .flags = extra };
	struct udax_dev_info di;
	struct udax_dev *mine = NULL;
	char c = 'x';
	int ret;

	(void)arg;
	ret = udax_dev_open(spec, &o, &mine);
	if (ret != -EBUSY) {
		fprintf(stderr, "child: open while the parent holds it: %d (%s): %s\n",
			ret, t_errname(ret), udax_dev_last_error());
		_exit(1);
	}
	FORK_STALE(udax_dev_info(dev, &di), udax_dev_last_error());
	FORK_ASSERT(fork_store_faults(dev_addr));
	FORK_ASSERT(write(c2p[1], &c, 1) == 1);
	FORK_ASSERT(read(p2c[0], &c, 1) == 1);	/* the parent closed it */
	ret = udax_dev_open(spec, &o, &mine);
	if (ret) {
		fprintf(stderr, "child: open after the parent closed it: %d (%s): %s\n",
			ret, t_errname(ret), udax_dev_last_error());
		_exit(1);
	}
	FORK_ASSERT(udax_dev_mkpart(mine, NULL, 0, UDAX_MKPART_FORCE) == 0);
	FORK_ASSERT(udax_dev_close(&mine, 0) == 0);
}

static void run(unsigned flags)
{
	struct udax_dev_opts o = { .flags = UDAX_DEV_CREATE | flags, .size = 8 * MiB };
	struct udax_dev_info di;
	char path[512], c;
	pid_t pid;
	int st;

	extra = flags;
	snprintf(path, sizeof(path), "%s/dev%u.img", dir, flags);
	snprintf(spec, sizeof(spec), "file:%s", path);
	T_OK(udax_dev_open(spec, &o, &dev));
	T_OK(udax_dev_info(dev, &di));
	dev_addr = di.addr;
	T_ASSERT(pipe(c2p) == 0 && pipe(p2c) == 0);

	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		close(c2p[0]);
		close(p2c[1]);
		child(NULL);
		_exit(0);
	}
	/* A child that dies early ends the reads below (end of file). */
	close(c2p[1]);
	close(p2c[0]);
	T_ASSERT(read(c2p[0], &c, 1) == 1);
	T_OK(udax_dev_close(&dev, 0));
	T_ASSERT(write(p2c[1], &c, 1) == 1);
	T_ASSERT(waitpid(pid, &st, 0) == pid);
	T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	o.flags = flags;
	o.size = 0;
	T_OK(udax_dev_open(spec, &o, &dev));
	T_EXPECT_ERR(udax_dev_part_count(dev), 1);	/* the child's table */
	T_OK(udax_dev_close(&dev, 0));
	close(c2p[0]);
	close(p2c[1]);
	unlink(path);
}

int main(void)
{
	T_ASSERT(mkdtemp(dir));
	run(0);
	run(UDAX_DEV_NO_PMEM2);
	rmdir(dir);
	printf("fork_lock: child refused while the parent holds the file, "
	       "admitted after\n");
	return 0;
}
