#!/bin/bash
# viommud on the real arm-smmu-v3 driver, in the arm64 test VM: run by
# smmu-guest.sh once the arm64 userland of tests/vm/smmu-build-tests.sh
# (OUTDIR/root) is the guest's /usr. viommud, as installed there, serves a
# private system bus (private-bus.sh); test-smmu drives the nested flow
# through it with edu's DMA as the oracle, and viommuctl shows what the
# daemon sees of the host.
#
#   smmu-daemon.sh OUTDIR
set -uo pipefail
export PATH=/bin:/usr/bin:/usr/sbin

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: smmu-daemon.sh OUTDIR}
# shellcheck source=private-bus.sh
. "$here/private-bus.sh"
# shellcheck source=../vm/markers.sh
. "$here/../vm/markers.sh"
trap private_bus_stop EXIT

work=/run/viommu-smmu
mkdir -p "$work"
echo '{}' >"$work/viommud.conf"
private_bus_start "$work" || exit 1
private_bus_viommud /usr/sbin/viommud "$work/viommud.log" --config="$work/viommud.conf" || exit 1

failed=0
fail() {
	echo "smmu-daemon: FAIL: $*"
	failed=1
}

test_program test-smmu "$out/build/tests/integration/test-smmu" || failed=1

# viommuctl: edu is on vfio-pci behind the SMMUv3 that arm-smmu-v3 drives.
bdf=${VIOMMU_TEST_VFIO_DEVICES%%=*}
# The console is a terminal: without --no-pager viommuctl would page.
for verb in status devices features; do
	echo "== viommuctl $verb"
	viommuctl --no-pager "$verb" || fail "viommuctl $verb"
	viommuctl --no-pager --json=short "$verb" || fail "viommuctl --json=short $verb"
done
viommuctl --no-pager --json=short devices |
	jq -e --arg d "$bdf" 'map(select(.name == $d))[0] | .driver == "vfio-pci" and (.iommu | startswith("smmu3."))' \
		>/dev/null || fail "viommuctl devices: $bdf is not on vfio-pci behind an SMMUv3"
viommuctl --no-pager --json=short features |
	jq -e 'map(select(.name == "viommu" or .name == "veventq" or .name == "nesting") | .supported) == [true, true, true]' \
		>/dev/null || fail "viommuctl features: nesting, viommu or veventq not supported on 7.3's arm-smmu-v3"

private_bus_viommud_stop
[ "$viommud_status" = 0 ] || fail "viommud exited with status $viommud_status; its log: $(cat "$work/viommud.log")"
[ "$failed" = 0 ] && echo "smmu-daemon: PASS: viommud served the nested flow on arm-smmu-v3"
exit "$failed"
