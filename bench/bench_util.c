/* SPDX-License-Identifier: MIT */
#include "bench_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bench_entry {
	char *key, *unit, *str;
	double value;
};

struct bench_report {
	char *name;
	struct bench_entry *e;
	size_t n, cap;
};

struct bench_report *bench_report_new(const char *name)
{
	struct bench_report *r = calloc(1, sizeof(*r));

	if (r)
		r->name = strdup(name);
	return r;
}

void bench_report_delete(struct bench_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->e[i].key);
		free(r->e[i].unit);
		free(r->e[i].str);
	}
	free(r->e);
	free(r->name);
	free(r);
}

static struct bench_entry *add(struct bench_report *r, const char *key)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct bench_entry *e = realloc(r->e, cap * sizeof(*e));

		if (!e)
			return NULL;
		r->e = e;
		r->cap = cap;
	}
	memset(&r->e[r->n], 0, sizeof(r->e[0]));
	r->e[r->n].key = strdup(key);
	return &r->e[r->n++];
}

/* ---- progress ------------------------------------------------------------- */

static int progress_tty = -1;		/* unknown, 0, 1 */
static bool progress_shown;

void bench_progress(const char *fmt, ...)
{
	va_list ap;

	if (progress_tty < 0)
		progress_tty = isatty(STDERR_FILENO);
	if (!progress_tty)
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	progress_shown = true;
}

void bench_progress_end(void)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		progress_shown = false;
	}
}

void bench_report(struct bench_report *r, const char *key, double value,
		  const char *unit)
{
	struct bench_entry *e = add(r, key);

	bench_progress_end();
	printf("%s %.6g %s\n", key, value, unit);
	fflush(stdout);
	if (e) {
		e->value = value;
		e->unit = strdup(unit);
	}
}

void bench_report_str(struct bench_report *r, const char *key, const char *value)
{
	struct bench_entry *e = add(r, key);

	bench_progress_end();
	printf("%s %s -\n", key, value);
	if (e)
		e->str = strdup(value);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_write(struct bench_report *r, FILE *f)
{
	fprintf(f, "{\"bench\":");
	json_str(f, r->name);
	fprintf(f, ",\"results\":{");
	for (size_t i = 0; i < r->n; i++) {
		struct bench_entry *e = &r->e[i];

		fprintf(f, "%s", i ? "," : "");
		json_str(f, e->key);
		if (e->str) {
			fputc(':', f);
			json_str(f, e->str);
			continue;
		}
		fprintf(f, ":{\"value\":");
		if (isfinite(e->value))
			fprintf(f, "%.6g", e->value);
		else
			fprintf(f, "null");
		fprintf(f, ",\"unit\":");
		json_str(f, e->unit ? e->unit : "");
		fputc('}', f);
	}
	fprintf(f, "}}\n");
}

int bench_report_json(struct bench_report *r, FILE *out, const char *path)
{
	if (out)
		json_write(r, out);
	if (path) {
		FILE *f = fopen(path, "w");

		if (!f)
			return -1;
		json_write(r, f);
		if (fclose(f))
			return -1;
	}
	return 0;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_percentile(double *v, size_t n, double pct)
{
	size_t i;

	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(pct / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double bench_mean(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : NAN;
}
