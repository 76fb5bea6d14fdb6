/* SPDX-License-Identifier: MIT */
/*
 * Benchmark reporting: every figure is printed as a "key value unit" line
 * as it is measured, and collected into one JSON object printed at the end
 * (and written to a file when asked).
 */
#ifndef UDAX_BENCH_UTIL_H
#define UDAX_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench_report;

struct bench_report *bench_report_new(const char *name);
void bench_report_delete(struct bench_report *r);
/* Print "key value unit" and remember it for the JSON object. */
void bench_report(struct bench_report *r, const char *key, double value,
		  const char *unit);
void bench_report_str(struct bench_report *r, const char *key, const char *value);
/* Print the JSON object to @out (and to @path if not NULL). */
int bench_report_json(struct bench_report *r, FILE *out, const char *path);

/*
 * Progress on a terminal: one line on stderr, rewritten in place, only when
 * stderr is a terminal (never in logs or pipes).  Report lines clear it
 * first.  bench_progress_end() clears it for good.
 */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_progress_end(void);

uint64_t bench_now_ns(void);
/* Sort @v and return the @pct percentile (0..100). */
double bench_percentile(double *v, size_t n, double pct);
double bench_mean(const double *v, size_t n);

/* A spin-wait's pause (lets the sibling hardware thread run). */
#if defined(__x86_64__) || defined(__i386__)
#define bench_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define bench_cpu_relax() __asm__ volatile("yield" ::: "memory")
#else
#define bench_cpu_relax() __asm__ volatile("" ::: "memory")
#endif

/* Keep the compiler from optimizing a value away. */
#define bench_keep(x) __asm__ volatile("" : : "r"(x) : "memory")

#endif
