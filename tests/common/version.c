/* SPDX-License-Identifier: MIT */
/*
 * The version macros of <udax/version.h> agree with each other and with
 * the library's udax_version() / udax_version_string(), and
 * UDAX_VERSION_CHECK orders versions component by component.
 */
#include <stdio.h>
#include <string.h>
#include <udax/version.h>

#include "testutil.h"

#if !UDAX_VERSION_CHECK(0, 0, 0) || UDAX_VERSION_CHECK(UDAX_VERSION_MAJOR + 1, 0, 0)
#error "UDAX_VERSION_CHECK must work in #if"
#endif

int main(void)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", UDAX_VERSION_MAJOR,
		 UDAX_VERSION_MINOR, UDAX_VERSION_PATCH);
	T_ASSERT(strcmp(want, UDAX_VERSION_STRING) == 0);
	T_ASSERT(strcmp(udax_version_string(), UDAX_VERSION_STRING) == 0);
	T_ASSERT(udax_version() == UDAX_VERSION_CODE);
	T_ASSERT(UDAX_VERSION_CODE == UDAX_VERSION_NUM(UDAX_VERSION_MAJOR, UDAX_VERSION_MINOR,
							UDAX_VERSION_PATCH));

	T_ASSERT(UDAX_VERSION_CHECK(UDAX_VERSION_MAJOR, UDAX_VERSION_MINOR, UDAX_VERSION_PATCH));
	T_ASSERT(!UDAX_VERSION_CHECK(UDAX_VERSION_MAJOR, UDAX_VERSION_MINOR, UDAX_VERSION_PATCH + 1));
	T_ASSERT(!UDAX_VERSION_CHECK(UDAX_VERSION_MAJOR, UDAX_VERSION_MINOR + 1, 0));
	T_ASSERT(UDAX_VERSION_NUM(1, 0, 0) > UDAX_VERSION_NUM(0, 255, 255));
	T_ASSERT(UDAX_VERSION_NUM(0, 2, 0) > UDAX_VERSION_NUM(0, 1, 255));
	printf("version: %s (0x%06x)\n", udax_version_string(), udax_version());
	return 0;
}
