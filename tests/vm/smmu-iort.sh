#!/bin/bash
# The IORT override of the arm64 test VM (run-vm.sh --profile smmu): QEMU's
# own IORT, read from /sys/firmware/acpi/tables/IORT in one boot, with every
# PCI root complex marked CANWBS (iort_canwbs.py), as kernel/firmware/acpi/
# IORT.aml in an uncompressed cpio, which the kernel's ACPI table upgrade
# takes when it comes first in the initrd. arm-smmu-v3 creates a vIOMMU only
# for a CANWBS root complex (or an SMMU with S2FWB, which QEMU lacks).
#
#   tests/vm/smmu-iort.sh SERIES     prints the cpio's path
#
# SERIES is the kernel the reading boot runs. The table depends on QEMU and
# on the machine's options in run-vm.sh: the cache key is QEMU's version (the
# arm64 trixie root's), the patcher and this recipe's revision.
set -euo pipefail

series=${1:?usage: smmu-iort.sh SERIES}
# Bump when this recipe or the smmu machine in run-vm.sh changes.
recipe=1
here=$(cd "$(dirname "$0")" && pwd)
cache=${VIOMMU_VM_CACHE:-/var/cache/viommu-vm}

fail() {
	echo "smmu-iort: $*" >&2
	exit 2
}
command -v python3 >/dev/null || fail "python3 not found; install the Debian package python3"
command -v cpio >/dev/null || fail "cpio not found; install the Debian package cpio"
root=$("$here/trixie-root.sh" --arm64) || fail "no trixie root with QEMU for arm64"
qemu=$(sed -n 's/^made with //p' "$root/.viommu-root")
key=$(cat "$here/iort_canwbs.py" <(echo "recipe $recipe $qemu") | sha256sum | cut -c1-16)
out=$cache/iort-canwbs-$key.cpio

mkdir -p "$cache"
exec 9>"$cache/.lock-iort"
flock 9
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "smmu-iort: reading the IORT of $qemu" >&2
VIOMMU_VM_IORT='' "$here/run-vm.sh" --kernel "$series" --profile smmu --share "$tmp" \
	--timeout 300 -- cp /sys/firmware/acpi/tables/IORT "$tmp/IORT" >"$tmp/boot.log" 2>&1 || {
	tail -n 20 "$tmp/boot.log" >&2
	fail "the boot that reads the IORT failed"
}
mkdir -p "$tmp/cpio/kernel/firmware/acpi"
python3 "$here/iort_canwbs.py" "$tmp/IORT" "$tmp/cpio/kernel/firmware/acpi/IORT.aml" ||
	fail "QEMU's IORT could not be changed"
(cd "$tmp/cpio" && find kernel | cpio --quiet -o -H newc -R 0:0) >"$out.new"
mv "$out.new" "$out"
echo "$out"
