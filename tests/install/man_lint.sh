#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual pages are clean: `mandoc -T lint -W warning` reports nothing
# for any page, and where groff is installed neither does `groff -man -ww`
# (what `man --warnings` runs).  Alias pages, one ".so" line, are left to
# man_coverage.sh (mandoc calls every .so fragile).  Skipped (77) without
# mandoc: scripts/install-deps installs it.
#
# usage: man_lint.sh MANDIR
set -u
man=$1
if ! command -v mandoc >/dev/null 2>&1; then
	echo "man_lint: SKIP: mandoc not installed (apt-get install mandoc, or scripts/install-deps)"
	exit 77
fi
pages=$(grep -L '^\.so ' "$man"/man1/*.1 "$man"/man3/*.3 "$man"/man7/*.7)
n=$(echo "$pages" | wc -l)
fail=0
# shellcheck disable=SC2086
out=$(mandoc -T lint -W warning $pages 2>&1) || fail=1
[ -z "$out" ] || { echo "$out" >&2; fail=1; }
groff=no
if command -v groff >/dev/null 2>&1; then
	groff=yes
	# shellcheck disable=SC2086
	out=$(groff -z -ww -man -t $pages 2>&1) || fail=1
	[ -z "$out" ] || { echo "$out" >&2; fail=1; }
fi
echo "man_lint: $n pages, mandoc -T lint -W warning, groff -ww: $groff: $([ $fail = 0 ] && echo clean || echo WARNINGS)"
exit $fail
