/* SPDX-License-Identifier: MIT */
/*
 * Allocations that fault injection can fail (UDAX_FAULT_MALLOC): the
 * library allocates through these (the fs, the io engine, the device
 * layer, the pagemap's registry), so that every -ENOMEM path can be
 * exercised.  Private to the library.
 */
#ifndef UDAX_FAULT_ALLOC_H
#define UDAX_FAULT_ALLOC_H

#include <stdlib.h>
#include <string.h>
#include <udax/fault.h>

static inline void *fault_malloc(size_t n)
{
	return udax_fault_should_fail(UDAX_FAULT_MALLOC) ? NULL : malloc(n);
}
static inline void *fault_calloc(size_t n, size_t size)
{
	return udax_fault_should_fail(UDAX_FAULT_MALLOC) ? NULL : calloc(n, size);
}
static inline void *fault_realloc(void *p, size_t n)
{
	return udax_fault_should_fail(UDAX_FAULT_MALLOC) ? NULL : realloc(p, n);
}
static inline void *fault_aligned_alloc(size_t align, size_t n)
{
	return udax_fault_should_fail(UDAX_FAULT_MALLOC) ? NULL : aligned_alloc(align, n);
}
static inline char *fault_strdup(const char *s)
{
	return udax_fault_should_fail(UDAX_FAULT_MALLOC) ? NULL : strdup(s);
}

#endif
