/* SPDX-License-Identifier: MIT */
/* The version of the library that runs, as opposed to the headers' macros. */
#include <udax/version.h>

unsigned udax_version(void)
{
	return UDAX_VERSION_CODE;
}

const char *udax_version_string(void)
{
	return UDAX_VERSION_STRING;
}
