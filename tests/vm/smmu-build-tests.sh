#!/bin/bash
# Fill OUTDIR with what the arm64 test VM (run-vm.sh --profile smmu) runs:
#  - smmu-nested (tests/integration/smmu-nested.c), the nested flow through
#    libviommu alone, cross-built static for the initramfs's busybox;
#  - root/, the arm64 userland of tests/vm/arm64-root.sh with the project
#    installed into it (prefix /usr), cross-built against that userland's
#    libraries in build/, where the integration test programs stay;
#  - the guest's script, tests/integration/smmu-guest.sh, with markers.sh.
# Both builds take configure's warnings as errors. The source tree must be
# configurable (./autogen.sh has run).
#
#   tests/vm/smmu-build-tests.sh OUTDIR
set -euo pipefail

out=${1:?usage: smmu-build-tests.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
host=aarch64-linux-gnu
cc=$host-gcc
command -v "$cc" >/dev/null ||
	{ echo "smmu-build-tests: $cc not found; install gcc-aarch64-linux-gnu" >&2; exit 2; }
[ -x "$src/configure" ] || { echo "smmu-build-tests: run $src/autogen.sh first" >&2; exit 2; }
read -r -a warn < <(sed -n 's/^WARN_CFLAGS="\(.*\)"$/\1/p' "$src/configure.ac")
# lib/vfio-cdev.c includes libudev.h; what needs libudev is left out by the
# linker, so the header alone (the host's, it is the same on every
# architecture) is enough.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s /usr/include/libudev.h "$tmp/"
"$cc" -std=gnu11 -O2 -D_GNU_SOURCE "${warn[@]}" -Werror -I"$src/lib" -idirafter "$tmp" \
	-static -ffunction-sections -fdata-sections -Wl,--gc-sections -o "$out/smmu-nested" \
	"$src/tests/integration/smmu-nested.c" "$src/tests/integration/smmu-stage1.c" \
	"$src/tests/integration/edu-dma.c" "$src/lib/iommufd.c" "$src/lib/vfio-cdev.c"
cp "$src/tests/integration/smmu-guest.sh" "$src/tests/vm/markers.sh" "$out/"

arm64_root=$("$src/tests/vm/arm64-root.sh")
rm -rf "$out/root"
cp -a "$arm64_root" "$out/root"
libdir=/usr/lib/$host
mkdir -p "$out/build"
(
	cd "$out/build"
	PKG_CONFIG_LIBDIR=$arm64_root$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$arm64_root \
		"$src/configure" -q --host="$host" --enable-werror --prefix=/usr --sysconfdir=/etc \
		--localstatedir=/var --libdir="$libdir" LDFLAGS="-Wl,-rpath-link=$arm64_root$libdir"
	make -s -j"$(nproc)"
	make -s -j"$(nproc)" tests/integration/test-smmu
	make -s install DESTDIR="$out/root"
)

# Every library the guest's programs need is in the root: a package missing
# from arm64-root.sh's list is named here, not by the guest's loader.
lib=$out/root$libdir
missing=0
for elf in "$out"/root/usr/{bin,sbin}/* "$lib"/*.so.* "$out/build/tests/integration/test-smmu"; do
	[ -f "$elf" ] && ! [ -L "$elf" ] || continue
	for needed in $("$host-readelf" -d "$elf" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]$/\1/p'); do
		[ -e "$lib/$needed" ] || { echo "smmu-build-tests: $elf needs $needed, which no package of arm64-root.sh has" >&2; missing=1; }
	done
done
exit "$missing"
