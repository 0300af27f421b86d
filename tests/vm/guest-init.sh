#!/bin/bash
# PID 1 of the viommu test VM; run-vm.sh boots the kernel with init= pointing
# here. The root file system is the host's, read-only over 9p. The job comes in
# and the result goes out through the writable 9p share tagged viommu-job:
#   job        sourced: profile, workdir, share, command (an array)
#   status     written: COMMAND's exit status
#   kernel.log written: the kernel log after COMMAND
#   test-driver, logs/  automake's test driver, and the logs it writes
#              (test_program in markers.sh)
# shellcheck disable=SC2154 # the job file sets profile, workdir, share, command
set -euo pipefail

job=/run/viommu-job
# Read before /tmp is mounted over, where a checkout of this may be.
# shellcheck source=vfio-bind.sh
. "$(dirname "$0")/vfio-bind.sh"

# Whatever happens, stop the machine; QEMU runs with -no-reboot and exits.
trap 'sync; reboot --force --no-wtmp' EXIT

fail() {
	echo "guest-init: $*" >&2
	exit 1
}

mount_9p() {
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$1" "$2"
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
# Terminals for script(1): viommuctl's pager and colour are for terminals only.
mountpoint -q /dev/pts || { mkdir -p /dev/pts && mount -t devpts -o mode=620,ptmxmode=666 devpts /dev/pts; }
mkdir -p /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mkdir "$job"
mount_9p viommu-job "$job"

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8

# shellcheck source=/dev/null
. "$job/job"

[ -c /dev/iommu ] || fail "/dev/iommu is missing"
case $profile in
mock) ;;
vtd) vfio_bind_test_devices || fail "the edu and e1000e devices did not both bind to vfio-pci" ;;
*) fail "unknown profile '$profile'" ;;
esac
VIOMMU_TEST_KERNEL=$(uname -r)
export VIOMMU_TEST_PROFILE=$profile VIOMMU_TEST_KERNEL
export VIOMMU_TEST_DRIVER=$job/test-driver VIOMMU_TEST_LOG_DIR=$job/logs

if [ -n "$share" ]; then
	mkdir -p "$share"
	mount_9p viommu-share "$share"
	export VIOMMU_TEST_SHARE=$share
fi

read -r uptime _ </proc/uptime
echo "viommu-vm: Linux $VIOMMU_TEST_KERNEL, profile $profile, up in ${uptime}s"
for var in VIOMMU_TEST_VFIO_DEVICES VIOMMU_TEST_SHARE; do
	[ -z "${!var:-}" ] || echo "viommu-vm: $var=${!var}"
done

cd "$workdir"
status=0
"${command[@]}" </dev/null || status=$?
echo "$status" >"$job/status"
dmesg >"$job/kernel.log"
echo "viommu-vm: exit status $status"
