/* SPDX-License-Identifier: MIT */
/* A dlopen'ed object with put_page sites of its own (static_key_shared). */
#ifndef STATIC_KEY_PLUGIN_H
#define STATIC_KEY_PLUGIN_H

#include <udax/pagemap.h>

/* udax_put_page(), inlined here: a site in the plugin's own table. */
void skp_put_page(struct udax_page *page);
/* The managed key as a site of the plugin sees it. */
bool skp_key_on(void);
/* The plugin's jump table (NULLs when it was built without sites). */
void skp_table(const struct udax_jump_entry **start,
	       const struct udax_jump_entry **stop);

typedef void skp_put_page_fn(struct udax_page *page);
typedef bool skp_key_on_fn(void);
typedef void skp_table_fn(const struct udax_jump_entry **start,
			  const struct udax_jump_entry **stop);

#endif
