#!/bin/bash
# Boot a viommu test kernel under QEMU and run one command inside it.
#
#   tests/vm/run-vm.sh --kernel SERIES --profile mock|vtd|systemd|smmu
#                      [--share HOSTDIR] [--install DESTDIR] [--vtd]
#                      [--logs DIR] [--timeout SECONDS] -- COMMAND [ARGS...]
#
# The guest sees the host's root file system read-only and runs COMMAND as
# root in the current directory. In the systemd profile the guest boots a
# Debian trixie root (tests/vm/trixie-root.sh --systemd) with systemd as PID 1
# instead, writable on a tmpfs, with DESTDIR (a make install DESTDIR= tree)
# layered over it, and runs COMMAND from a service once the boot is done; it
# sees of the host only HOSTDIR, and the current directory must be in it;
# --vtd gives it the vtd profile's emulated VT-d with edu and e1000e on
# vfio-pci (Linux 6.12's mock devices fail beside the VT-d).
# The smmu profile is an arm64 machine with QEMU's emulated SMMUv3 and an edu
# device on vfio-pci, booted from an initramfs with busybox (smmu-init.sh):
# COMMAND runs there, from the host only the --share directory is visible.
# $VIOMMU_VM_IORT, if set, is the cpio with its IORT override, empty for
# QEMU's own table (smmu-iort.sh reads that).
# The guest's test programs run under automake's test driver (test_program
# in markers.sh); with --logs their logs come back into DIR, emptied first,
# whatever the guest's end.
# Exit status: COMMAND's; 124 if the guest did
# not finish within the timeout ($VIOMMU_VM_TIMEOUT, default 600 s); 125 if the
# guest stopped without reporting a status; 2 for usage or missing packages.
# $VIOMMU_VM_APPEND is appended to the kernel command line.
# shellcheck disable=SC2054 # QEMU options have commas
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

usage() {
	echo "usage: run-vm.sh --kernel SERIES --profile mock|vtd|systemd|smmu [--share HOSTDIR]" \
		"[--install DESTDIR] [--vtd] [--logs DIR] [--timeout SECONDS] -- COMMAND [ARGS...]" >&2
	exit 2
}

fail() {
	echo "run-vm: $*" >&2
	exit 2
}

series='' profile='' share='' destdir='' logs='' vtd=no timeout=${VIOMMU_VM_TIMEOUT:-600}
while [ $# -gt 0 ]; do
	case $1 in
	--vtd) vtd=yes; shift ;;
	--kernel | --profile | --share | --install | --logs | --timeout)
		[ $# -ge 2 ] || usage
		case $1 in
		--kernel) series=$2 ;;
		--profile) profile=$2 ;;
		--share) share=$(realpath -e "$2" 2>/dev/null) || fail "no such directory: $2" ;;
		--install) destdir=$(realpath -e "$2" 2>/dev/null) || fail "no such directory: $2" ;;
		--logs) logs=$2 ;;
		--timeout) timeout=$2 ;;
		esac
		shift 2
		;;
	--) shift; break ;;
	*) usage ;;
	esac
