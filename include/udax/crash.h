/* SPDX-License-Identifier: MIT */
/*
 * udax crash-state explorer: a test mode of the persistence interface.
 *
 * udax_crash_new() hooks a device's persistence calls (include/udax/dev.h)
 * and records every store made through them, every flush and every fence,
 * while passing each call on to the device's own persistence.  Afterwards it
 * produces the images a power failure could have left on the device:
 *
 *   image(k, S) = the device as persisted through fence k
 *                 + the subset S of the units pending at fence k
 *
 * A unit is one 64-byte cache line as it was when a flush covered it
 * (content at flush time, not at fence time), or, with opts.unit_bytes = 8
 * (torn lines), one changed 8-byte word of such a line: persistent memory
 * guarantees only 8-byte atomic stores, so a line may reach media in part.
 * The units pending at fence k
 * are those flushed after fence k and before fence k + 1 (for the last
 * fence: flushed and never fenced); they may reach media in any order, so
 * any subset is a possible crash state.  Stores that were never flushed
 * are lost: no image holds them, and udax_crash_unflushed() reports them.
 * Fence 0 is the start (the snapshot taken by udax_crash_new()).
 *
 * Subsets: an epoch of at most opts.exhaustive_max units is explored
 * exhaustively (all 2^n subsets, as masks); a larger one is sampled: none,
 * all, every other prefix (in flush order), every single unit, every "all
 * but one" (opts.flags may leave these three families out), and
 * opts.samples random subsets, each given by a 64-bit seed.
 * udax_crash_image() of the same fence and subset always gives the same
 * image: (fence, subset) replays a crash state.
 *
 * Fences: by default a drain makes every pending unit durable, whoever
 * flushed it (exact for one thread, optimistic for several: hardware
 * orders only the draining thread's own flushes).  With
 * opts.flags |= UDAX_CRASH_PER_THREAD_FENCES each unit remembers the thread
 * that flushed it and a drain makes durable only that thread's units.
 * Fence k is still the k-th drain of any thread (0: the start), and a
 * crash "at fence k" is one after drain k and before drain k + 1; the
 * units pending at fence k are then every unit flushed before drain k + 1
 * that no drain of its own thread at or before fence k made durable, in
 * flush order.  A unit of a thread that has not drained yet stays pending
 * at every later fence until it does.  Everything else (plans, subsets,
 * seeds, (fence, subset) replay) works on that list as on an epoch.
 *
 * The model (64- or 8-byte atomicity, fences, what is not modelled) and
 * the memory it needs are described in docs/crash.md.
 *
 * Errors are negative errno values with a message in udax_dev_last_error().
 * One explorer per device at a time; calls on one explorer must not run
 * concurrently with each other (the hooks themselves are thread-safe).
 */
#ifndef UDAX_CRASH_H
#define UDAX_CRASH_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <udax/dev.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udax_crash;

#define UDAX_CRASH_UNIT			64	/* bytes of a cache line: the default unit */
#define UDAX_CRASH_WORD			8	/* bytes of an atomic store: the torn unit */
#define UDAX_CRASH_EXHAUSTIVE_LIMIT	24	/* most units an exhaustive epoch may have */

/* Leave families of structured subsets out of the sampled epochs' plan
 * (cheaper plans for quick runs); none and all are always in it. */
enum {
	UDAX_CRASH_NO_PREFIXES = 1u << 0,
	UDAX_CRASH_NO_SINGLES = 1u << 1,
	UDAX_CRASH_NO_ALL_BUT = 1u << 2,
	/* Per-thread fences: a drain makes durable only the units its own
	 * thread flushed (see "Fences" below and docs/crash.md). */
	UDAX_CRASH_PER_THREAD_FENCES = 1u << 3,
};

struct udax_crash_opts {
	/* Epochs with at most this many pending units are explored with all
	 * 2^n subsets; 0: 6; at most UDAX_CRASH_EXHAUSTIVE_LIMIT. */
	unsigned exhaustive_max;
	/* Random subsets per sampled epoch, besides the structured ones. */
	unsigned samples;
	/* Base of the sampled subsets' seeds (any value, 0 included). */
	uint64_t seed;
	unsigned flags;			/* UDAX_CRASH_* */
	/* Bytes of a unit: 0 or UDAX_CRASH_UNIT, whole lines; UDAX_CRASH_WORD,
	 * each changed 8-byte word of a flushed line on its own, so that
	 * images hold torn lines.  Anything else is -EINVAL.  (This was
	 * reserved0: the struct's size and layout are unchanged.) */
	unsigned unit_bytes;
	uint64_t reserved[3];		/* must be zero */
};

/*
 * Snapshot the whole device as the persisted image of fence 0 and hook its
 * persistence (replacing any hooks installed before).  @opts may be NULL.
 * Errors: -EINVAL, -ENOMEM.
 */
