#!/usr/bin/env bash
# The udax command's file operations and --json output, end to end: mkdir
# (-p), put into a new directory, cat, stat, ln, mv (into a directory, -n),
# truncate (grow, shrink, -c), rm (-f, -r), rmdir, df, info, ls, fsck; each
# --json document parsed by python3's json module and checked field by
# field against docs/cli.md and against what was done; the mkfs label read
# back; usage errors exit 2 (fsck: 16, e2fsck's), failures 1; no message
# names a library flag (UDAX_...); -V.
set -u
U=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "cli_ops_test: FAIL: $*" >&2; exit 1; }
expect() {	# expect STATUS CMD...
	local want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	[ "$got" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $got, want $want"; }
	! grep -q "UDAX_" "$T/err" || { cat "$T/err" >&2; fail "'$*': a message names a library flag"; }
}
command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps installs it)"
# jcheck PYTHON-BODY: $T/out parsed as j; the body asserts.
jcheck() {
	python3 - "$T/out" "$1" <<'PY' || { cat "$T/out" >&2; fail "json check: $1"; }
import json, sys
with open(sys.argv[1]) as f:
    text = f.read()
assert text.endswith("\n") and text.count("\n") == 1, "one line"
j = json.loads(text)
assert j["schema_version"] == 1, j
def isint(v): return type(v) is int and v >= 0
def istime(t): return set(t) == {"sec", "nsec"} and isint(t["sec"]) and 0 <= t["nsec"] < 10**9
STAT = {"ino", "type", "mode", "nlink", "uid", "gid", "size", "blocks", "block_size",
        "atime", "mtime", "ctime", "btime"}
def isstat(s, extra):
    assert set(s) == STAT | extra, sorted(set(s) ^ (STAT | extra))
    for k in ("ino", "nlink", "uid", "gid", "size", "blocks"):
        assert isint(s[k]), k
    assert s["type"] in ("file", "directory", "symlink", "other")
    assert len(s["mode"]) == 4 and int(s["mode"], 8) <= 0o7777
    assert s["block_size"] == 4096
    for k in ("atime", "mtime", "ctime", "btime"):
        assert istime(s[k]), k
    return True
FS = {"label", "created", "block_size", "blocks", "blocks_free", "blocks_busy", "size_bytes",
      "used_bytes", "free_bytes", "inodes", "inodes_free", "name_max", "shutdown"}
def isfs(s, extra):
    assert set(s) == FS | extra, sorted(set(s) ^ (FS | extra))
    assert type(s["label"]) is str and istime(s["created"]) and s["created"]["sec"] > 0
    for k in FS - {"label", "created", "shutdown"}:
        assert isint(s[k]), k
    assert s["size_bytes"] == s["blocks"] * s["block_size"]
    assert s["free_bytes"] == s["blocks_free"] * s["block_size"]
    assert s["used_bytes"] == s["size_bytes"] - s["free_bytes"]
    assert s["blocks_free"] <= s["blocks"] and s["inodes_free"] <= s["inodes"]
    assert s["name_max"] == 255 and s["shutdown"] is False
    return True
exec(sys.argv[2])
PY
}

D=$T/d.img
expect 0 "$U" -V
grep -q "^udax " "$T/out" || fail "-V prints no version"
expect 0 "$U" --version
expect 0 "$U" mkfs -s 64M -n 2 -L "vol \"one\"" "$D"

