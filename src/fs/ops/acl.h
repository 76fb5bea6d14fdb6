/* SPDX-License-Identifier: MIT */
/*
 * fs ops: POSIX ACLs in their extended-attribute form, as Linux passes
 * them through system.posix_acl_access and system.posix_acl_default:
 * a 4-byte version (2), then 8-byte entries { u16 tag, u16 perm, u32 id },
 * little-endian, in the order the kernel's posix_acl_valid() accepts
 * (owner, named users, owning group, named groups, mask, other).
 *
 * These are the rules a file system applies to them (the kernel's
 * fs/posix_acl.c does for a kernel file system; over FUSE the server
 * must): the mode follows an access ACL that is set, an ACL that the
 * mode says whole is not stored, chmod rewrites the access ACL, and a new
 * inode takes its directory's default ACL.  acl.c holds the arithmetic;
 * xattr.c applies it to the blocks, in the transactions of setxattr,
 * setattr and create.
 */
#ifndef UDAX_FS_ACL_H
#define UDAX_FS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FS_ACL_ACCESS	"system.posix_acl_access"
#define FS_ACL_DEFAULT	"system.posix_acl_default"

/* 0 for a valid ACL of @n bytes at @v (*@entries: how many; 0 means "no
 * ACL", as the kernel reads it); -EOPNOTSUPP for another version, -EINVAL
 * for anything else malformed. */
int fs_acl_check(const void *v, size_t n, unsigned *entries);

/* The permission bits a valid ACL gives (owner, mask or owning group,
 * other) in @mode's low 9 bits; true when the ACL says no more than that
 * (only the three base entries: it need not be stored). */
bool fs_acl_equiv_mode(const void *v, size_t n, uint32_t *mode);

/* A new inode's access ACL from its directory's default ACL (a copy at
 * @v, changed in place) and its requested @mode (changed: the ACL masks
 * it); true when the result must be stored (not equivalent to the mode). */
bool fs_acl_create_masq(void *v, size_t n, uint32_t *mode);

/* chmod of a file with access ACL @v: owner, mask (or owning group) and
 * other entries take @mode's bits. */
void fs_acl_chmod(void *v, size_t n, uint32_t mode);

#endif
