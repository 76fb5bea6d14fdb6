/* SPDX-License-Identifier: MIT */
/*
 * Partition claims (claim.h): which partitions are in use, so that the
 * partition table and mkfs never change one under a mounted file system.
 * A handful of entries under the device lock: taken at mount and unmount,
 * checked by the few calls that rewrite partitions; nothing hot.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "dev/claim.h"
#include "dev/internal.h"

static const struct dev_claim *claim_overlapping(const struct udax_dev *dev,
						 uint64_t offset, uint64_t size)
{
	for (unsigned i = 0; i < dev->nr_claims; i++) {
		const struct dev_claim *c = &dev->claims[i];

		if (c->offset < offset + size && offset < c->offset + c->size)
			return c;
	}
	return NULL;
}

int dev_check_unclaimed(struct udax_dev *dev, uint64_t offset, uint64_t size,
			const char *fn)
{
	const struct dev_claim *c = claim_overlapping(dev, offset, size);

	if (!c)
		return 0;
	return dev_err(-EBUSY, "%s: partition %u of %s (offset %" PRIu64 ", %"
		       PRIu64 " MiB) is %s; %s", fn, c->part, dev->spec,
		       c->offset, c->size >> 20, c->what,
		       strcmp(c->what, "mounted") ? "wait until it is done" :
		       "unmount it first");
}

int dev_claim(struct udax_dev *dev, unsigned part, const char *what,
	      const char *fn)
{
	struct udax_part_info pi;
	int ret;

	/* udax_dev_part() takes the lock itself; the table cannot change
	 * between it and the claim: mkpart and wipe refuse while anything
	 * is claimed, and re-reading checks claims too. */
	ret = udax_dev_part(dev, part, &pi);
	if (ret)
		return ret;
	pthread_mutex_lock(&dev->lock);
	ret = dev_check_unclaimed(dev, pi.offset, pi.size, fn);
	if (!ret && dev->nr_claims == UDAX_DEV_MAX_PARTS)
		ret = dev_err(-EBUSY, "%s: %s has %u partitions in use already",
			      fn, dev->spec, dev->nr_claims);
	if (!ret)
		dev->claims[dev->nr_claims++] = (struct dev_claim){
			.offset = pi.offset, .size = pi.size, .part = part,
			.what = what,
		};
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

void dev_unclaim(struct udax_dev *dev, unsigned part)
{
	pthread_mutex_lock(&dev->lock);
	for (unsigned i = 0; i < dev->nr_claims; i++) {
		if (dev->claims[i].part == part) {
			dev->claims[i] = dev->claims[--dev->nr_claims];
			break;
		}
	}
	pthread_mutex_unlock(&dev->lock);
}