# ---- file operations ----------------------------------------------------------
printf 'hello\n' >"$T/h.txt"
expect 1 "$U" put "$D" "$T/h.txt" /d/x.txt		# no /d yet
grep -q "udax mkdir -p" "$T/err" || fail "put into a missing directory does not say how"
expect 0 "$U" mkdir "$D" /d
expect 0 "$U" put "$D" "$T/h.txt" /d/x.txt
expect 0 "$U" cat "$D" /d/x.txt
[ "$(cat "$T/out")" = hello ] || fail "cat: $(cat "$T/out")"
expect 1 "$U" mkdir "$D" /d				# exists
expect 0 "$U" mkdir -p -m 700 "$D" /d /a/b/c d2		# relative: from the root
expect 1 "$U" mkdir -p "$D" /d/x.txt/y			# a file in the way
expect 0 "$U" stat --json "$D" /a/b/c /d2
jcheck '
f = j["files"]; assert j["command"] == "stat" and len(f) == 2
assert isstat(f[0], {"path"}) and f[0]["path"] == "/a/b/c" and f[0]["type"] == "directory"
assert f[0]["mode"] == "0700" and f[1]["path"] == "/d2" and f[1]["mode"] == "0700"'
expect 0 "$U" ln "$D" /d/x.txt /a/link
# Symbolic links: the target kept as given, listed with type l and target,
# followed by cat, not by stat, ls of a link, rm or rm -r.
expect 0 "$U" ln -s "$D" ../d/x.txt /a/sym
expect 0 "$U" ln --symbolic "$D" /d /a/dl		# absolute: from the root
expect 0 "$U" ln -s "$D" nowhere /a/dangling
expect 0 "$U" ln -s "$D" some/target /a/b		# into a directory
expect 1 "$U" ln -s "$D" x /a/sym			# exists
expect 1 "$U" ln -s "$D" "" /a/empty			# an empty target
expect 0 "$U" cat "$D" /a/sym
[ "$(cat "$T/out")" = hello ] || fail "cat through a symbolic link: $(cat "$T/out")"
expect 0 "$U" ls "$D" /a
grep -q '^l0777 .* sym -> \.\./d/x\.txt$' "$T/out" || fail "ls: the link sym"
grep -q '^l0777 .* dangling -> nowhere$' "$T/out" || fail "ls: a dangling link"
grep -q '^d0700 .* b$' "$T/out" || fail "ls: a link's directory shown as a link"
expect 0 "$U" ls --json "$D" /a
jcheck '
e = {x["name"]: x for x in j["entries"]}
assert set(e) == {"b", "link", "sym", "dl", "dangling"}, e
for n, x in e.items(): assert isstat(x, {"name"} | ({"target"} if x["type"] == "symlink" else set()))
assert e["link"]["type"] == "file" and e["dangling"]["type"] == "symlink"
assert e["sym"]["type"] == "symlink" and e["sym"]["target"] == "../d/x.txt"
assert e["sym"]["size"] == 10 and e["dl"]["target"] == "/d" and e["b"]["type"] == "directory"
assert "target" not in e["b"]'
expect 0 "$U" ls --json "$D" /a/dangling			# a link: itself
jcheck 'assert [(x["name"], x["target"]) for x in j["entries"]] == [("dangling", "nowhere")]'
expect 0 "$U" ls --json "$D" /a/dl				# a link to a directory: the directory
jcheck 'assert sorted(x["name"] for x in j["entries"]) == ["x.txt"], j'
expect 0 "$U" stat "$D" /a/b/target
grep -q "type: symlink" "$T/out" && grep -q "target: some/target" "$T/out" ||
	fail "stat of a link: $(cat "$T/out")"
expect 0 "$U" stat --json "$D" /a/sym
jcheck '
s = j["files"][0]; assert isstat(s, {"path", "target"})
assert s["type"] == "symlink" and s["target"] == "../d/x.txt" and s["mode"] == "0777"'
expect 0 "$U" rm "$D" /a/dangling			# removed, not followed
expect 1 "$U" stat "$D" /a/dangling
expect 0 "$U" stat --json "$D" /d/x.txt
jcheck '
s = j["files"][0]; assert isstat(s, {"path"})
assert s["type"] == "file" and s["size"] == 6 and s["nlink"] == 2 and s["blocks"] == 1
assert s["mode"] == "0644" and s["mtime"]["sec"] >= s["btime"]["sec"] > 1600000000'
expect 0 "$U" mv "$D" /a/link /a/b				# into a directory
expect 0 "$U" cat "$D" /a/b/link
[ "$(cat "$T/out")" = hello ] || fail "mv into a directory lost the data"
expect 0 "$U" put "$D" - /a/other <<<"other"		# from standard input
expect 1 "$U" mv -n "$D" /a/other /a/b/link		# -n: exists
expect 0 "$U" mv "$D" /a/other /a/b/link			# replaces it
expect 0 "$U" cat "$D" /a/b/link /d/x.txt
[ "$(cat "$T/out")" = "$(printf 'other\nhello')" ] || fail "mv over a file: $(cat "$T/out")"
expect 0 "$U" truncate -s 1M "$D" /d/x.txt /d/new
expect 0 "$U" truncate -c -s 0 "$D" /d/absent
expect 1 "$U" stat "$D" /d/absent			# -c: not created
expect 0 "$U" truncate -s 3 "$D" /d/x.txt
expect 0 "$U" get "$D" /d/x.txt -
[ "$(cat "$T/out")" = hel ] || fail "truncate -s 3: $(cat "$T/out")"
expect 0 "$U" ls --json "$D" /d
jcheck '
assert j["command"] == "ls" and j["path"] == "/d"
e = {x["name"]: x for x in j["entries"]}
assert set(e) == {"x.txt", "new"}, e
for n, x in e.items(): assert isstat(x, {"name"})
assert e["x.txt"]["size"] == 3 and e["new"]["size"] == 1 << 20 and e["new"]["blocks"] == 0'
expect 0 "$U" ls --json "$D" /d/x.txt			# a file: itself
jcheck 'assert [x["name"] for x in j["entries"]] == ["x.txt"]'
expect 1 "$U" rmdir "$D" /d				# not empty
expect 1 "$U" rm "$D" /d					# a directory without -r
grep -q "rm -r" "$T/err" || fail "rm of a directory does not say -r"
expect 1 "$U" rm "$D" /nothing
expect 0 "$U" rm -f "$D" /nothing /d/new
expect 0 "$U" rm -r "$D" /a
expect 0 "$U" rm "$D" /d/x.txt
expect 0 "$U" rmdir "$D" /d /d2
expect 0 "$U" ls --json "$D"
jcheck 'assert j["path"] == "/" and j["entries"] == []'
# Names that JSON must escape, and bytes that are not UTF-8.
expect 0 "$U" mkdir "$D" "/q\"b\\s"$'\t'"$(printf '\001\377')é"
expect 0 "$U" ls --json "$D"
jcheck 'assert [x["name"] for x in j["entries"]] == ["q\"b\\s\t\x01\ufffdé"], j'
expect 0 "$U" rmdir "$D" "/q\"b\\s"$'\t'"$(printf '\001\377')é"

