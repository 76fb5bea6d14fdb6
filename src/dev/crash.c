/* SPDX-License-Identifier: MIT */
/*
 * Crash-state explorer (include/udax/crash.h, docs/crash.md).
 *
 * Recording keeps three images of the device and a log:
 *
 *   initial  the device at udax_crash_new(): the persisted image of fence 0
 *   known    per line, the content of its latest flush (or of the
 *            snapshot): what the device would hold if every flush reached
 *            media; the live mapping differing from it is an unflushed store
 *   cursor   the persisted image through fence cursor_k (image making)
 *
 * and the log of units: (offset, ub bytes as flushed) in flush order, with
 * estart[k] the first unit flushed after fence k.  A unit is a whole line
 * (ub = 64) or, for torn lines (ub = 8), one 8-byte word of it.  A flush of
 * a line whose content equals its latest version adds no unit: the
 * possible crash states are the same with it or without it, and epochs
 * stay small (a checkpoint rewriting a whole directory block changes one
 * or two lines).  Every other flush of a line adds a unit, even one that
 * restores older content, because at the next fence the last flushed
 * version wins.  With torn lines the same holds per word: a changed line
 * adds one unit per word that differs from that word's latest version.
 *
 * An image of fence k applies units [estart[k], estart[k + 1]) to a copy of
 * the cursor in flush order, the chosen ones only: for a line flushed
 * twice, any choice ends in one of its versions, which is exactly what the
 * hardware can leave (write-backs of one line do not pass each other); with
 * torn lines each word ends in one of its versions, independently.
 *
 * Per-thread fences (UDAX_CRASH_PER_THREAD_FENCES) add, per unit, the
 * thread that flushed it (utid), the fence of that thread's drain that
 * made it durable (dfence; NONE until then) and the next unit of the same
 * offset (unext).  A drain sets dfence for the units its thread flushed
 * since its previous drain; udax_crash_stop() then lists the units pending
 * at each fence (plist from pstart[k]): those of fence k - 1 not made
 * durable by fence k, then those flushed between fences k and k + 1.
 * Units of one line (word) reach media in flush order whoever flushed
 * them (cache coherence serialises the line), so a unit is never applied
 * over a later unit of its offset that is already durable: it is
 * "superseded".  Without the flag every unit of epoch k has dfence k + 1,
 * implicitly, and none of these arrays exist.
 */
#include <stddef.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udax/crash.h>

#include "dev/internal.h"

#define LINE		UDAX_CRASH_UNIT
#define DEF_EXHAUSTIVE	6
#define NONE		UINT64_MAX
#define KNOWN_FLAGS	(UDAX_CRASH_NO_PREFIXES | UDAX_CRASH_NO_SINGLES | \
			 UDAX_CRASH_NO_ALL_BUT | UDAX_CRASH_PER_THREAD_FENCES)

/* A recording thread, per-thread fences: its units not yet drained. */
struct crash_thread {
	uint64_t serial;		/* thread_serial() of the thread */
	uint64_t *pend, npend, pcap;
};

/* unit_bytes took reserved0's place: programs built against the older
 * header pass the same struct. */
_Static_assert(sizeof(struct udax_crash_opts) == 48 &&
	       offsetof(struct udax_crash_opts, unit_bytes) == 20,
	       "struct udax_crash_opts layout changed");

struct udax_crash {
	struct udax_dev *dev;
	unsigned long fork_gen;			/* the creator's (common/fork.h) */
	const struct udax_persist_ops *nops;	/* the device's own */
	void *nctx;
	struct udax_crash_opts o;
	uint8_t *live;			/* device mapping */
	uint64_t size;
	uint64_t first;			/* first tracked byte (after an altmap) */
	unsigned ub;			/* bytes of a unit: LINE or UDAX_CRASH_WORD */
	uint8_t *initial, *known, *cursor;
	uint64_t cursor_k;

	pthread_mutex_t lock;		/* recording state below */
	bool recording;
	uint64_t *uoff;			/* unit i: device offset */
	uint8_t *ubytes;		/* unit i: ub bytes at i * ub */
	uint64_t nunits, ucap;
	uint64_t *estart;		/* [0..nfences]: first unit of epoch k */
	uint64_t nfences, ecap;
	struct udax_crash_stats st;

