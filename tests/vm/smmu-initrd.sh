#!/bin/bash
# Write the arm64 test VM's initramfs (run-vm.sh --profile smmu) to OUT, an
# uncompressed cpio: busybox (busybox-static from the arm64 archive, cached
# in $VIOMMU_VM_CACHE by its version), smmu-init.sh as /init and
# vfio-bind.sh. It is made for each run, from the scripts as they are.
#
#   tests/vm/smmu-initrd.sh OUT
#
# The host needs arm64 among dpkg's architectures (tests/vm/install-deps.sh).
set -euo pipefail

out=${1:?usage: smmu-initrd.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
cache=${VIOMMU_VM_CACHE:-/var/cache/viommu-vm}

fail() {
	echo "smmu-initrd: $*" >&2
	exit 2
}
command -v cpio >/dev/null || fail "cpio not found; install the Debian package cpio"
pkg='busybox-static:arm64'
version=$(apt-cache show "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }') ||
	true
[ -n "$version" ] ||
	fail "apt knows no $pkg: run dpkg --add-architecture arm64 and apt-get update (install-deps.sh does)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
busybox=$cache/busybox-arm64-${version//:/_}/busybox
if [ ! -x "$busybox" ]; then
	mkdir -p "$cache"
	exec 9>"$cache/.lock-busybox-arm64"
	flock 9
	if [ ! -x "$busybox" ]; then
		# Into a private directory, which apt's _apt user cannot write.
		mkdir "$tmp/deb"
		(cd "$tmp/deb" && apt-get -qq -o APT::Sandbox::User=root download "$pkg=$version" >&2)
		dpkg-deb -x "$tmp"/deb/busybox-static_*_arm64.deb "$tmp/deb/root"
		mkdir -p "${busybox%/*}"
		mv "$tmp/deb/root/bin/busybox" "$busybox.new"
		mv "$busybox.new" "$busybox"
	fi
fi

root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run}
cp "$busybox" "$root/bin/busybox"
cp "$here/smmu-init.sh" "$root/init"
cp "$here/vfio-bind.sh" "$root/vfio-bind.sh"
(cd "$root" && find . | cpio --quiet -o -H newc -R 0:0) >"$out"