# ---- partitions, df, info, the label ---------------------------------------------
expect 0 "$U" put -P 1 "$D" "$T/h.txt" /p1
expect 0 "$U" ls -P 1 "$D"
grep -q " p1$" "$T/out" || fail "put -P 1 went elsewhere"
expect 0 "$U" ls --part 1 "$D"
expect 1 "$U" ls -P 7 "$D"				# no such partition
expect 2 "$U" ls -P x "$D"
expect 2 "$U" ls -p 1 "$D"				# -p is not the partition
grep -q -- "-P N" "$T/err" || fail "ls -p does not point at -P"
expect 0 "$U" df "$D"
grep -q 'vol "one"$' "$T/out" || fail "df does not show the label"
expect 0 "$U" df --json "$D"
jcheck '
assert j["command"] == "df" and j["device"].endswith("d.img")
f = j["filesystems"]; assert [x["partition"] for x in f] == [0, 1]
for x in f: assert isfs(x, {"partition"}) and x["label"] == "vol \"one\""
assert f[1]["used_bytes"] == 8192 and f[1]["inodes"] - f[1]["inodes_free"] == 2'
expect 0 "$U" df --json -P 1 "$D"
jcheck 'assert [x["partition"] for x in j["filesystems"]] == [1]'
expect 0 "$U" info "$D"
grep -q 'udaxfs "vol \\"one\\""\|udaxfs "vol "one""' "$T/out" || fail "info does not show the label"
expect 0 "$U" info --json "$D"
jcheck '
assert j["command"] == "info" and j["partition_table_error"] is None
d = j["device"]
assert set(d) == {"spec", "kind", "path", "size", "durability", "durability_desc", "persist",
                  "pmem2", "store_granularity"}, d
assert d["kind"] == "file" and d["size"] == 64 << 20 and d["spec"].endswith("d.img")
assert d["durability"] in ("volatile", "cpu-cache", "cpu-store", "msync")
assert type(d["pmem2"]) is bool and d["store_granularity"] in (0, 1, 64, 4096)
p = j["pagemap"]
assert set(p) == {"pfn_first", "nr_pages", "pinnable", "memmap_bytes", "memmap_in_device",
                  "busy_pages", "idle_transitions"}, p
assert p["nr_pages"] * 4096 <= d["size"] and p["busy_pages"] == 0 and p["pinnable"] is True
ps = j["partitions"]; assert [x["index"] for x in ps] == [0, 1]
for x in ps:
    assert set(x) == {"index", "offset", "size", "type", "label", "uuid", "fs", "fs_error"}, x
    assert x["offset"] % (2 << 20) == 0 and x["type"] == 1 and x["label"] == "vol \"one\""
    assert len(x["uuid"]) == 36 and x["uuid"].count("-") == 4 and x["fs_error"] is None
    assert isfs(x["fs"], set()) and x["fs"]["label"] == "vol \"one\""
assert ps[1]["offset"] == ps[0]["offset"] + ps[0]["size"]
assert ps[1]["offset"] + ps[1]["size"] <= d["size"]'
expect 0 "$U" info --json mem:8M			# no table
jcheck '
assert j["device"]["kind"] == "memory" and j["device"]["durability"] == "volatile"
assert j["partitions"] == [] and "partition table" in j["partition_table_error"]'
expect 2 "$U" mkfs -f -L 0123456789012345678901234567890123 "$D"	# 34 bytes
expect 2 "$U" mkfs -f -n 2 -L 012345678901234567890123 "$D"		# 24 > 23 with -n
expect 0 "$U" mkfs -f -L 0123456789012345678901234567890 "$T/e.img" -s 8M	# 31: the most
expect 0 "$U" df --json "$T/e.img"
jcheck 'assert j["filesystems"][0]["label"] == "0123456789012345678901234567890"'

