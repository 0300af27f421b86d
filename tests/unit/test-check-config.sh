#!/bin/bash
# viommud --check-config: a good file is valid and what it sets is listed; a
# bad one is refused with its place and reason, and exit status 1; a missing
# one means the defaults. Run by "make check" from the build directory.
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
	grep -qF "allow: added rule ($work/good.conf:2): devices pci 0000:01:00.0; users 0; units vmm@.service" <<<"$out" ||
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

[ $failed -eq 0 ] && echo "check-config: PASS"
exit $failed
