/* SPDX-License-Identifier: MIT */
/*
 * Claims: the partitions of a device that a file system uses (mounted,
 * being checked, being made), known to the device so that nothing that
 * rewrites partitions runs under them.  The device refuses with -EBUSY,
 * naming the partition and what holds it: a new table (udax_dev_mkpart),
 * wiping the table (udax_dev_part_wipe), a second claim of any partition
 * overlapping a claimed one (a second mount, mkfs, fsck), and closing the
 * device.  A claim is a byte range taken from the table when claimed, so
 * a table re-read from media (udax_dev_part_read) that moved partitions
 * cannot let a new partition overlap a mounted one unnoticed.
 *
 * Internal to libudax (the fs layer takes them); not part of the API.
 */
#ifndef UDAX_DEV_CLAIM_H
#define UDAX_DEV_CLAIM_H

struct udax_dev;

/*
 * Claim partition @part of the loaded table for @what ("mounted", "being
 * checked by udax_fsck", "being made by udax_mkfs": a static string).
 * 0, -EBUSY (overlaps a claim: udax_dev_last_error() names it), or the
 * errors of udax_dev_part().  @fn names the caller in messages.
 */
int dev_claim(struct udax_dev *dev, unsigned part, const char *what,
	      const char *fn);
/* Drop the claim of partition @part (no-op if none). */
void dev_unclaim(struct udax_dev *dev, unsigned part);

#endif
