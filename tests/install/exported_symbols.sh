#!/bin/sh
# SPDX-License-Identifier: MIT
# Only udax names leave libudax.  Every defined global symbol of libudax.a
# and every exported (dynamic) symbol of libudax.so must start with udax_,
# or with __udax_ for the few that the headers' inline functions call
# (udax_put_page -> __udax_page_idle) and programs must not call directly;
# the .so's symbols must carry the version node UDAX_<n> of
# src/libudax.map, whose own name is the one other entry allowed.  No
# exception is needed for the static key: each object's
# __start/__stop___udax_jump_table are hidden (include/udax/static_key.h),
# defined by the linker in the object that has the sites, and stay
# undefined references in libudax.a.  In AddressSanitizer builds each
# exported variable has its one-definition-rule indicator
# __odr_asan.<name>, allowed for udax names only.
#
# The other way round, every function the public headers declare (outside
# static inline ones) must be exported by each library: a declaration left
# out of the headers' visibility(default) region would be hidden.
#
# usage: exported_symbols.sh NM LIBUDAX.a LIBUDAX.so|- [HEADER...]
# (the headers of the layers built; none: no declaration check)
set -eu
nm=$1 a=$2 so=$3
shift 3
[ "$so" = - ] && so=
fail=0

# Functions declared with their return type on the same line, not static.
declared=$([ $# -eq 0 ] || grep -hE '^[A-Za-z_][A-Za-z0-9_ *]*[ *](__)?udax_[a-z0-9_]+\(' "$@" |
	grep -v '^static' | grep -oE '(__)?udax_[a-z0-9_]+\(' | tr -d '(' |
	grep -vx '__udax_jump_table_load\|__udax_jump_table_unload' | sort -u)
[ $# -eq 0 ] || [ "$(printf '%s\n' "$declared" | wc -l)" -gt 100 ] ||
	{ echo "too few declarations found in $*" >&2; fail=1; }
exported() {	# $1: library, stdin: its defined global names
	missing=$(sort -u | comm -13 - "$tmp")
	if [ -n "$missing" ]; then
		echo "$1: declared in the headers but not exported:" $missing >&2
		return 1
	fi
}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "$declared" >"$tmp"

check() {	# $1: what, stdin: names
	n=0 bad=0
	while read -r name; do
		n=$((n + 1))
		case $name in
		udax_*|__udax_*|__odr_asan.udax_*|__odr_asan.__udax_*) ;;
		*) echo "$1: exports $name" >&2; bad=$((bad + 1)) ;;
		esac
	done
	echo "$1: $n symbols, $bad not udax_/__udax_"
	[ "$n" -gt 100 ] || { echo "$1: too few symbols: is it libudax?" >&2; bad=1; }
	[ "$bad" -eq 0 ]
}

# Global defined symbols of the archive: "addr TYPE name".
"$nm" -g --defined-only "$a" | awk 'NF == 3 { print $3 }' | check "$a" || fail=1
"$nm" -g --defined-only "$a" | awk 'NF == 3 { print $3 }' | exported "$a" || fail=1

if [ -n "$so" ]; then
	# name@@UDAX_x, and the version node itself: UDAX_x (GNU nm) or
	# UDAX_x@@UDAX_x (llvm-nm).
	syms=$("$nm" -D --defined-only "$so" | awk '{ print $NF }' |
		grep -v '^UDAX_[0-9.]*\(@@UDAX_[0-9.]*\)\?$')
	printf '%s\n' "$syms" | sed 's/@.*//' | check "$so" || fail=1
	printf '%s\n' "$syms" | sed 's/@.*//' | exported "$so" || fail=1
	unversioned=$(printf '%s\n' "$syms" | grep -v '@@\?UDAX_[0-9.]*$' || true)
	if [ -n "$unversioned" ]; then
		echo "$so: without a UDAX_ version: $unversioned" >&2
		fail=1
	fi
fi
exit $fail
