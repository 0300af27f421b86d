#!/bin/bash
# viommud --check-config: a good file is valid and what it sets is listed; a
# bad one is refused with its place and reason, and exit status 1; a missing
# one means the defaults; drop-ins are checked and listed in lexical order,
# and a bad one is named. Run by "make check" from the build directory.
set -u

viommud=${VIOMMUD:-./daemon/viommud}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

cat >"$work/good.conf" <<'CONF'
{
  "allow": [ { "devices": [ { "pci": "0000:01:00.0" } ], "users": [ 0 ], "units": [ "vmm@.service" ] } ],
  "limits": { "objects": 64 }
}
CONF
if out=$("$viommud" --check-config --config="$work/good.conf" 2>&1); then
	grep -qx "$work/good.conf: valid" <<<"$out" || fail "good file not called valid: $out"
	grep -q '^limits.objects: .* -> 64$' <<<"$out" || fail "the objects limit is not listed: $out"
	grep -qxF "allow: added rule ($work/good.conf:2): devices pci 0000:01:00.0; users 0; units vmm@.service" <<<"$out" ||
		fail "the rule is not listed: $out"
else
	fail "good file refused: $out"
fi

printf '{\n  "allow": [ { "devices": [ { "pci": "0000:zz:00.0" } ], "users": [ 0 ] } ]\n}\n' >"$work/bad.conf"
if out=$("$viommud" --check-config --config="$work/bad.conf" 2>&1); then
	fail "bad file accepted: $out"
else
	grep -q "^$work/bad.conf: allow\[0\].devices\[0\].pci: \"0000:zz:00.0\" is not a PCI address" <<<"$out" ||
		fail "bad file refused without its place and reason: $out"
fi

printf '{ "limits": { "objcts": 1 } }\n' >"$work/typo.conf"
out=$("$viommud" --check-config --config="$work/typo.conf" 2>&1) && fail "a misspelt key accepted: $out"

out=$("$viommud" --check-config --config="$work/missing.conf" 2>&1) || fail "a missing file refused: $out"
grep -qx "$work/missing.conf: no such file, so the defaults apply" <<<"$out" || fail "missing file: $out"

# Drop-ins beside good.conf: read in lexical order, whatever order they were
# made in; a limit set twice keeps the last, rules add up.
mkdir "$work/good.conf.d"
echo '{ "limits": { "objects": 8 } }' >"$work/good.conf.d/20-b.conf"
echo '{ "limits": { "objects": 16, "devices": 2 }, "allow": [ { "devices": [ { "group": 7 } ], "users": [ 1000 ] } ] }' \
	>"$work/good.conf.d/10-a.conf"
echo 'not JSON' >"$work/good.conf.d/30-c.conf.disabled"
if out=$("$viommud" --check-config --config="$work/good.conf" 2>&1); then
	expected="$work/good.conf: valid
$work/good.conf.d/10-a.conf: valid drop-in
$work/good.conf.d/20-b.conf: valid drop-in"
	[ "$(head -n 3 <<<"$out")" = "$expected" ] || fail "the drop-ins are not listed in order: $out"
	grep -q '^limits.objects: .* -> 8$' <<<"$out" || fail "the last drop-in's limit does not win: $out"
	grep -q '^limits.devices: .* -> 2$' <<<"$out" || fail "a drop-in's limit is lost: $out"
	grep -qxF "allow: added rule ($work/good.conf.d/10-a.conf:1): devices group 7; users 1000" <<<"$out" ||
		fail "a drop-in's rule is not listed: $out"
	grep -q '^allow: added rule (.*/good.conf:2)' <<<"$out" || fail "the main file's rule is lost: $out"
else
	fail "good drop-ins refused: $out"
fi

printf '{\n  "limits": { "objects": 1, "objects": 2 }\n}\n' >"$work/good.conf.d/15-bad.conf"
if out=$("$viommud" --check-config --config="$work/good.conf" 2>&1); then
	fail "a bad drop-in accepted: $out"
else
	grep -qx "$work/good.conf.d/15-bad.conf:2:29: limits.objects: duplicate key" <<<"$out" ||
		fail "a bad drop-in not named with its place: $out"
fi
rm "$work/good.conf.d/15-bad.conf"

# Drop-ins apply without a main file too.
mkdir "$work/missing.conf.d"
cp "$work/good.conf.d/20-b.conf" "$work/missing.conf.d/"
out=$("$viommud" --check-config --config="$work/missing.conf" 2>&1) || fail "drop-ins without a main file refused: $out"
grep -qx "$work/missing.conf: no such file, so the drop-ins apply over the defaults" <<<"$out" &&
	grep -qx "$work/missing.conf.d/20-b.conf: valid drop-in" <<<"$out" || fail "drop-ins without a main file: $out"

[ $failed -eq 0 ] && echo "check-config: PASS"
exit $failed
