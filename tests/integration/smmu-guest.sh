#!/bin/sh
# The smmu profile's tests, run in the arm64 guest by busybox sh from the
# directory tests/vm/smmu-build-tests.sh filled (OUTDIR, under SRC, the
# source tree, both shared with the guest):
#   cd OUTDIR && tests/vm/run-vm.sh --kernel 7.3 --profile smmu --share SRC -- ./smmu-guest.sh SRC
# The kernel took the CANWBS IORT, arm-smmu-v3 probed QEMU's SMMUv3, edu is
# on vfio-pci by driver_override, smmu-nested's flow passes on the real
# driver, and so does viommud's (tests/integration/smmu-daemon.sh) on the
# arm64 userland in OUTDIR/root. Each is a test between tests/summarize's
# markers.
# shellcheck shell=dash source-path=SCRIPTDIR source=../vm/markers.sh disable=SC2317 # called through unit
. ./markers.sh
set -u

# Each check ends in its verdict line, "NAME: PASS: WHAT", which
# tests/summarize counts; a check that fails exits non-zero.

# in_kernel_log NAME PATTERN: the kernel logged a line matching PATTERN.
in_kernel_log() {
	local line
	line=$(dmesg | grep -m 1 "$2") || { echo "smmu-guest: no '$2' in the kernel log"; return 1; }
	echo "$1: PASS: ${line#*] }"
}

# on_vfio_pci NAME BDF: bound to vfio-pci, which driver_override asked for.
on_vfio_pci() {
	local dev=/sys/bus/pci/devices/$2 override driver
	read -r override <"$dev/driver_override"
	driver=$(readlink "$dev/driver")
	echo "smmu-guest: $2 driver_override $override, driver ${driver##*/}"
	[ "$override" = vfio-pci ] && [ "${driver##*/}" = vfio-pci ] || return 1
	echo "$1: PASS: $2 on vfio-pci"
}

# arm64_userland: OUTDIR/root becomes the guest's /usr (and /lib, through
# it, the dynamic loader's), beside the initramfs's busybox in /bin.
arm64_userland() {
	[ -d "$PWD/root/usr/lib" ] || { echo "smmu-guest: no $PWD/root: run tests/vm/smmu-build-tests.sh"; return 1; }
	ln -s "$PWD/root/usr" /usr && ln -s usr/lib /lib && ln -s /usr/bin/bash /bin/bash || return 1
	mkdir -p /etc
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >/etc/passwd
	printf 'root:x:0:\nnogroup:x:65534:\n' >/etc/group
	# dbus-daemon wants a machine id.
	echo 5d4f6d6a0e7c4e0a9b3c2d1e0f1a2b3c >/etc/machine-id
	/usr/bin/bash -c 'echo "arm64-userland: PASS: bash $BASH_VERSION runs from the arm64 root"'
}

src=${1:?usage: smmu-guest.sh SRC}
edu=${VIOMMU_TEST_VFIO_DEVICES:?the guest bound no device to vfio-pci}
failed=0
unit iort-override in_kernel_log iort-override 'ACPI: Table Upgrade: override \[IORT' || failed=1
unit smmuv3-probed in_kernel_log smmuv3-probed 'arm-smmu-v3 .*: allocated [0-9]* entries for cmdq' || failed=1
unit edu-on-vfio-pci on_vfio_pci edu-on-vfio-pci "${edu%%=*}" || failed=1
unit smmu-nested ./smmu-nested "${edu#*=}" || failed=1
if unit arm64-userland arm64_userland; then
	unit smmu-daemon /bin/bash "$src/tests/integration/smmu-daemon.sh" "$PWD" ||
		failed=1
else
	failed=1
fi
exit "$failed"