int udax_crash_new(struct udax_dev *dev, const struct udax_crash_opts *opts,
		   struct udax_crash **out);

/*
 * End recording: scan the device for stores that were never flushed (kept
 * for udax_crash_unflushed()) and give the device its own persistence
 * back.  Idempotent.  Images can only be made after this.
 */
int udax_crash_stop(struct udax_crash *c);

/* Stop if needed, free everything; *@c becomes NULL.  NULL is a no-op. */
void udax_crash_delete(struct udax_crash **c);

struct udax_crash_stats {
	uint64_t stores;	/* memcpy_persist / memset_persist calls */
	uint64_t flushes;	/* flush calls, persist and *_persist included */
	uint64_t fences;	/* drains: the crash points are 0..fences */
	uint64_t lines;		/* lines covered by flushes */
	uint64_t units;		/* units recorded: of those lines, the ones whose
				 * content changed (their changed words with
				 * unit_bytes 8) */
};
int udax_crash_stats(const struct udax_crash *c, struct udax_crash_stats *st);

/* Fences recorded so far (usable while recording to mark where the
 * program's own operations start and end). */
uint64_t udax_crash_fences(const struct udax_crash *c);

/* A byte range of the device (offsets from device byte 0). */
struct udax_crash_range {
	uint64_t off, len;
};

/*
 * Stores that no flush covered: line-aligned ranges whose content on the
 * device differs from what the last flush of that line (or the snapshot)
 * recorded.  While recording this scans the device now (stores not flushed
 * YET); after udax_crash_stop() it gives what the stop found (never
 * flushed).  Fills at most @max ranges (merged, ascending) and returns the
 * total number of ranges.
 */
long udax_crash_unflushed(struct udax_crash *c, struct udax_crash_range *r,
			  size_t max);
/*
 * While recording: the bytes stored and not flushed yet, exactly (runs of
 * bytes that differ from the last flushed content of their line, not
 * whole lines), so that a caller can check each against what makes it
 * safe (e.g. a committed journal transaction that redoes it).  Fills at
 * most @max ranges (ascending) and returns the total number.  -EINVAL
 * after udax_crash_stop().
 */
long udax_crash_unflushed_bytes(struct udax_crash *c, struct udax_crash_range *r,
				size_t max);

enum udax_crash_subset_kind {
	UDAX_CRASH_MASK = 1,	/* arg: bit i = unit i (n <= 64) */
	UDAX_CRASH_PREFIX,	/* the first arg units (0: none, n: all) */
	UDAX_CRASH_SINGLE,	/* unit arg only */
	UDAX_CRASH_ALL_BUT,	/* every unit except unit arg */
	UDAX_CRASH_RANDOM,	/* arg: a seed; each unit drawn from it */
};

struct udax_crash_subset {
	enum udax_crash_subset_kind kind;
	uint64_t arg;
};

struct udax_crash_epoch {
	uint64_t units;		/* pending at this fence (see "Fences") */
	uint64_t subsets;	/* planned: 2^units, or the sampled count */
	bool exhaustive;
};

/* Describe fence @k (0 <= k <= fences).  -ERANGE beyond; -EBUSY while
 * still recording. */
int udax_crash_epoch(const struct udax_crash *c, uint64_t k,
		     struct udax_crash_epoch *e);

/* The @i-th planned subset of fence @k (i < epoch.subsets; -ENOENT past
 * the end).  Random subsets get seeds derived from opts.seed, k and i. */
int udax_crash_subset_nth(const struct udax_crash *c, uint64_t k, uint64_t i,
			  struct udax_crash_subset *s);

/*
 * Write image(k, @s) into @dst (the device's size).  Any subset of fence
 * k's units is accepted, planned or not.  -ERANGE (k, or a unit index or
 * mask beyond the epoch), -EINVAL, -EBUSY while recording.  Cheapest when
 * k ascends from call to call (the persisted image is advanced, not
 * rebuilt).
 */
int udax_crash_image(struct udax_crash *c, uint64_t k,
		     const struct udax_crash_subset *s, void *dst);

/* Whether unit @u of fence @k is in @s (0/1), or -errno. */
int udax_crash_subset_has(const struct udax_crash *c, uint64_t k,
			  const struct udax_crash_subset *s, uint64_t u);

/* Device offset of unit @u of fence @k (for reports; a line's, or with
 * unit_bytes 8 a word's), or -errno. */
int64_t udax_crash_unit_offset(const struct udax_crash *c, uint64_t k,
			       uint64_t u);

/*
 * Subsets as text, for replay lines: "mask:0x5", "prefix:3", "single:4",
 * "all-but:2", "seed:0x1234abcd".  Format returns the length snprintf
 * would; parse returns 0 or -EINVAL.
 */
int udax_crash_subset_format(const struct udax_crash_subset *s, char *buf,
			     size_t len);
int udax_crash_subset_parse(const char *str, struct udax_crash_subset *s);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif /* UDAX_CRASH_H */
