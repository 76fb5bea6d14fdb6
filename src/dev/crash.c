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

/* unit_bytes took reserved0's place: programs built against the older
 * header pass the same struct. */
_Static_assert(sizeof(struct udax_crash_opts) == 48 &&
	       offsetof(struct udax_crash_opts, unit_bytes) == 20,
	       "struct udax_crash_opts layout changed");

struct udax_crash {
	struct udax_dev *dev;
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

	struct udax_crash_range *unfl;	/* found by udax_crash_stop() */
	long nunfl;
};

/* ---- deterministic pseudo-random numbers (splitmix64) --------------------- */

static uint64_t mix_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The seed of the @i-th random subset of fence @k. */
static uint64_t sample_seed(uint64_t base, uint64_t k, uint64_t i)
{
	uint64_t s = base;

	s ^= mix_next(&s) + k;
	s ^= mix_next(&s) + i;
	return mix_next(&s);
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
	c->ucap = n;
	return 0;
}

/* The units of changed line @l as it is now: the whole line, or each word
 * that differs from its latest version.  Under c->lock. */
static int record_line(struct udax_crash *c, uint64_t l)
{
	uint8_t line[LINE];
	int ret;

	/* One read of the live line: a word changing under the flush (a
	 * racing store) is recorded as the unit and the known version alike. */
	memcpy(line, c->live + l, LINE);
	for (unsigned w = 0; w < LINE; w += c->ub) {
		if (c->ub < LINE && !memcmp(line + w, c->known + l + w, c->ub))
			continue;	/* this word's latest version again */
		ret = unit_room(c);
		if (ret)
			return ret;
		c->uoff[c->nunits] = l + w;
		memcpy(c->ubytes + c->nunits * c->ub, line + w, c->ub);
		c->nunits++;
		c->st.units++;
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
	int ret = 0;

	if (!len)
		return 0;
	if (hi > c->size)
		hi = c->size;
	pthread_mutex_lock(&c->lock);
	c->st.flushes++;
	for (uint64_t l = lo; l < hi && !ret; l += LINE) {
		c->st.lines++;
		if (memcmp(c->live + l, c->known + l, LINE))
			ret = record_line(c, l);
		/* else: the latest version again */
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

int udax_crash_new(struct udax_dev *dev, const struct udax_crash_opts *opts,
		   struct udax_crash **out)
{
	struct udax_crash_opts o = { 0 };
	struct udax_dev_info info;
	struct udax_crash *c;
	int ret;

	if (!dev || !out)
		return dev_err(-EINVAL, "udax_crash_new: dev and out are required");
	if (opts)
		o = *opts;
	for (size_t i = 0; i < sizeof(o.reserved) / sizeof(o.reserved[0]); i++)
		if (o.reserved[i])
			return dev_err(-EINVAL, "udax_crash_new: reserved options must be zero");
	if (o.flags & ~(UDAX_CRASH_NO_PREFIXES | UDAX_CRASH_NO_SINGLES |
			UDAX_CRASH_NO_ALL_BUT))
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
	if (!c->initial || !c->known || !c->cursor || !c->estart) {
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

/* Line-aligned ranges where the device differs from @ref; fills at most
 * @max of @r, returns the total. */
static long diff_ranges(const struct udax_crash *c, const uint8_t *ref,
			struct udax_crash_range *r, size_t max)
{
	long n = 0;
	uint64_t start = 0;
	bool in = false;

	for (uint64_t l = c->first; l <= c->size; l += LINE) {
		bool d = l < c->size && memcmp(c->live + l, ref + l, LINE);

		if (d && !in) {
			start = l;
			in = true;
		} else if (!d && in) {
			if ((size_t)n < max)
				r[n] = (struct udax_crash_range){ start, l - start };
			n++;
			in = false;
		}
	}
	return n;
}

int udax_crash_stop(struct udax_crash *c)
{
	long n;

	if (!c)
		return dev_err(-EINVAL, "udax_crash_stop: NULL explorer");
	if (!c->recording)
		return 0;
	udax_dev_set_persist_hooks(c->dev, NULL, NULL);
	c->recording = false;
	n = diff_ranges(c, c->known, NULL, 0);
	if (n) {
		c->unfl = calloc(n, sizeof(*c->unfl));
		if (!c->unfl)
			return dev_err(-ENOMEM, "udax_crash_stop: out of memory");
		diff_ranges(c, c->known, c->unfl, n);
	}
	c->nunfl = n;
	memcpy(c->cursor, c->initial, c->size);
	c->cursor_k = 0;
	return 0;
}

void udax_crash_delete(struct udax_crash **cp)
{
	struct udax_crash *c = cp ? *cp : NULL;

	if (!c)
		return;
	if (c->recording)
		udax_dev_set_persist_hooks(c->dev, NULL, NULL);
	free(c->initial);
	free(c->known);
	free(c->cursor);
	free(c->uoff);
	free(c->ubytes);
	free(c->estart);
	free(c->unfl);
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
	if (c->recording) {
		pthread_mutex_lock(&c->lock);
		n = diff_ranges(c, c->known, r, max);
		pthread_mutex_unlock(&c->lock);
		return n;
	}
	for (long i = 0; i < c->nunfl && (size_t)i < max; i++)
		r[i] = c->unfl[i];
	return c->nunfl;
}

/* Units of fence @k: [*first, *first + *n).  Not recording. */
static int epoch_units(const struct udax_crash *c, const char *fn, uint64_t k,
		       uint64_t *first, uint64_t *n)
{
	if (!c)
		return dev_err(-EINVAL, "%s: NULL explorer", fn);
	if (c->recording)
		return dev_err(-EBUSY, "%s: still recording (udax_crash_stop first)", fn);
	if (k > c->nfences)
		return dev_err(-ERANGE, "%s: fence %" PRIu64 " of %" PRIu64, fn,
			       k, c->nfences);
	*first = c->estart[k];
	*n = (k < c->nfences ? c->estart[k + 1] : c->nunits) - *first;
	return 0;
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
	uint64_t n = e.units;

	if (ret)
		return ret;
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
		p->threshold = (UINT64_MAX / 8) + (mix_next(&p->rng) / 4) * 3;
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
		return mix_next(&p->rng) < p->threshold;
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
	return (int64_t)c->uoff[first + u];
}

/* Make the cursor the persisted image through fence @k. */
static void cursor_seek(struct udax_crash *c, uint64_t k)
{
	if (c->cursor_k > k) {
		memcpy(c->cursor, c->initial, c->size);
		c->cursor_k = 0;
	}
	for (; c->cursor_k < k; c->cursor_k++)
		for (uint64_t u = c->estart[c->cursor_k];
		     u < c->estart[c->cursor_k + 1]; u++)
			memcpy(c->cursor + c->uoff[u], c->ubytes + u * c->ub, c->ub);
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
	for (uint64_t u = 0; u < n; u++)
		if (pick_next(&p, u))
			memcpy((uint8_t *)dst + c->uoff[first + u],
			       c->ubytes + (first + u) * c->ub, c->ub);
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
