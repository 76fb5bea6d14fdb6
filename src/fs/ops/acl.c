/* SPDX-License-Identifier: MIT */
/*
 * fs ops: POSIX ACL arithmetic on the extended-attribute form (acl.h).
 * The rules are Linux's (fs/posix_acl.c: posix_acl_valid,
 * posix_acl_equiv_mode, posix_acl_create_masq, __posix_acl_chmod), so a
 * udax mount answers as a kernel file system with ACLs does.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/ops/acl.h"

#define ACL_VERSION	2
#define TAG_USER_OBJ	0x01
#define TAG_USER	0x02
#define TAG_GROUP_OBJ	0x04
#define TAG_GROUP	0x08
#define TAG_MASK	0x10
#define TAG_OTHER	0x20
#define ENT		8u

/* Entry @k of ACL @v (the bytes are little-endian, as on every host udax
 * builds for). */
static uint16_t tag(const void *v, unsigned k)
{
	uint16_t t;

	memcpy(&t, (const uint8_t *)v + 4 + k * ENT, 2);
	return t;
}

static uint16_t perm(const void *v, unsigned k)
{
	uint16_t p;

	memcpy(&p, (const uint8_t *)v + 6 + k * ENT, 2);
	return p;
}

static void set_perm(void *v, unsigned k, uint16_t p)
{
	memcpy((uint8_t *)v + 6 + k * ENT, &p, 2);
}

int fs_acl_check(const void *v, size_t n, unsigned *entries)
{
	enum { S_UOBJ, S_USER, S_GROUP, S_OTHER, S_DONE } state = S_UOBJ;
	bool needs_mask = false;
	uint32_t version;
	unsigned count;

	if (!v || n < 4)
		return -EINVAL;
	memcpy(&version, v, 4);
	if (version != ACL_VERSION)
		return -EOPNOTSUPP;
	if ((n - 4) % ENT)
		return -EINVAL;
	count = (unsigned)((n - 4) / ENT);
	*entries = count;
	for (unsigned k = 0; k < count; k++) {
		if (perm(v, k) & ~7u)
			return -EINVAL;
		switch (tag(v, k)) {
		case TAG_USER_OBJ:
			if (state != S_UOBJ)
				return -EINVAL;
			state = S_USER;
			break;
		case TAG_USER:
			if (state != S_USER)
				return -EINVAL;
			needs_mask = true;
			break;
		case TAG_GROUP_OBJ:
			if (state != S_USER)
				return -EINVAL;
			state = S_GROUP;
			break;
		case TAG_GROUP:
			if (state != S_GROUP)
				return -EINVAL;
			needs_mask = true;
			break;
		case TAG_MASK:
			if (state != S_GROUP)
				return -EINVAL;
			state = S_OTHER;
			break;
		case TAG_OTHER:
			if (state != S_OTHER && (state != S_GROUP || needs_mask))
				return -EINVAL;
			state = S_DONE;
			break;
		default:
			return -EINVAL;
		}
	}
	return count == 0 || state == S_DONE ? 0 : -EINVAL;
}

bool fs_acl_equiv_mode(const void *v, size_t n, uint32_t *mode)
{
	unsigned count = (unsigned)((n - 4) / ENT);
	uint32_t m = 0;
	bool equiv = true;

	for (unsigned k = 0; k < count; k++)
		switch (tag(v, k)) {
		case TAG_USER_OBJ:
			m |= (uint32_t)(perm(v, k) & 7) << 6;
			break;
		case TAG_GROUP_OBJ:
			m |= (uint32_t)(perm(v, k) & 7) << 3;
			break;
		case TAG_OTHER:
			m |= perm(v, k) & 7;
			break;
		case TAG_MASK:
			m = (m & ~(uint32_t)S_IRWXG) | (uint32_t)(perm(v, k) & 7) << 3;
			equiv = false;
			break;
		default:
			equiv = false;
		}
	/* The mask comes after the owning group: it wins. */
	*mode = (*mode & ~(uint32_t)0777) | m;
	return equiv;
}

bool fs_acl_create_masq(void *v, size_t n, uint32_t *mode)
{
	unsigned count = (unsigned)((n - 4) / ENT);
	uint32_t m = *mode & 0777;
	int group = -1, mask = -1;
	bool not_equiv = false;
	uint16_t p;

	for (unsigned k = 0; k < count; k++)
		switch (tag(v, k)) {
		case TAG_USER_OBJ:
			p = perm(v, k) & (uint16_t)(m >> 6);
			set_perm(v, k, p);
			m &= (uint32_t)p << 6 | ~(uint32_t)S_IRWXU;
			break;
		case TAG_USER:
		case TAG_GROUP:
			not_equiv = true;
			break;
		case TAG_GROUP_OBJ:
			group = (int)k;
			break;
		case TAG_MASK:
			mask = (int)k;
			not_equiv = true;
			break;
		case TAG_OTHER:
			p = perm(v, k) & (uint16_t)(m & 7);
			set_perm(v, k, p);
			m &= (uint32_t)p | ~(uint32_t)S_IRWXO;
			break;
		}
	if (mask >= 0 || group >= 0) {
		unsigned k = (unsigned)(mask >= 0 ? mask : group);

		p = perm(v, k) & (uint16_t)((m >> 3) & 7);
		set_perm(v, k, p);
		m &= (uint32_t)p << 3 | ~(uint32_t)S_IRWXG;
	}
	*mode = (*mode & ~(uint32_t)0777) | m;
	return not_equiv;
}

void fs_acl_chmod(void *v, size_t n, uint32_t mode)
{
	unsigned count = (unsigned)((n - 4) / ENT);
	int group = -1, mask = -1;

	for (unsigned k = 0; k < count; k++)
		switch (tag(v, k)) {
		case TAG_USER_OBJ:
			set_perm(v, k, (uint16_t)((mode >> 6) & 7));
			break;
		case TAG_GROUP_OBJ:
			group = (int)k;
			break;
		case TAG_MASK:
			mask = (int)k;
			break;
		case TAG_OTHER:
			set_perm(v, k, (uint16_t)(mode & 7));
			break;
		}
	if (mask >= 0 || group >= 0)
		set_perm(v, (unsigned)(mask >= 0 ? mask : group),
			 (uint16_t)((mode >> 3) & 7));
}
