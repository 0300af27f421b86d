#!/bin/bash
# Fill OUTDIR with what the arm64 test VM (run-vm.sh --profile smmu) runs:
# its tests (tests/integration/smmu-guest.sh, with markers.sh) and their
# programs, cross-built static for aarch64, for the guest has only busybox.
# They are built from the sources directly, with configure's warnings as
# errors: the project's own build needs libraries the host has for x86 only.
#
#   tests/vm/smmu-build-tests.sh OUTDIR
set -euo pipefail

out=${1:?usage: smmu-build-tests.sh OUTDIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
cc=aarch64-linux-gnu-gcc
command -v "$cc" >/dev/null ||
	{ echo "smmu-build-tests: $cc not found; install gcc-aarch64-linux-gnu" >&2; exit 2; }
read -r -a warn < <(sed -n 's/^WARN_CFLAGS="\(.*\)"$/\1/p' "$src/configure.ac")
# lib/vfio-cdev.c includes libudev.h; what needs libudev is left out by the
# linker, so the header alone (the host's, it is the same on every
# architecture) is enough.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s /usr/include/libudev.h "$tmp/"
mkdir -p "$out"
"$cc" -std=gnu11 -O2 -D_GNU_SOURCE "${warn[@]}" -Werror -I"$src/lib" -idirafter "$tmp" \
	-static -ffunction-sections -fdata-sections -Wl,--gc-sections -o "$out/smmu-nested" \
	"$src/tests/integration/smmu-nested.c" "$src/tests/integration/edu-dma.c" \
	"$src/lib/iommufd.c" "$src/lib/vfio-cdev.c"
cp "$src/tests/integration/smmu-guest.sh" "$src/tests/vm/markers.sh" "$out/"
