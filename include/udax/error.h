/* SPDX-License-Identifier: MIT */
/* udax errors: negative errno values, with messages. */
#ifndef UDAX_ERROR_H
#define UDAX_ERROR_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#ifdef __cplusplus
extern "C" {
#endif

/* Message for a negative errno value returned by a udax function. */
const char *udax_strerror(int err);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
