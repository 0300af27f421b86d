#!/bin/bash
# The unit as built (dbus/viommud.service) scores at most 2.5 in
# `systemd-analyze security --offline=true`: its confinement is not eroded
# by an edit. That the daemon works under it is proven in the systemd
# profile of the test VM (tests/integration/systemd-host.sh). Run by
# "make check" from the build directory; skipped without systemd-analyze.
set -u

unit=${VIOMMUD_UNIT:-dbus/viommud.service}
limit=2.5

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "unit-security: SKIP: no systemd-analyze"
	exit 77
fi
if [ ! -f "$unit" ]; then
	echo "unit-security: FAIL: $unit is missing (make builds it)"
	exit 1
fi
# Options a systemd older than the unit does not know are warnings.
if ! out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1); then
	if grep -q "unrecognized option '--offline" <<<"$out"; then
		echo "unit-security: SKIP: systemd-analyze is too old for --offline (systemd 250)"
		exit 77
	fi
fi
score=$(sed -n 's/^→ Overall exposure level for viommud.service: \([0-9.]*\) .*/\1/p' <<<"$out")
if [ -z "$score" ]; then
	echo "unit-security: FAIL: systemd-analyze gave no exposure level: $out"
	exit 1
fi
if awk -v s="$score" -v l="$limit" 'BEGIN { exit !(s <= l) }'; then
	echo "unit-security: PASS: exposure $score (at most $limit)"
	exit 0
fi
echo "$out" | grep '✗'
echo "unit-security: FAIL: exposure $score, above $limit"
exit 1