done
if [ -z "$series" ] || [ -z "$profile" ] || [ $# -eq 0 ]; then
	usage
fi
[[ $timeout =~ ^[1-9][0-9]*$ ]] || fail "timeout must be a number of seconds: $timeout"
[ -z "$share" ] || [ -d "$share" ] || fail "not a directory: $share"
[ -z "$destdir" ] || [ "$profile" = systemd ] || fail "--install is for the systemd profile"
[ "$vtd" = no ] || [ "$profile" = systemd ] || fail "--vtd is for the systemd profile"
[ "$profile" = smmu ] || command -v qemu-system-x86_64 >/dev/null ||
	fail "qemu-system-x86_64 not found; install the Debian package qemu-system-x86"

# The guest mounts its own /tmp and /run over the host's.
workdir=$PWD
if [ "$profile" != smmu ] && [[ $workdir/ == /tmp/* || $workdir/ == /run/* ]] &&
	[[ -z $share || $workdir/ != "$share"/* ]]; then
	fail "the guest cannot see $workdir (its /tmp and /run are private); pass it with --share"
fi
if [ "$profile" = systemd ] && [[ -z $share || $workdir/ != "$share"/* ]]; then
	fail "the systemd guest sees of the host only the --share directory; run from inside it"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/viommu-vm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

init=$here/guest-init.sh quiet=quiet sysroot='' qemu=(qemu-system-x86_64) uefi=
# The VT-d machine's test devices (tests/vm/vfio-bind.sh puts them on
# vfio-pci): the IOMMU comes first so that it translates for the devices
# after it, edu before the e1000e. The NIC's peer is a socket nothing
# connects to: no network at all.
# The second e1000e, at a fixed address (vfio-bind.sh's VFIO_HOST_NIC),
# stays on its driver at boot: the device binding tests take it. Behind a
# PCIe-to-PCI bridge, which the IOMMU sees as one requester, a virtio RNG on
# virtio-pci and a pci-testdev with no driver share one IOMMU group: a
# group vfio-pci cannot take whole. A VGA, which the firmware makes the boot
# VGA device, that no one may take from the host.
vtd_machine=(-device intel-iommu,intremap=on -device edu -device e1000e,romfile=,netdev=nowhere
	-netdev "stream,id=nowhere,server=on,addr.type=unix,addr.path=${tmp//,/,,}/nic"
	-device e1000e,romfile=,netdev=hostnic,addr=0x10
	-netdev "stream,id=hostnic,server=on,addr.type=unix,addr.path=${tmp//,/,,}/hostnic"
	-device pcie-pci-bridge,id=pcibr,addr=0x11 -device virtio-rng-pci,bus=pcibr,addr=0x1
	-device pci-testdev,bus=pcibr,addr=0x2 -device VGA,addr=0x12)
case $profile in
mock)
	machine=(-M q35)
	profile_args=''
	;;
systemd)
	machine=(-M q35)
	# The console shows units that fail (quiet would hide them too) and
	# the kernel's warnings.
	quiet=''
	profile_args="loglevel=4 systemd.show_status=error"
	if [ "$vtd" = yes ]; then
		machine+=("${vtd_machine[@]}")
		profile_args+=" intel_iommu=on,sm_on"
	fi
	sysroot=$("$here/trixie-root.sh" --systemd) || fail "no trixie root for systemd"
	init=$here/systemd-init.sh
	;;
vtd)
	machine=(-M q35 "${vtd_machine[@]}")
	profile_args=intel_iommu=on,sm_on
	;;
smmu)
	# The virt machine always builds its SMMUv3 with stage 1 and 2; with
	# GICv2 MSIs are not isolated and VFIO refuses the device. UEFI boots
	# the kernel with ACPI, for the IORT override.
	arm64_root=$("$here/trixie-root.sh" --arm64) || fail "no trixie root with QEMU for arm64"
	qemu=("$arm64_root/lib64/ld-linux-x86-64.so.2" --library-path "$arm64_root/usr/lib/x86_64-linux-gnu"
		"$arm64_root/usr/bin/qemu-system-aarch64" -L "$arm64_root/usr/share/qemu")
	machine=(-M virt,iommu=smmuv3,gic-version=3 -cpu max
		-bios "$arm64_root/usr/share/qemu-efi-aarch64/QEMU_EFI.fd" -device edu)
	uefi=yes
	if [ -z "${VIOMMU_VM_IORT+set}" ]; then
		VIOMMU_VM_IORT=$("$here/smmu-iort.sh" "$series") || fail "no IORT override"
	fi
	"$here/smmu-initrd.sh" "$tmp/busybox.cpio" || fail "no initramfs"
	# The table upgrade reads only an uncompressed cpio at the start.
	cat ${VIOMMU_VM_IORT:+"$VIOMMU_VM_IORT"} "$tmp/busybox.cpio" >"$tmp/initrd"
	rm "$tmp/busybox.cpio"
	;;
*) usage ;;
esac

mkdir "$tmp/job" "$tmp/job/logs"
cp "$here/../../build-aux/test-driver" "$tmp/job/"
if [ "$profile" = smmu ]; then
	kernel=$("$here/build-kernel.sh" --arch arm64 "$series")
	# busybox sh reads the job: POSIX words, single-quoted.
	quote() {
		local word q="'\\''"
		for word; do
			printf "'%s' " "${word//\'/$q}"
		done
	}
	{
		echo "profile=$(quote "$profile") workdir=$(quote "$workdir") share=$(quote "$share")"
		echo "set -- $(quote "$@")"
	} >"$tmp/job/job"
	cmdline="console=ttyAMA0 $quiet panic=-1 ${VIOMMU_VM_APPEND:-}"
	boot=(-kernel "$kernel/Image" -initrd "$tmp/initrd")
else
	kernel=$("$here/build-kernel.sh" "$series")
	(
		command=("$@")
		declare -p profile workdir share command sysroot destdir
	) >"$tmp/job/job"
	cmdline="console=ttyS0 $quiet panic=-1 root=/dev/root rootfstype=9p ro
rootflags=trans=virtio,version=9p2000.L,msize=262144
init=$init $profile_args ${VIOMMU_VM_APPEND:-}"
	boot=(-kernel "$kernel/bzImage"
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
		-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root)
fi

# QEMU option values escape a comma by doubling it.
qemu+=(-accel tcg -m 1G -nodefaults -display none -no-reboot
	"${machine[@]}"
	"${boot[@]}"
	-append "${cmdline//$'\n'/ }"
	-fsdev "local,id=job,path=${tmp//,/,,}/job,security_model=none"
	-device virtio-9p-pci,fsdev=job,mount_tag=viommu-job
	-chardev "stdio,id=console,signal=off,logfile=${tmp//,/,,}/console.log"
	-serial chardev:console)
if [ -n "$share" ]; then
	qemu+=(-fsdev "local,id=share,path=${share//,/,,},security_model=none"
		-device virtio-9p-pci,fsdev=share,mount_tag=viommu-share)
fi

# The serial console ends lines with CR LF; the kernel's shutdown messages after
# the guest's last line are left to the log. UEFI clears the screen.
rc=0
timeout -k 10 "$timeout" "${qemu[@]}" </dev/null |
	sed -u -e 's/\r*$//' ${uefi:+-e 's/\x1b\[[0-9;=]*[A-Za-z]//g'} \
		-e '1,/viommu-vm: exit status [0-9]*$/!d' || rc=$?

if [ -n "$logs" ]; then
	rm -rf "$logs"
	mkdir -p "$logs"
	cp -r "$tmp/job/logs/." "$logs/"
fi

keep_log() {
	trap - EXIT
	echo "run-vm: $*; logs kept in $tmp" >&2
}
if [ "$rc" -eq 124 ]; then
	keep_log "the guest did not finish within $timeout s"
	exit 124
fi
if [ ! -s "$tmp/job/status" ]; then
	keep_log "the guest stopped without reporting an exit status (QEMU: $rc)"
	exit 125
fi
# The systemd guest leaves its journal, worth keeping when the command failed.
if [ "$profile" = systemd ] && [ "$(<"$tmp/job/status")" != 0 ]; then
	keep_log "the command failed"
fi
exit "$(<"$tmp/job/status")"
