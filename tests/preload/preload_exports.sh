#!/bin/sh
# SPDX-License-Identifier: MIT
# libudax-preload.so exports exactly the libc functions it interposes: the
# dynamic symbols defined in it are the names of src/preload/preload.map,
# which are the PL_EXPORT definitions of src/preload/intercept.c.  No udax_
# (or any other) name may leak into the programs it is preloaded into.
# usage: preload_exports.sh NM LIBUDAX-PRELOAD.SO SRCDIR
set -eu
nm=$1 so=$2 src=$3
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
"$nm" -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | sort -u >"$t/so"
sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' "$src/src/preload/preload.map" |
	sort -u >"$t/map"
grep -E '^PL_EXPORT .*[ *][a-z_0-9]+\(.*[^;]$' "$src/src/preload/intercept.c" |
	sed -E 's/^PL_EXPORT [^(]*[ *]([a-z_0-9]+)\(.*/\1/' >"$t/def"
grep -E '^XATTR_(PATH|FD)\(' "$src/src/preload/intercept.c" |
	sed -E 's/^XATTR_(PATH|FD)\(([a-z_]+),.*/\2/' >>"$t/def"
sort -u "$t/def" -o "$t/def"
fail=0
[ "$(wc -l <"$t/so")" -gt 100 ] || { echo "too few exports: $(wc -l <"$t/so")" >&2; fail=1; }
diff -u "$t/map" "$t/so" >&2 || { echo "exports differ from preload.map" >&2; fail=1; }
diff -u "$t/def" "$t/map" >&2 || { echo "preload.map differs from the definitions" >&2; fail=1; }
grep -q udax_ "$t/so" && { echo "a udax_ name is exported" >&2; fail=1; }
exit $fail
