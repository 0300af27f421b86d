#!/bin/bash
# The arm64 userland of the smmu profile's daemon run: Debian bookworm's
# arm64 packages that viommud, viommuctl and their tests need, to build
# against and to run on, with dbus-daemon and bash, unpacked (not installed:
# nothing of it runs on the host) into one directory, /lib merged into
# /usr/lib as on a merged-/usr system. Cached in $VIOMMU_VM_CACHE, keyed by
# the packages' versions and this recipe.
#
#   tests/vm/arm64-root.sh      prints the directory's path
#
# The host needs arm64 among dpkg's architectures (tests/vm/install-deps.sh).
set -euo pipefail

# Bump when the recipe below changes.
recipe=1
cache=${VIOMMU_VM_CACHE:-/var/cache/viommu-vm}
# Headers and link libraries for the cross build, then what runs in the
# guest: the libraries those need, the bus and a shell for the test scripts.
packages=(
	libsystemd-dev libudev-dev libjson-c-dev libsmartcols-dev libcmocka-dev
	libc6 libgcc-s1 libsystemd0 libudev1 libjson-c5 libsmartcols1 libcmocka0
	libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1
	dbus-daemon dbus-bin libdbus-1-3 libexpat1 libapparmor1 libaudit1 libcap-ng0
	libselinux1 libpcre2-8-0 bash libtinfo6 jq libjq1 libonig5
)

fail() {
	echo "arm64-root: $*" >&2
	exit 2
}

versions=()
for p in "${packages[@]}"; do
	v=$(apt-cache show "$p:arm64" 2>/dev/null | awk '/^Version:/ { print $2; exit }') || true
	[ -n "$v" ] ||
		fail "apt knows no $p:arm64: run dpkg --add-architecture arm64 and apt-get update (install-deps.sh does)"
	versions+=("$p=$v")
done
key=$(printf '%s\n' "recipe $recipe" "${versions[@]}" | sha256sum | cut -c1-16)
root=$cache/arm64-root-$key

mkdir -p "$cache"
exec 9>"$cache/.lock-arm64-root"
flock 9
if [ -e "$root/.viommu-root" ]; then
	echo "$root"
	exit 0
fi

tmp=$(mktemp -d "$cache/.arm64-root.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Into a private directory, which apt's _apt user cannot write.
mkdir "$tmp/deb" "$tmp/root"
(cd "$tmp/deb" && apt-get -qq -o APT::Sandbox::User=root download "${versions[@]/=/:arm64=}" >&2) ||
	fail "apt-get download failed"
for deb in "$tmp"/deb/*.deb; do
	dpkg-deb -x "$deb" "$tmp/root"
done
# Merged /usr: the loader's path (/lib/ld-linux-aarch64.so.1) and the
# libraries' directories then all resolve through the guest's /usr.
for d in lib bin sbin; do
	if [ -d "$tmp/root/$d" ]; then
		mkdir -p "$tmp/root/usr/$d"
		cp -a "$tmp/root/$d/." "$tmp/root/usr/$d/"
		rm -rf "${tmp:?}/root/$d"
	fi
done
printf '%s\n' "${versions[@]}" >"$tmp/root/.viommu-root"
mv "$tmp/root" "$root"
echo "$root"