# ---- fsck: e2fsck's options and statuses, --json ------------------------------------
expect 0 "$U" fsck --json "$D"
jcheck '
assert j["command"] == "fsck" and j["mode"] == "check" and j["exit_status"] == 0
assert j["partition_table_error"] is None
R = {"partition", "problems", "status", "error", "journal_committed", "inodes", "directories",
     "files", "blocks_used", "extent_blocks", "directory_blocks", "problems_found",
     "problems_repaired"}
for i, p in enumerate(j["partitions"]):
    assert set(p) == R, sorted(set(p) ^ R)
    assert p["partition"] == i and p["status"] == "clean" and p["problems"] == []
    assert p["error"] is None and p["problems_found"] == 0 and p["journal_committed"] is False
assert j["partitions"][1]["files"] == 1 and j["partitions"][1]["inodes"] == 2'
# Superblock copy B of partition 1 damaged.
off=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["partitions"][1]["offset"])' <("$U" info --json "$D"))
printf '\377\377\377\377' | dd of="$D" bs=1 seek=$((off + 4096 + 8)) conv=notrunc 2>/dev/null
expect 4 "$U" fsck -n "$D"
expect 4 "$U" fsck "$D"					# default: check only
expect 4 "$U" fsck -n --json -P 1 "$D"
jcheck '
assert j["exit_status"] == 4 and j["mode"] == "check" and len(j["partitions"]) == 1
p = j["partitions"][0]
assert p["partition"] == 1 and p["status"] == "problems_left"
assert p["problems_found"] == 1 and p["problems_repaired"] == 0
q = p["problems"][0]
assert set(q) == {"area", "ino", "block", "offset", "message", "repaired"}, q
assert q["area"] == "superblock" and q["ino"] is None and q["block"] == 1 and q["offset"] == 0
assert "checksum" in q["message"] and q["repaired"] is False'
expect 16 "$U" fsck -n -y "$D"				# e2fsck: one of -n, -p, -y
expect 16 "$U" fsck -n -p "$D"
expect 16 "$U" fsck --bogus "$D"
expect 16 "$U" fsck -P 99 "$D"
expect 1 "$U" fsck -p -f --json "$D"			# preen repairs it
jcheck '
assert j["mode"] == "repair" and j["exit_status"] == 1
p = j["partitions"][1]
assert p["status"] == "repaired" and p["problems"][0]["repaired"] is True'
expect 0 "$U" fsck -y "$D"
expect 0 "$U" fsck -n -P 1 "$D"
expect 8 "$U" fsck "$T/nothing.img"

# ---- usage errors: 2; failures: 1 -------------------------------------------------
for c in mkfs info df ls stat put get cat mkdir rmdir rm mv ln truncate bench dmatest; do
	"$U" --help | grep -q "^  $c " || { [ $c = dmatest ] && continue; fail "udax --help lacks $c"; }
	expect 0 "$U" $c --help
	grep -q "^usage: udax $c" "$T/out" || fail "udax $c --help: no usage line"
	expect 2 "$U" $c --no-such-option "$D"
done
expect 0 "$U" fsck --help
for c in stat cat mkdir rmdir rm truncate; do expect 2 "$U" $c "$D"; done	# no PATH
expect 2 "$U" mv "$D" /a
expect 2 "$U" ln "$D" /a /b /c
expect 2 "$U" truncate "$D" /x				# no -s
expect 2 "$U" truncate -s 1Q "$D" /x
expect 2 "$U" mkdir -m 9 "$D" /x
expect 2 "$U" ls
expect 2 "$U" info
expect 2 "$U" df "$D" extra
expect 2 "$U" nosuchcommand
expect 2 "$U"
expect 1 "$U" ls "$T/nothing.img"
grep -q "udax mkfs --size" "$T/err" || fail "a missing device: no hint in the command's terms"
: >"$T/empty.img"
expect 1 "$U" info "$T/empty.img"
expect 1 "$U" mkfs -s 4M "$D"				# exists, 64M
grep -q "leave --size out" "$T/err" || fail "mkfs -s of an existing file: no hint"
expect 2 "$U" mkfs -s 4M mem:4M
expect 1 "$U" mkfs "$T/nothing.img"
grep -q -- "--size" "$T/err" || fail "mkfs of a missing file does not name --size"
expect 1 "$U" ls "$T/e.img" /nothing
expect 1 "$U" cat "$D" /nothing
expect 1 "$U" get "$D" /nothing "$T/x"
expect 1 "$U" df -P 1 "$T/e.img"
echo "cli_ops_test: ok"