	/* Per-thread fences only (NULL otherwise), see the top comment. */
	bool per_thread;
	uint32_t *utid;			/* unit i: index in thr[] */
	uint64_t *dfence;		/* unit i: fence that made it durable */
	uint64_t *unext;		/* unit i: next unit of its offset */
	uint64_t *slot_last;		/* per ub-sized slot: its latest unit */
	struct crash_thread *thr;
	uint32_t nthr, thrcap;
	uint64_t *pstart;		/* [0..nfences + 1] into plist */
	uint64_t *plist;		/* units pending at each fence */

	struct udax_crash_range *unfl;	/* found by udax_crash_stop() */
	long nunfl;
};

/* ---- deterministic pseudo-random numbers (splitmix64) --------------------- */

/* The seed of the @i-th random subset of fence @k. */
static uint64_t sample_seed(uint64_t base, uint64_t k, uint64_t i)
{
	uint64_t s = base;

	s ^= dev_splitmix64(&s) + k;
	s ^= dev_splitmix64(&s) + i;
	return dev_splitmix64(&s);
}

/* ---- recording --------------------------------------------------------------- */

/* Room for one more unit (uoff and ubytes share the capacity). */
static int unit_room(struct udax_crash *c)
{
	uint64_t n = c->ucap ? 2 * c->ucap : 1024;
	uint64_t *o;
	uint8_t *b;

	if (c->nunits < c->ucap)
		return 0;
	o = realloc(c->uoff, n * sizeof(*o));
	if (!o)
		return -ENOMEM;
	c->uoff = o;
	b = realloc(c->ubytes, n * c->ub);
	if (!b)
		return -ENOMEM;
	c->ubytes = b;
	if (c->per_thread) {
		uint32_t *t = realloc(c->utid, n * sizeof(*t));

		if (!t)
			return -ENOMEM;
		c->utid = t;
		o = realloc(c->dfence, n * sizeof(*o));
		if (!o)
			return -ENOMEM;
		c->dfence = o;
		o = realloc(c->unext, n * sizeof(*o));
		if (!o)
			return -ENOMEM;
		c->unext = o;
	}
	c->ucap = n;
	return 0;
}

/* A number for the calling thread, never reused by another thread
 * (pthread_t values are, after a join). */
static uint64_t thread_serial(void)
{
	static _Atomic uint64_t next = 1;
	static _Thread_local uint64_t mine;

	if (!mine)
		mine = next++;
	return mine;
}

/* The calling thread's index in c->thr, added on its first use; -ENOMEM.
 * Under c->lock. */
