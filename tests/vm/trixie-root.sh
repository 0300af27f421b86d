#!/bin/bash
# Make (once) and cache a Debian trixie root file system: one holding QEMU 10,
# for the test that runs a real VMM on fds handed out by viommud
# (tests/integration/qemu-delegation.sh), with --systemd one that boots
# with systemd as PID 1, for the systemd profile of tests/vm/run-vm.sh, or
# with --arm64 one holding QEMU 10 for arm64 and its UEFI firmware, which
# runs the arm64 test VM on the host (tests/vm/run-vm-arm64.sh).
#
#   tests/vm/trixie-root.sh [--systemd|--arm64]          make the root if
#                                                        needed, print its path
#   tests/vm/trixie-root.sh [--systemd|--arm64] --cached print the path of a
#                                                        root made earlier;
#                                                        exit 1 (and make
#                                                        nothing) if there is
#                                                        none
#
# The QEMU roots are never entered with chroot: their QEMU runs through the
# root's own dynamic loader (see qemu-delegation.sh).
# The systemd root is the lower layer of the guest's overlay root
# (tests/vm/systemd-init.sh); it comes with its boot trimmed: the units a test
# VM does not need are masked, and the boot-time update jobs are marked done.
# A root lives in $VIOMMU_VM_CACHE (default /var/cache/viommu-vm) under
# trixie-root-KEY or trixie-systemd-root-KEY, KEY a hash of the package list
# and this recipe's revision; the test VM sees it read-only at the same path.
# The mirror comes from the system's apt configuration; --cached needs no
# network, so it also works inside the VM.
# Needs root and debootstrap (tests/vm/install-deps.sh installs it).
# shellcheck disable=SC2016 # apt and dpkg formats, not shell expansions
set -euo pipefail

# Bump when the recipe below changes what it produces.
recipe=1
suite=trixie
cache=${VIOMMU_VM_CACHE:-/var/cache/viommu-vm}
# What a test VM booted with systemd does not need: logins, timers, and the
# first-boot questions on the console.
masked="getty.target serial-getty@ttyS0.service systemd-firstboot.service
apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer
systemd-tmpfiles-clean.timer e2scrub_all.timer fstrim.timer"

mode=build flavor=qemu flag=''
for arg in "$@"; do
	case $arg in
	--cached) mode=cached ;;
	--systemd | --arm64) flavor=${arg#--} flag=$arg ;;
	*) echo "usage: trixie-root.sh [--systemd|--arm64] [--cached]" >&2; exit 2 ;;
	esac
done
if [ "$flavor" = systemd ]; then
	name=$suite-systemd-root
	# With what the installed daemon and the test clients link beyond libc,
	# libsystemd and libudev.
	packages="systemd-sysv dbus polkitd udev libpam-systemd libjson-c5 libcmocka0"
	needed=(lib64/ld-linux-x86-64.so.2 usr/lib/systemd/systemd usr/bin/dbus-daemon usr/bin/busctl)
elif [ "$flavor" = arm64 ]; then
	name=$suite-arm64-root
	packages="qemu-system-arm qemu-efi-aarch64"
	masked=''
	qemu=usr/bin/qemu-system-aarch64
	needed=(lib64/ld-linux-x86-64.so.2 "$qemu" usr/share/qemu-efi-aarch64/QEMU_EFI.fd)
else
	name=$suite-root
	packages=qemu-system-x86
	masked=''
	qemu=usr/bin/qemu-system-x86_64
	needed=(lib64/ld-linux-x86-64.so.2 "$qemu")
fi

key=$(printf 'recipe %s\nsuite %s\nvariant minbase\npackages %s\n%s' \
	"$recipe" "$suite" "$packages" "${masked:+masked $masked
}" | sha256sum | cut -c1-16)
out=$cache/$name-$key

# A root is complete once its stamp is there (written last).
if [ -s "$out/.viommu-root" ]; then
	echo "$out"
	exit 0
fi
if [ "$mode" = cached ]; then
	echo "trixie-root: no cached $name in $cache (run tests/vm/trixie-root.sh $flag as root)" >&2
	exit 1
fi

fail() {
	echo "trixie-root: $*" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || fail "making the root needs root (debootstrap)"
command -v debootstrap >/dev/null 2>&1 ||
	fail "debootstrap not found; install the Debian package 'debootstrap'"

mkdir -p "$cache"
# One build at a time; a second caller waits and takes the result.
exec 9>"$cache/.lock-$name"
flock 9
if [ -s "$out/.viommu-root" ]; then
	echo "$out"
	exit 0
fi

# The first plain suite (not -updates, -security) of the system's apt sources.
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' |
	awk '$2 ~ /^[a-z]+$/ { print $1; exit }')
[ -n "$mirror" ] || fail "no Debian mirror in the apt configuration"

work=$(mktemp -d "$cache/$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -m 755 "$root"
echo "trixie-root: debootstrap $suite with $packages from $mirror (a minute or two)" >&2
start=$SECONDS
if ! debootstrap --variant=minbase --include="${packages// /,}" \
	"$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
	tail -n 30 "$work/debootstrap.log" >&2
	[ ! -f "$root/debootstrap/debootstrap.log" ] || tail -n 30 "$root/debootstrap/debootstrap.log" >&2
	fail "debootstrap failed"
fi
# The downloaded packages are not needed to run anything.
rm -f "$root"/var/cache/apt/archives/*.deb

# Everything the test runs must be in the root, not taken from the host.
for f in "${needed[@]}"; do
	[ -e "$root/$f" ] || fail "the $suite root lacks /$f"
done
if [ "$flavor" = systemd ]; then
	# A fixed machine id: no first boot. The update stamps: no ldconfig
	# and catalog jobs at every boot.
	chroot "$root" systemd-machine-id-setup >/dev/null
	chroot "$root" /usr/lib/systemd/systemd-update-done
	for unit in $masked; do
		ln -sf /dev/null "$root/etc/systemd/system/$unit"
	done
	what=$(chroot "$root" /usr/lib/systemd/systemd --version | head -n1)
else
	what=$(chroot "$root" "/$qemu" --version | head -n1)
fi
{
	echo "suite $suite"
	echo "packages $packages"
	echo "recipe $recipe"
	echo "mirror $mirror"
	echo "made with $what"
	chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' | sed 's/^/dpkg /'
} >"$work/stamp"
mv "$work/stamp" "$root/.viommu-root"
rm -rf "$out"
mv "$root" "$out"
echo "trixie-root: made $out in $((SECONDS - start)) s: $what" >&2
echo "$out"
