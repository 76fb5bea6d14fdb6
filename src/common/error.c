/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <udax/error.h>

/*
 * udax reports failures as negative errno values.  strerror() wording is
 * kept, except where udax gives an errno a more precise meaning.
 */
const char *udax_strerror(int err)
{
	if (err > 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case -EBUSY:
		/* Many causes (a mount, the device lock, open files, pinned
		 * pages): the layer's last_error() message names it. */
		return "device or resource busy (the udax_*_last_error() message "
		       "names the cause)";
	case -EOPNOTSUPP:
		return "operation not supported (e.g. pin on a limited range)";
	case -ECANCELED:
		return "cancelled (a wait or an io transfer)";
	case -EAGAIN:
		return "resource temporarily unavailable (e.g. io queue full)";
	case -ESHUTDOWN:
		return "shutting down (io engine or fixed buffer going away)";
	case -ETIMEDOUT:
		return "timed out";
	case -ESTALE:
		return "stale handle: the object was inherited across fork(); "
		       "open the device anew in the child";
	default:
		return strerror(-err);
	}
}
