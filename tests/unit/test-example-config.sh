#!/bin/bash
# The example configuration installed with the documentation, and its
# drop-in, are what viommud --check-config accepts: checked as "make install"
# puts them in place, the drop-in beside the main file as in /etc/viommu.
# Run by "make check" from the build directory, with MAKE from it.
set -u

viommud=${VIOMMUD:-./daemon/viommud}
# shellcheck source-path=SCRIPTDIR source=installed-lib.sh
. "${srcdir:?run by make check, which sets srcdir}/tests/unit/installed-lib.sh"

install_parts install-dist_exampleDATA install-dist_exampleconfdDATA
conf=$(find "$work/root" -path '*/examples/viommud.conf')
[ -n "$conf" ] || { echo "FAIL: no examples/viommud.conf installed"; exit 1; }
mapfile -t dropins < <(find "$conf.d" -name '*.conf' | sort)
[ ${#dropins[@]} -gt 0 ] || fail "no drop-in installed in $conf.d"

if out=$("$viommud" --check-config --config="$conf" 2>&1); then
	grep -qx "$conf: valid" <<<"$out" || fail "the example is not called valid: $out"
	for d in "${dropins[@]}"; do
		grep -qx "$d: valid drop-in" <<<"$out" || fail "the drop-in $d is not read: $out"
	done
	# Every part of the schema the example shows is taken.
	for want in '^allow: added rule .*: devices group 12, id 1234:11e8; groups 990' \
		'^allow: added rule .*50-ci.conf.*units ci-vm@.service' \
		'^allow: added rule .*: devices pci 0000:01:00.0; users 1000; units vmm@.service; bind$' \
		'^restore-on-release: false -> true$' '^observers' '^limits.pinned-bytes: .* -> 64G$' '^limits.devices: .* -> 16$'; do
		grep -q "$want" <<<"$out" || fail "--check-config does not list /$want/: $out"
	done
else
	fail "the example configuration is refused: $out"
fi

[ $failed -eq 0 ] && echo "example-config: PASS"
exit $failed
