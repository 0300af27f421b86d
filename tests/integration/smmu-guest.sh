#!/bin/sh
# The smmu profile's tests, run in the arm64 guest by busybox sh from the
# directory tests/vm/smmu-build-tests.sh filled:
#   cd OUTDIR && tests/vm/run-vm.sh --kernel 7.3 --profile smmu --share "$PWD" -- ./smmu-guest.sh
# The kernel took the CANWBS IORT, arm-smmu-v3 probed QEMU's SMMUv3, edu is
# on vfio-pci by driver_override, and smmu-nested's flow passes on the real
# driver. Each is a test between tests/summarize's markers.
# shellcheck shell=dash source-path=SCRIPTDIR source=../vm/markers.sh disable=SC2317 # called through unit
. ./markers.sh
set -u

# in_kernel_log PATTERN: the kernel logged a line matching PATTERN.
in_kernel_log() {
	dmesg | grep -q "$1" || { echo "smmu-guest: no '$1' in the kernel log"; return 1; }
}

# on_vfio_pci BDF: bound to vfio-pci, which driver_override asked for.
on_vfio_pci() {
	local dev=/sys/bus/pci/devices/$1 override driver
	read -r override <"$dev/driver_override"
	driver=$(readlink "$dev/driver")
	echo "smmu-guest: $1 driver_override $override, driver ${driver##*/}"
	[ "$override" = vfio-pci ] && [ "${driver##*/}" = vfio-pci ]
}

edu=${VIOMMU_TEST_VFIO_DEVICES:?the guest bound no device to vfio-pci}
failed=0
unit iort-override in_kernel_log 'ACPI: Table Upgrade: override \[IORT' || failed=1
unit smmuv3-probed in_kernel_log 'arm-smmu-v3 .*: allocated [0-9]* entries for cmdq' || failed=1
unit edu-on-vfio-pci on_vfio_pci "${edu%%=*}" || failed=1
unit smmu-nested ./smmu-nested "${edu#*=}" || failed=1
exit "$failed"
