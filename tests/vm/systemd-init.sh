#!/bin/bash
# PID 1 of the systemd profile of the test VM, until it hands over to systemd.
# run-vm.sh boots the kernel with init= pointing here and the host's root
# read-only over 9p, as for the other profiles; this script makes the guest's
# real root and switches to it:
#   - an overlay on a tmpfs, over the installed tree (the job's destdir, from
#     make install DESTDIR=, if any) over the trixie root of
#     tests/vm/trixie-root.sh --systemd (the job's sysroot);
#   - the job share at /viommu-job and the shared directory at its own path;
#   - the host's /var/cache/viommu-vm, read-only, at its own path;
#   - viommu-job.service, which runs tests/vm/systemd-job.sh once the boot is
#     done, then reboots at once, without stopping anything: QEMU runs with
#     -no-reboot and exits.
# shellcheck disable=SC2154 # the job file sets sysroot, destdir and share
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
new=/mnt/root

# Until systemd runs, a failure stops the machine; QEMU runs with -no-reboot.
trap 'sync; reboot --force --no-wtmp' EXIT

mount_9p() {
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 "$1" "$2"
}

mount -t proc proc /proc
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=755 tmpfs /mnt
mkdir /mnt/job /mnt/upper /mnt/work "$new"
mount_9p viommu-job /mnt/job
# shellcheck source=/dev/null
. /mnt/job/job
if [ -n "$share" ]; then
	mount_9p viommu-share "$share"
fi

lower=$sysroot
[ -z "$destdir" ] || lower=$destdir:$lower
mount -t overlay overlay -o "lowerdir=$lower,upperdir=/mnt/upper,workdir=/mnt/work" "$new"
mkdir "$new/viommu-job"
mount -n --move /mnt/job "$new/viommu-job"
if [ -n "$share" ]; then
	mkdir -p "$new$share"
	mount -n --move "$share" "$new$share"
fi

# The cached roots (QEMU's, for the main job), as the other profiles see
# them in the host's root.
cache=/var/cache/viommu-vm
if [ -d "$cache" ]; then
	mkdir -p "$new$cache"
	mount -n --bind -o ro "$cache" "$new$cache"
fi

# systemd's tmpfs on /tmp would hide a share under it (a checkout in /tmp,
# as CI makes): /tmp stays the overlay's.
ln -s /dev/null "$new/etc/systemd/system/tmp.mount"
install -D -m 755 -t "$new/usr/local/lib/viommu-job" "$here/systemd-job.sh" "$here/vfio-bind.sh"
cat >"$new/etc/systemd/system/viommu-job.service" <<'EOF'
[Unit]
Description=viommu test VM job
After=multi-user.target
SuccessAction=reboot-immediate
FailureAction=reboot-immediate

[Service]
ExecStart=/usr/local/lib/viommu-job/systemd-job.sh
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
EOF
mkdir -p "$new/etc/systemd/system/multi-user.target.wants"
ln -s ../viommu-job.service "$new/etc/systemd/system/multi-user.target.wants/"

trap - EXIT
exec switch_root "$new" /lib/systemd/systemd
