#!/bin/bash
# Build (or take from the cache) a test kernel for one series.
#
#   tests/vm/build-kernel.sh [--arch arm64] 6.12|7.3
#
# Prints the cache directory holding bzImage (x86) or Image (arm64, cross
# built), include/ (headers_install), iommufd_test.h, config and VERSION.
# The cache key is a hash of the config fragments, the build recipe's
# revision, the architecture and the exact Debian source package version, so
# a second run does not rebuild. Cache root: $VIOMMU_VM_CACHE, default
# /var/cache/viommu-vm. $VIOMMU_KERNEL_JOBS make jobs (default: one a CPU).
set -euo pipefail

usage() {
	echo "usage: build-kernel.sh [--arch arm64] SERIES" >&2
	exit 2
}
arch=x86
if [ "${1:-}" = --arch ]; then
	[ "${2:-}" = arm64 ] || usage
	arch=arm64
	shift 2
fi
[ $# -eq 1 ] || usage
series=$1
# Bump when build() below changes what it produces.
recipe=1
here=$(cd "$(dirname "$0")" && pwd)
cache=${VIOMMU_VM_CACHE:-/var/cache/viommu-vm}
fragment=$here/kernel.fragment
mkdir -p "$cache"

# The arm64 kernel takes kernel.fragment without the options its own fragment
# drops (lines !OPTION: x86 only) and with the ones it adds.
if [ "$arch" = arm64 ]; then
	arch_fragment=$here/kernel-arm64.fragment
	make_args=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
	image=arch/arm64/boot/Image
	target=Image
	name=linux-arm64-$series
else
	arch_fragment=/dev/null
	make_args=()
	image=arch/x86/boot/bzImage
	target=bzImage
	name=linux-$series
fi
options() {
	grep -vhx '#.*\|!.*' "$fragment" "$arch_fragment" |
		grep -vxF -f <(sed -n 's/^!//p' "$arch_fragment")
}

need() {
	command -v "$1" >/dev/null 2>&1 || {
		echo "build-kernel: '$1' not found; install the Debian package '$2'" >&2
		exit 2
	}
}
need gcc gcc; need make make; need flex flex; need bison bison; need bc bc
[ "$arch" = x86 ] || need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
need xz xz-utils; need dpkg-deb dpkg; need apt-get apt; need rsync rsync
[ -e /usr/include/libelf.h ] || { echo "build-kernel: libelf.h missing; install libelf-dev" >&2; exit 2; }
[ -e /usr/include/openssl/ssl.h ] || { echo "build-kernel: openssl headers missing; install libssl-dev" >&2; exit 2; }

# Bookworm carries linux-source-6.12; newer series come from trixie-backports
# through a private apt state, using the mirror the system is configured with.
fetch_backports() {
	local want=$1 apt=$cache/apt mirror pkg
	mkdir -p "$apt/lists/partial" "$apt/debs"
	mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' |
		awk '$2 ~ /^[a-z]+$/ { print $1; exit }')
	[ -n "$mirror" ] || { echo "build-kernel: no Debian mirror in the apt configuration" >&2; exit 2; }
	echo "deb ${mirror%/} trixie-backports main" >"$apt/sources.list"
	local opts=(-o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=-
		-o Dir::State::Lists="$apt/lists" -o APT::Get::List-Cleanup=0)
	pkg=linux-source-$want
	# The package lists are fetched when they lack the series asked for, so
	# a later run works offline.
	if ! apt-cache "${opts[@]}" show "$pkg" >/dev/null 2>&1; then
		apt-get -qq "${opts[@]}" update >&2
	fi
	if ! apt-cache "${opts[@]}" show "$pkg" >/dev/null 2>&1; then
		pkg=$(apt-cache "${opts[@]}" search '^linux-source-[0-9.]+$' |
			awk '{ print $1 }' | sort -V | tail -n1)
		[ -n "$pkg" ] || { echo "build-kernel: trixie-backports offers no linux-source" >&2; exit 2; }
		echo "build-kernel: $want is gone from trixie-backports, using $pkg" >&2
	fi
	series=${pkg#linux-source-}
	version=$(apt-cache "${opts[@]}" show "$pkg" | awk '/^Version:/ { print $2; exit }')
	local deb=$apt/debs/${pkg}_${version}.deb
	if [ ! -s "$deb" ]; then
		(cd "$apt/debs" && apt-get -qq "${opts[@]}" download "$pkg" >&2)
		mv "$apt/debs/${pkg}_"*"${version#*:}"*_all.deb "$deb"
	fi
	tarball_deb=$deb
}

tarball_deb=
if [ "$series" = 6.12 ]; then
	dpkg -s linux-source-6.12 >/dev/null 2>&1 || {
		echo "build-kernel: install the Debian package linux-source-6.12" >&2; exit 2; }
	version=$(dpkg-query -W -f '${Version}' linux-source-6.12)
else
	fetch_backports "$series"
fi

if [ "$arch" = x86 ]; then
	key=$(cat "$fragment" <(echo "recipe $recipe $series $version") | sha256sum | cut -c1-16)
else
	key=$(cat "$fragment" "$arch_fragment" <(echo "recipe $recipe $series $version $arch") |
		sha256sum | cut -c1-16)
fi
out=$cache/$name-$key
# One build per kernel at a time; a second caller waits and takes the result.
exec 9>"$cache/.lock-${name#linux-}"
flock 9
if [ -s "$out/$target" ]; then
	echo "$out"
	exit 0
fi

work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -n "$tarball_deb" ]; then
	dpkg-deb -x "$tarball_deb" "$work/pkg"
	tarball=$work/pkg/usr/src/linux-source-$series.tar.xz
else
	tarball=/usr/src/linux-source-$series.tar.xz
fi
echo "build-kernel: building Linux $series ($version) for $arch, takes a few minutes" >&2
tar -C "$work" -xf "$tarball"
src=$work/linux-source-$series
build() {
	set -e
	make -C "$src" "${make_args[@]}" tinyconfig
	"$src/scripts/config" --file "$src/.config" \
		$(options | sed 's/^/--enable /')
	make -C "$src" "${make_args[@]}" olddefconfig
	missing=$(options | while read -r opt; do
		grep -q "^CONFIG_$opt=y" "$src/.config" || echo "$opt"; done)
	# IOMMU_PT_AMDV1 only exists on newer kernels, PROC_SYSCTL only on older
	# ones (newer kernels fold it into SYSCTL); everything else must stick.
	missing=$(echo "$missing" | grep -vx 'IOMMU_PT_AMDV1\|PROC_SYSCTL' || true)
	if [ -n "$missing" ]; then
		echo "build-kernel: options did not stick: $missing" >&2
		return 1
	fi
	make -C "$src" "${make_args[@]}" -j"${VIOMMU_KERNEL_JOBS:-$(nproc)}" "$target"
	make -C "$src" "${make_args[@]}" headers_install INSTALL_HDR_PATH="$work/out"
}
if ! build >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	exit 1
fi

cp "$src/$image" "$work/out/"
cp "$src/drivers/iommu/iommufd/iommufd_test.h" "$work/out/"
cp "$src/.config" "$work/out/config"
echo "$series $version $arch" >"$work/out/VERSION"
rm -rf "$out"
mv "$work/out" "$out"
echo "$out"
