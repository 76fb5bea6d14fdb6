/* SPDX-License-Identifier: MIT */
/*
 * Allocations that fault injection can fail (UDAX_FAULT_MALLOC): the
 * library's operation paths (fs, io) allocate through these, so that every
 * -ENOMEM path can be exercised.  Private to the library.
 */
#ifndef UDAX_FAULT_ALLOC_H
#define UDAX_FAULT_ALLOC_H

#include <stdlib.h>
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

#endif
