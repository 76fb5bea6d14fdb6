#!/bin/sh
# SPDX-License-Identifier: MIT
# Every public function has a manual page, and every section-3 page names
# one.  The functions are the udax_ names called with parentheses in the
# installed headers (include/udax/*.h and the generated version.h and
# config.h), comments left out: declarations, inline functions and
# function-like macros.  Each needs man/man3/NAME.3, either a page of its
# own or a one-line ".so man3/GROUP.3" alias whose target is a real page
# that lists NAME in its NAME section (so `man NAME` shows where NAME is
# described).  A page for a name no header declares (a function renamed or
# removed) fails too.  The command's pages: udax(1) and udax-CMD(1) for
# each command that `udax --help` lists (except "version").
#
# usage: man_coverage.sh MANDIR UDAX_BINARY HEADER_DIR...
set -eu
man=$1 udax=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for d in "$@"; do cat "$d"/*.h; done |
	tr '\n' ' ' | sed 's,/\*,\n/*,g; s,\*/,*/\n,g' | grep -v '^/\*' | tr -d '\n' |
	sed 's,//[^;]*,,g' |
	grep -oE '\budax_[a-z0-9_]+[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u >"$tmp/funcs"

# NAME lines of the real pages, and the target of each alias, in one pass.
awk 'FNR == 1 { f = FILENAME; sub(".*/", "", f); sub("[.]3$", "", f); so = $1 == ".so"
		if (so) print "alias", f, $2 }
     FNR == 2 && so { print "extra", f }
     !so && prev == ".SH NAME" { print "name", f, $0 }
     { prev = $0 }' "$man"/man3/*.3 >"$tmp/pages"
awk -v funcs="$tmp/funcs" '
	$1 == "alias" { target[$2] = $3; next }
	$1 == "extra" { extra[$2] = 1; next }
	$1 == "name" { page = $2; real[page] = 1
		line = $0; sub("^name [^ ]* ", "", line); sub(" \\\\- .*", "", line)
		n = split(line, names, ", "); for (i = 1; i <= n; i++) listed[page, names[i]] = 1 }
	END {
		while ((getline f < funcs) > 0) {
			nf++; want[f] = 1; p = f
			if (f in target) {
				alias++; t = target[f]; sub("^man3/", "", t); sub("[.]3$", "", t)
				if ((f in extra) || !(t in real)) {
					print "man: man3/" f ".3: not one .so man3/PAGE.3 line naming a real page" > "/dev/stderr"
					bad = 1; continue }
				p = t
			} else if (!(f in real)) {
				print "man: no page for " f " (man/man3/" f ".3)" > "/dev/stderr"; bad = 1; continue }
			if (!((p, f) in listed)) {
				print "man: man3/" p ".3 does not list " f " in its NAME section" > "/dev/stderr"; bad = 1 }
		}
		for (p in real) if (!(p in want)) { print "man: man3/" p ".3 names no function of the headers" > "/dev/stderr"; bad = 1 }
		for (p in target) if (!(p in want)) { print "man: man3/" p ".3 names no function of the headers" > "/dev/stderr"; bad = 1 }
		printf "%d %d\n", nf, alias > "/dev/stdout"
		exit bad
	}' "$tmp/pages" >"$tmp/counts" || fail=1
read -r n alias <"$tmp/counts"

cmds=$("$udax" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' | grep -vx version)
nc=0
for c in $cmds; do
	nc=$((nc + 1))
	[ -f "$man/man1/udax-$c.1" ] || { echo "man: no page udax-$c(1)" >&2; fail=1; continue; }
	# Every option the command's --help shows is in its page.
	"$udax" "$c" --help 2>&1 | grep -oE '(^|[ ,[])--?[a-zA-Z][a-zA-Z-]*' |
		sed 's/^[ ,[]//; s/-/\\-/g' | sort -u >"$tmp/opts"
	grep -oF -f "$tmp/opts" "$man/man1/udax-$c.1" | sort -u >"$tmp/found" || true
	for o in $(grep -vxF -f "$tmp/found" "$tmp/opts"); do
		echo "man: udax-$c(1) does not mention $o of 'udax $c --help'" >&2; fail=1
	done
done
[ -f "$man/man1/udax.1" ] || { echo "man: no page udax(1)" >&2; fail=1; }
[ -f "$man/man7/udax.7" ] || { echo "man: no page udax(7)" >&2; fail=1; }

if [ $fail = 0 ]; then
	echo "man: $n functions, each with a page ($((n - alias)) grouped pages, $alias aliases); $nc commands with a page"
else
	echo "man: FAILED: $n functions, $nc commands (above: what is missing)"
fi
exit $fail
