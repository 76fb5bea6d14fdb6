/* SPDX-License-Identifier: MIT */
/*
 * Loaded and unloaded by static_key_shared while the managed key toggles:
 * its sites must be registered when it loads (patched like everyone's) and
 * forgotten when it unloads (never written once its text is gone).
 */
#include "static_key_plugin.h"

__attribute__((visibility("default"))) void skp_put_page(struct udax_page *page)
{
	udax_put_page(page);
}

__attribute__((visibility("default"))) bool skp_key_on(void)
{
	return udax_static_branch_unlikely_extern(udax_pagemap_managed_key);
}

__attribute__((visibility("default"))) void
skp_table(const struct udax_jump_entry **start, const struct udax_jump_entry **stop)
{
#if UDAX_HAVE_JUMP_LABEL && defined(__x86_64__) && defined(__OPTIMIZE__)
	*start = __start___udax_jump_table;
	*stop = __stop___udax_jump_table;
#else
	*start = *stop = NULL;
#endif
}