static int64_t thread_index(struct udax_crash *c)
{
	uint64_t me = thread_serial();
	struct crash_thread *t;

	for (uint32_t i = 0; i < c->nthr; i++)
		if (c->thr[i].serial == me)
			return i;
	if (c->nthr == c->thrcap) {
		uint32_t n = c->thrcap ? 2 * c->thrcap : 8;

		t = realloc(c->thr, n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		c->thr = t;
		c->thrcap = n;
	}
	c->thr[c->nthr] = (struct crash_thread){ .serial = me };
	return c->nthr++;
}

/* Per-thread fences: does a flush by thread @tid of a word (line) equal to
 * its latest version still need a unit?  Yes when that version is another
 * thread's unit not drained yet: this thread's drain makes it durable. */
static bool foreign_pending(const struct udax_crash *c, uint64_t off,
			    uint32_t tid)
{
	uint64_t u;

	if (!c->per_thread)
		return false;
	u = c->slot_last[off / c->ub];
	return u != NONE && c->utid[u] != tid && c->dfence[u] == NONE;
}

/* Per-thread bookkeeping of the new unit c->nunits - 1. */
static int track_unit(struct udax_crash *c, uint32_t tid)
{
	uint64_t u = c->nunits - 1, *slot = &c->slot_last[c->uoff[u] / c->ub];
	struct crash_thread *t = &c->thr[tid];

	if (t->npend == t->pcap) {
		uint64_t n = t->pcap ? 2 * t->pcap : 256;
		uint64_t *p = realloc(t->pend, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->pend = p;
		t->pcap = n;
	}
	t->pend[t->npend++] = u;
	c->utid[u] = tid;
	c->dfence[u] = NONE;
	c->unext[u] = NONE;
	if (*slot != NONE)
		c->unext[*slot] = u;
	*slot = u;
	return 0;
}

/* The units of line @l flushed by thread @tid, as it is now: the whole
 * line, or each word, that differs from its latest version (or that is
 * another thread's version not drained yet).  Under c->lock. */
static int record_line(struct udax_crash *c, uint64_t l, uint32_t tid)
{
	uint8_t line[LINE];
	int ret;

	/* One read of the live line: a word changing under the flush (a
	 * racing store) is recorded as the unit and the known version alike. */
	memcpy(line, c->live + l, LINE);
	for (unsigned w = 0; w < LINE; w += c->ub) {
		if (!memcmp(line + w, c->known + l + w, c->ub) &&
		    !foreign_pending(c, l + w, tid))
			continue;	/* this word's latest version again */
		ret = unit_room(c);
		if (ret)
			return ret;
		c->uoff[c->nunits] = l + w;
		memcpy(c->ubytes + c->nunits * c->ub, line + w, c->ub);
		c->nunits++;
		c->st.units++;
		if (c->per_thread) {
			ret = track_unit(c, tid);
			if (ret)
				return ret;
		}
	}
	memcpy(c->known + l, line, LINE);
	return 0;
}

/* Record a flush of [addr, addr + len): every line it touches, as now. */
static int record_flush(struct udax_crash *c, const void *addr, size_t len)
{
	uint64_t off = (uint64_t)((const uint8_t *)addr - c->live);
	uint64_t lo = off & ~(uint64_t)(LINE - 1);
	uint64_t hi = (off + len + LINE - 1) & ~(uint64_t)(LINE - 1);
	int64_t tid = 0;
	int ret = 0;

	if (!len)
		return 0;
	if (hi > c->size)
		hi = c->size;
	pthread_mutex_lock(&c->lock);
	c->st.flushes++;
	if (c->per_thread) {
		tid = thread_index(c);
		ret = tid < 0 ? (int)tid : 0;
	}
	for (uint64_t l = lo; l < hi && !ret; l += LINE) {
		c->st.lines++;
		/* Unchanged: the latest version again (which per-thread
		 * fences may still need, see record_line()). */
		if (c->per_thread || memcmp(c->live + l, c->known + l, LINE))
			ret = record_line(c, l, (uint32_t)tid);
	}
	pthread_mutex_unlock(&c->lock);
	if (ret)
		return dev_err(ret, "crash explorer: out of memory recording a flush");
	return 0;
}

/* A fence: the epoch's units are durable from here on (images apply
 * them in flush order when they pass this fence). */
static int record_fence(struct udax_crash *c)
{
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	if (c->nfences + 2 > c->ecap) {
		uint64_t n = c->ecap ? 2 * c->ecap : 256;
		uint64_t *e = realloc(c->estart, n * sizeof(*e));

		if (!e) {
			ret = -ENOMEM;
			goto out;
		}
		c->estart = e;
		c->ecap = n;
	}
	if (c->per_thread) {
		int64_t tid = thread_index(c);
		struct crash_thread *t;

		if (tid < 0) {
			ret = (int)tid;
			goto out;
		}
		t = &c->thr[tid];
		for (uint64_t i = 0; i < t->npend; i++)
			c->dfence[t->pend[i]] = c->nfences + 1;
		t->npend = 0;
	}
	c->estart[++c->nfences] = c->nunits;
	c->st.fences++;
out:
	pthread_mutex_unlock(&c->lock);
	if (ret)
		return dev_err(ret, "crash explorer: out of memory recording a fence");
	return 0;
}

static void count_store(struct udax_crash *c)
{
	pthread_mutex_lock(&c->lock);
	c->st.stores++;
	pthread_mutex_unlock(&c->lock);
}

/* ---- the hooks: record, then pass the call on ------------------------------ */

static int hk_flush(void *ctx, const void *addr, size_t len)
{
	struct udax_crash *c = ctx;
	int ret = record_flush(c, addr, len);

	return ret ? ret : c->nops->flush(c->nctx, addr, len);
}

static int hk_drain(void *ctx)
{
	struct udax_crash *c = ctx;
	int ret = c->nops->drain(c->nctx);

	return ret ? ret : record_fence(c);
}

static int hk_persist(void *ctx, const void *addr, size_t len)
{
	struct udax_crash *c = ctx;
	int ret = record_flush(c, addr, len);

	if (!ret)
		ret = c->nops->persist(c->nctx, addr, len);
	return ret ? ret : record_fence(c);
}

/* After a store of [dst, dst + len) through the interface, as @flags say
 * (the same rules as the device's own: NOFLUSH means no drain either). */
static int after_store(struct udax_crash *c, const void *dst, size_t len,
		       unsigned flags)
{
	int ret;

	count_store(c);
	if (flags & UDAX_PERSIST_NOFLUSH)
		return 0;
	ret = record_flush(c, dst, len);
	if (ret || (flags & UDAX_PERSIST_NODRAIN))
		return ret;
	return record_fence(c);
}

static int hk_memcpy(void *ctx, void *dst, const void *src, size_t len,
		     unsigned flags)
{
	struct udax_crash *c = ctx;
	int ret = c->nops->memcpy_persist(c->nctx, dst, src, len, flags);

	return ret ? ret : after_store(c, dst, len, flags);
}

static int hk_memset(void *ctx, void *dst, int v, size_t len, unsigned flags)
{
	struct udax_crash *c = ctx;
	int ret = c->nops->memset_persist(c->nctx, dst, v, len, flags);

	return ret ? ret : after_store(c, dst, len, flags);
}

static const struct udax_persist_ops crash_ops = {
	.flush = hk_flush,
	.drain = hk_drain,
	.persist = hk_persist,
	.memcpy_persist = hk_memcpy,
	.memset_persist = hk_memset,
};

/* ---- life cycle ------------------------------------------------------------- */

/* An explorer inherited across fork(): its device is not mapped here. */
static int crash_inherited(const char *fn)
{
	return dev_err(-FORK_ERRNO, "%s: the explorer is unusable here: "
		       FORK_HINT, fn);
}

int udax_crash_new(struct udax_dev *dev, const struct udax_crash_opts *opts,
		   struct udax_crash **out)
{
	struct udax_crash_opts o = { 0 };
	struct udax_dev_info info;
	struct udax_crash *c;
	int ret;

	if (!dev || !out)
		return dev_err(-EINVAL, "udax_crash_new: dev and out are required");
	ret = dev_owned(dev, __func__);
	if (ret)
		return ret;
	if (opts)
		o = *opts;
	for (size_t i = 0; i < sizeof(o.reserved) / sizeof(o.reserved[0]); i++)
		if (o.reserved[i])
			return dev_err(-EINVAL, "udax_crash_new: reserved options must be zero");
	if (o.flags & ~KNOWN_FLAGS)
		return dev_err(-EINVAL, "udax_crash_new: unknown flags 0x%x", o.flags);
	if (!o.unit_bytes)
		o.unit_bytes = LINE;
	if (o.unit_bytes != LINE && o.unit_bytes != UDAX_CRASH_WORD)
		return dev_err(-EINVAL, "udax_crash_new: unit_bytes %u is neither %u "
			       "(cache lines) nor %u (torn lines, 8-byte words)",
			       o.unit_bytes, LINE, UDAX_CRASH_WORD);
	if (o.exhaustive_max > UDAX_CRASH_EXHAUSTIVE_LIMIT)
		return dev_err(-EINVAL, "udax_crash_new: exhaustive_max %u exceeds %u",
			       o.exhaustive_max, UDAX_CRASH_EXHAUSTIVE_LIMIT);
	if (!o.exhaustive_max)
		o.exhaustive_max = DEF_EXHAUSTIVE;
	ret = udax_dev_info(dev, &info);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return dev_err(-ENOMEM, "udax_crash_new: out of memory");
	c->dev = dev;
	c->fork_gen = fork_gen();
	c->o = o;
	c->ub = o.unit_bytes;
	c->live = info.addr;
	c->size = info.size;
	/* A page array in the device (ALTMAP) is not persistent data. */
	c->first = info.altmap_bytes & ~(uint64_t)(LINE - 1);
	c->initial = malloc(c->size);
	c->known = malloc(c->size);
	c->cursor = malloc(c->size);
	c->ecap = 256;
	c->estart = calloc(c->ecap, sizeof(*c->estart));
	c->per_thread = o.flags & UDAX_CRASH_PER_THREAD_FENCES;
	if (c->per_thread) {
		c->slot_last = malloc(c->size / c->ub * sizeof(*c->slot_last));
		if (c->slot_last)
			memset(c->slot_last, 0xff, c->size / c->ub * sizeof(*c->slot_last));
	}
	if (!c->initial || !c->known || !c->cursor || !c->estart ||
	    (c->per_thread && !c->slot_last)) {
		udax_crash_delete(&c);
		return dev_err(-ENOMEM, "udax_crash_new: no memory for 3 images of "
			       "%" PRIu64 " bytes", info.size);
	}
	pthread_mutex_init(&c->lock, NULL);
	memcpy(c->initial, c->live, c->size);
	memcpy(c->known, c->initial, c->size);
	udax_dev_native_persist_ops(dev, &c->nops, &c->nctx);
	ret = udax_dev_set_persist_hooks(dev, &crash_ops, c);
	if (ret) {
		udax_crash_delete(&c);
		return ret;
	}
	c->recording = true;
	*out = c;
	return 0;
}

/* Ranges where the device differs from @ref: whole lines, or with @exact
 * the very bytes that differ; fills at most @max of @r, returns the
 * total. */
static long diff_ranges(const struct udax_crash *c, const uint8_t *ref,
			struct udax_crash_range *r, size_t max, bool exact)
{
	long n = 0;
	uint64_t start = 0;
	bool in = false;

	for (uint64_t l = c->first; l <= c->size; l += LINE) {
		bool dl = l < c->size && memcmp(c->live + l, ref + l, LINE);
		/* A differing line, exactly: byte by byte; else as one. */
		uint64_t step = dl && exact ? 1 : LINE;

		for (uint64_t b = l; b < l + LINE && b <= c->size; b += step) {
			bool d = step == 1 ? c->live[b] != ref[b] : dl;

			if (d && !in) {
				start = b;
				in = true;
			} else if (!d && in) {
				if ((size_t)n < max)
					r[n] = (struct udax_crash_range){ start, b - start };
				n++;
				in = false;
			}
		}
	}
	return n;
}

/* Per-thread fences: the units pending at each fence (see the top). */
static int list_pending(struct udax_crash *c)
{
	uint64_t *cur = NULL, ncur = 0, len = 0, cap = 0;
	int ret = -ENOMEM;

	c->pstart = malloc((c->nfences + 2) * sizeof(*c->pstart));
	cur = malloc((c->nunits + 1) * sizeof(*cur));
	if (!c->pstart || !cur)
		goto out;
	for (uint64_t k = 0; k <= c->nfences; k++) {
		uint64_t end = k < c->nfences ? c->estart[k + 1] : c->nunits, m = 0;

		for (uint64_t i = 0; i < ncur; i++)
			if (c->dfence[cur[i]] > k)
				cur[m++] = cur[i];
		for (uint64_t u = c->estart[k]; u < end; u++)
			cur[m++] = u;
		ncur = m;
		if (len + ncur > cap) {
			uint64_t n = 2 * (len + ncur) + 1024;
			uint64_t *p = realloc(c->plist, n * sizeof(*p));

			if (!p)
				goto out;
			c->plist = p;
			cap = n;
		}
		c->pstart[k] = len;
		memcpy(c->plist + len, cur, ncur * sizeof(*cur));
		len += ncur;
	}
	c->pstart[c->nfences + 1] = len;
	ret = 0;
out:
	free(cur);
	return ret;
}

int udax_crash_stop(struct udax_crash *c)
{
	long n;

	if (!c)
		return dev_err(-EINVAL, "udax_crash_stop: NULL explorer");
	if (fork_inherited(c->fork_gen))	/* reads the device */
		return crash_inherited(__func__);
	if (!c->recording)
		return 0;
	udax_dev_set_persist_hooks(c->dev, NULL, NULL);
	c->recording = false;
	n = diff_ranges(c, c->known, NULL, 0, false);
	if (n) {
		c->unfl = calloc(n, sizeof(*c->unfl));
		if (!c->unfl)
			return dev_err(-ENOMEM, "udax_crash_stop: out of memory");
		diff_ranges(c, c->known, c->unfl, n, false);
	}
	c->nunfl = n;
	if (c->per_thread && list_pending(c))
		return dev_err(-ENOMEM, "udax_crash_stop: out of memory");
	memcpy(c->cursor, c->initial, c->size);
	c->cursor_k = 0;
	return 0;
}

void udax_crash_delete(struct udax_crash **cp)
{
	struct udax_crash *c = cp ? *cp : NULL;

	if (!c)
		return;
	if (fork_inherited(c->fork_gen)) {	/* the parent's */
		crash_inherited("udax_crash_delete");
		return;
	}
	if (c->recording)
		udax_dev_set_persist_hooks(c->dev, NULL, NULL);
	free(c->initial);
	free(c->known);
	free(c->cursor);
	free(c->uoff);
	free(c->ubytes);
	free(c->estart);
	free(c->unfl);
	free(c->utid);
	free(c->dfence);
	free(c->unext);
	free(c->slot_last);
	for (uint32_t i = 0; i < c->nthr; i++)
		free(c->thr[i].pend);
	free(c->thr);
	free(c->pstart);
	free(c->plist);
	if (c->nops)
		pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

/* ---- queries ------------------------------------------------------------------ */

int udax_crash_stats(const struct udax_crash *c, struct udax_crash_stats *st)
{
	if (!c || !st)
		return dev_err(-EINVAL, "udax_crash_stats: bad argument");
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	*st = c->st;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
	return 0;
}

uint64_t udax_crash_fences(const struct udax_crash *c)
{
	uint64_t n;

	if (!c)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	n = c->nfences;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
	return n;
}

long udax_crash_unflushed(struct udax_crash *c, struct udax_crash_range *r,
			  size_t max)
{
	long n;

	if (!c || (!r && max))
		return dev_err(-EINVAL, "udax_crash_unflushed: bad argument");
	if (fork_inherited(c->fork_gen))	/* reads the device */
		return crash_inherited(__func__);
	if (c->recording) {
		pthread_mutex_lock(&c->lock);
		n = diff_ranges(c, c->known, r, max, false);
		pthread_mutex_unlock(&c->lock);
		return n;
	}
	for (long i = 0; i < c->nunfl && (size_t)i < max; i++)
		r[i] = c->unfl[i];
	return c->nunfl;
}

long udax_crash_unflushed_bytes(struct udax_crash *c, struct udax_crash_range *r,
				size_t max)
{
	long n;

	if (!c || (!r && max))
		return dev_err(-EINVAL, "udax_crash_unflushed_bytes: bad argument");
	if (fork_inherited(c->fork_gen))	/* reads the device */
		return crash_inherited(__func__);
	if (!c->recording)
		return dev_err(-EINVAL, "udax_crash_unflushed_bytes: not recording");
	pthread_mutex_lock(&c->lock);
	n = diff_ranges(c, c->known, r, max, true);
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Units of fence @k: [*first, *first + *n) of the unit log, or with
 * per-thread fences of its list (unit_at() maps them).  Not recording.
 * On error the range is empty: callers' outputs are defined on every path
 * (the compiler cannot see that dev_err() returns its negative @err). */
static int epoch_units(const struct udax_crash *c, const char *fn, uint64_t k,
		       uint64_t *first, uint64_t *n)
{
	*first = 0;
	*n = 0;
	if (!c)
		return dev_err(-EINVAL, "%s: NULL explorer", fn);
	if (c->recording)
		return dev_err(-EBUSY, "%s: still recording (udax_crash_stop first)", fn);
	if (k > c->nfences)
		return dev_err(-ERANGE, "%s: fence %" PRIu64 " of %" PRIu64, fn,
			       k, c->nfences);
	if (c->per_thread) {
		*first = c->pstart[k];
		*n = c->pstart[k + 1] - *first;
		return 0;
	}
	*first = c->estart[k];
	*n = (k < c->nfences ? c->estart[k + 1] : c->nunits) - *first;
	return 0;
}

/* The log index of the @i-th unit of an epoch from epoch_units(). */
static uint64_t unit_at(const struct udax_crash *c, uint64_t first, uint64_t i)
{
	return c->per_thread ? c->plist[first + i] : first + i;
}

/* Per-thread fences: is a later unit of @u's offset durable at fence @k?
 * (Then @u cannot be what media holds: units of one offset land in flush
 * order.)  Durable at k means flushed before fence k. */
static bool superseded(const struct udax_crash *c, uint64_t u, uint64_t k)
{
	for (uint64_t v = c->unext[u]; v != NONE && v < c->estart[k]; v = c->unext[v])
		if (c->dfence[v] <= k)
			return true;
	return false;
}

static void apply_unit(const struct udax_crash *c, uint8_t *img, uint64_t u)
{
	memcpy(img + c->uoff[u], c->ubytes + u * c->ub, c->ub);
}

/*
 * The plan of a sampled epoch of n units, in order: none, all, prefixes
 * 1..n-1, singles, all-but-one (each family unless opts.flags leave it
 * out), then the random subsets.
 */
struct family {
	unsigned flag;
	enum udax_crash_subset_kind kind;
};
static const struct family families[] = {
	{ UDAX_CRASH_NO_PREFIXES, UDAX_CRASH_PREFIX },
	{ UDAX_CRASH_NO_SINGLES, UDAX_CRASH_SINGLE },
	{ UDAX_CRASH_NO_ALL_BUT, UDAX_CRASH_ALL_BUT },
};

static uint64_t family_count(const struct family *f, uint64_t n)
{
	return f->kind == UDAX_CRASH_PREFIX ? n - 1 : n;
}

static uint64_t structured_count(const struct udax_crash *c, uint64_t n)
{
	uint64_t t = 2;			/* none, all */

	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		if (!(c->o.flags & families[f].flag))
			t += family_count(&families[f], n);
	return t;
}

int udax_crash_epoch(const struct udax_crash *c, uint64_t k,
		     struct udax_crash_epoch *e)
{
	uint64_t first, n;
	int ret = epoch_units(c, __func__, k, &first, &n);

	if (ret)
		return ret;
	if (!e)
		return dev_err(-EINVAL, "udax_crash_epoch: e is NULL");
	e->units = n;
	e->exhaustive = n <= c->o.exhaustive_max;
	e->subsets = e->exhaustive ? 1ull << n : structured_count(c, n) + c->o.samples;
	return 0;
}

int udax_crash_subset_nth(const struct udax_crash *c, uint64_t k, uint64_t i,
			  struct udax_crash_subset *s)
{
	struct udax_crash_epoch e;
	int ret = udax_crash_epoch(c, k, &e);
	uint64_t n;

	if (ret)
		return ret;
	n = e.units;
	if (!s)
		return dev_err(-EINVAL, "udax_crash_subset_nth: s is NULL");
	if (i >= e.subsets)
		return dev_err(-ENOENT, "udax_crash_subset_nth: fence %" PRIu64
			       " has %" PRIu64 " subsets", k, e.subsets);
	if (e.exhaustive) {
		*s = (struct udax_crash_subset){ UDAX_CRASH_MASK, i };
		return 0;
	}
	if (i < 2) {
		*s = (struct udax_crash_subset){ UDAX_CRASH_PREFIX, i * n };
		return 0;
	}
	i -= 2;
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		uint64_t cnt = family_count(&families[f], n);

		if (c->o.flags & families[f].flag)
			continue;
		if (i < cnt) {
			*s = (struct udax_crash_subset){ families[f].kind,
				families[f].kind == UDAX_CRASH_PREFIX ? i + 1 : i };
			return 0;
		}
		i -= cnt;
	}
	*s = (struct udax_crash_subset){ UDAX_CRASH_RANDOM,
					 sample_seed(c->o.seed, k, i) };
	return 0;
}

/* ---- subsets and images ------------------------------------------------------- */

/* A subset as a walk over units 0..n-1. */
struct pick {
	struct udax_crash_subset s;
	uint64_t rng, threshold;
};

static int pick_start(struct pick *p, const struct udax_crash_subset *s,
		      uint64_t n, const char *fn)
{
	if (!s)
		return dev_err(-EINVAL, "%s: subset is NULL", fn);
	p->s = *s;
	switch (s->kind) {
	case UDAX_CRASH_MASK:
		if (n < 64 && (s->arg >> n))
			goto range;
		return 0;
	case UDAX_CRASH_PREFIX:
		if (s->arg > n)
			goto range;
		return 0;
	case UDAX_CRASH_SINGLE:
	case UDAX_CRASH_ALL_BUT:
		if (s->arg >= n)
			goto range;
		return 0;
	case UDAX_CRASH_RANDOM:
		/* The seed draws a density in [1/8, 7/8] first, so that
		 * sparse and dense subsets both occur (but rarely none or
		 * all: those are planned anyway), then each unit with it. */
		p->rng = s->arg;
		p->threshold = (UINT64_MAX / 8) + (dev_splitmix64(&p->rng) / 4) * 3;
		return 0;
	}
	return dev_err(-EINVAL, "%s: unknown subset kind %d", fn, (int)s->kind);
range:
	return dev_err(-ERANGE, "%s: subset %d:%" PRIu64 " does not fit %" PRIu64
		       " units", fn, (int)s->kind, s->arg, n);
}

/* Whether unit @u is chosen; must be asked for u = 0, 1, 2, ... in order
 * (a random subset draws one number per unit). */
static bool pick_next(struct pick *p, uint64_t u)
{
	switch (p->s.kind) {
	case UDAX_CRASH_MASK:
		return u < 64 && ((p->s.arg >> u) & 1);
	case UDAX_CRASH_PREFIX:
		return u < p->s.arg;
	case UDAX_CRASH_SINGLE:
		return u == p->s.arg;
	case UDAX_CRASH_ALL_BUT:
		return u != p->s.arg;
	case UDAX_CRASH_RANDOM:
		return dev_splitmix64(&p->rng) < p->threshold;
	}
	return false;
}

int udax_crash_subset_has(const struct udax_crash *c, uint64_t k,
			  const struct udax_crash_subset *s, uint64_t u)
{
	uint64_t first, n;
	struct pick p;
	int ret = epoch_units(c, __func__, k, &first, &n);
	bool in = false;

	if (!ret)
		ret = pick_start(&p, s, n, __func__);
	if (ret)
		return ret;
	if (u >= n)
		return dev_err(-ERANGE, "udax_crash_subset_has: unit %" PRIu64
			       " of %" PRIu64, u, n);
	for (uint64_t i = 0; i <= u; i++)
		in = pick_next(&p, i);
	return in;
}

int64_t udax_crash_unit_offset(const struct udax_crash *c, uint64_t k,
			       uint64_t u)
{
	uint64_t first, n;
	int ret = epoch_units(c, __func__, k, &first, &n);

	if (ret)
		return ret;
	if (u >= n)
		return dev_err(-ERANGE, "udax_crash_unit_offset: unit %" PRIu64
			       " of %" PRIu64, u, n);
	return (int64_t)c->uoff[unit_at(c, first, u)];
}

/* Make the cursor the persisted image through fence @k. */
static void cursor_seek(struct udax_crash *c, uint64_t k)
{
	if (c->cursor_k > k) {
		memcpy(c->cursor, c->initial, c->size);
		c->cursor_k = 0;
	}
	for (; c->cursor_k < k; c->cursor_k++) {
		uint64_t f = c->cursor_k + 1;

		if (!c->per_thread) {
			for (uint64_t u = c->estart[f - 1]; u < c->estart[f]; u++)
				apply_unit(c, c->cursor, u);
			continue;
		}
		/* Fence f makes durable some of the units pending at f - 1. */
		for (uint64_t i = c->pstart[f - 1]; i < c->pstart[f]; i++) {
			uint64_t u = c->plist[i];

			if (c->dfence[u] == f && !superseded(c, u, f))
				apply_unit(c, c->cursor, u);
		}
	}
}

int udax_crash_image(struct udax_crash *c, uint64_t k,
		     const struct udax_crash_subset *s, void *dst)
{
	uint64_t first, n;
	struct pick p;
	int ret = epoch_units(c, __func__, k, &first, &n);

	if (!ret)
		ret = pick_start(&p, s, n, __func__);
	if (ret)
		return ret;
	if (!dst)
		return dev_err(-EINVAL, "udax_crash_image: dst is NULL");
	cursor_seek(c, k);
	memcpy(dst, c->cursor, c->size);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t u = unit_at(c, first, i);

		if (pick_next(&p, i) && !(c->per_thread && superseded(c, u, k)))
			apply_unit(c, dst, u);
	}
	return 0;
}

/* ---- subsets as text ------------------------------------------------------------ */

static const struct {
	enum udax_crash_subset_kind kind;
	const char *name;
	bool hex;
} kinds[] = {
	{ UDAX_CRASH_MASK, "mask", true },
	{ UDAX_CRASH_PREFIX, "prefix", false },
	{ UDAX_CRASH_SINGLE, "single", false },
	{ UDAX_CRASH_ALL_BUT, "all-but", false },
	{ UDAX_CRASH_RANDOM, "seed", true },
};

int udax_crash_subset_format(const struct udax_crash_subset *s, char *buf,
			     size_t len)
{
	for (size_t i = 0; s && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == s->kind)
			return snprintf(buf, len, kinds[i].hex ? "%s:0x%" PRIx64 :
					"%s:%" PRIu64, kinds[i].name, s->arg);
	return dev_err(-EINVAL, "udax_crash_subset_format: bad subset");
}

int udax_crash_subset_parse(const char *str, struct udax_crash_subset *s)
{
	for (size_t i = 0; str && s && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t l = strlen(kinds[i].name);
		char *end;

		if (strncmp(str, kinds[i].name, l) || str[l] != ':')
			continue;
		errno = 0;
		s->arg = strtoull(str + l + 1, &end, 0);
		if (errno || end == str + l + 1 || *end || str[l + 1] == '-')
			break;
		s->kind = kinds[i].kind;
		return 0;
	}
	return dev_err(-EINVAL, "udax_crash_subset_parse: '%s' is not one of "
		       "mask:M, prefix:N, single:U, all-but:U, seed:S",
		       str ? str : "(null)");
}
