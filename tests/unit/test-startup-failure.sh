#!/bin/bash
# viommud that cannot start (no /dev/iommu, as on a build host, or no bus
# where it has one) says why and exits with status 1: its teardown of what
# it never set up must not crash. Run by "make check" from the build
# directory.
set -u

viommud=${VIOMMUD:-./daemon/viommud}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo '{}' >"$work/viommud.conf"
rc=0
out=$("$viommud" --config="$work/viommud.conf" --address="unix:path=$work/no-bus" 2>&1) || rc=$?
if [ $rc -ne 1 ] || ! grep -q 'Exiting:' <<<"$out"; then
	echo "FAIL: viommud without a kernel or a bus: exit status $rc, said: $out"
	exit 1
fi
echo "startup-failure: PASS"
