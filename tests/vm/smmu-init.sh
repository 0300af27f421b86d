#!/bin/busybox sh
# PID 1 of the arm64 test VM (run-vm.sh --profile smmu), /init of its
# initramfs (smmu-initrd.sh). The host's binaries are x86, so the guest has
# busybox and what comes through the --share directory. The job protocol is
# guest-init.sh's, with the job file in POSIX sh: it sets profile, workdir
# and share, and the positional parameters to COMMAND.
# shellcheck shell=dash disable=SC2154 # the job file sets profile, workdir, share
/bin/busybox --install -s /bin
export PATH=/bin HOME=/tmp
set -eu

job=/run/viommu-job
# Whatever happens, stop the machine; QEMU runs with -no-reboot and exits.
trap 'sync; poweroff -f' EXIT

fail() {
	echo "smmu-init: $*" >&2
	exit 1
}

mount_9p() {
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$1" "$2"
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mkdir "$job"
mount_9p viommu-job "$job"
# shellcheck source=/dev/null
. "$job/job"
# shellcheck source=vfio-bind.sh
. /vfio-bind.sh

[ -c /dev/iommu ] || fail "/dev/iommu is missing"
# The virt machine has one test device, edu.
vfio_bind_test_devices 1 || fail "the edu device did not bind to vfio-pci"
VIOMMU_TEST_KERNEL=$(uname -r)
export VIOMMU_TEST_PROFILE="$profile" VIOMMU_TEST_KERNEL
export VIOMMU_TEST_DRIVER="$job/test-driver" VIOMMU_TEST_LOG_DIR="$job/logs"

if [ -n "$share" ]; then
	mkdir -p "$share"
	mount_9p viommu-share "$share"
	export VIOMMU_TEST_SHARE="$share"
fi

read -r uptime _ </proc/uptime
echo "viommu-vm: Linux $VIOMMU_TEST_KERNEL, profile $profile, up in ${uptime}s"
echo "viommu-vm: VIOMMU_TEST_VFIO_DEVICES=$VIOMMU_TEST_VFIO_DEVICES"
[ -z "$share" ] || echo "viommu-vm: VIOMMU_TEST_SHARE=$share"

# Outside the share the host's directories do not exist here.
cd "$workdir" 2>/dev/null || cd /
status=0
"$@" </dev/null || status=$?
echo "$status" >"$job/status"
dmesg >"$job/kernel.log"
echo "viommu-vm: exit status $status"
