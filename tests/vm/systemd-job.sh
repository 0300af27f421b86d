#!/bin/bash
# The job of the systemd profile of the test VM: viommu-job.service (written
# by tests/vm/systemd-init.sh) runs it once systemd has booted, and stops the
# machine when it ends. Like guest-init.sh for the other profiles, it runs
# the job's command and reports through the share at /viommu-job:
#   job        sourced: workdir, share, command (an array)
#   status     written: COMMAND's exit status
#   kernel.log written: the kernel log after COMMAND
#   test-driver, logs/  automake's test driver, and the logs it writes
#              (test_program in markers.sh)
#   journal    written: the journal of the boot, after COMMAND
# shellcheck disable=SC2154 # the job file sets workdir, share, command
set -uo pipefail

job=/viommu-job
# shellcheck source=/dev/null
. "$job/job"

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8
VIOMMU_TEST_KERNEL=$(uname -r)
export VIOMMU_TEST_PROFILE=systemd VIOMMU_TEST_KERNEL
export VIOMMU_TEST_DRIVER=$job/test-driver VIOMMU_TEST_LOG_DIR=$job/logs
[ -z "$share" ] || export VIOMMU_TEST_SHARE=$share

# The job's own start job is done once it runs: the boot can finish.
state=$(systemctl is-system-running --wait)
read -r uptime _ </proc/uptime
echo "viommu-vm: Linux $VIOMMU_TEST_KERNEL, profile systemd, up in ${uptime}s, system $state"
systemd-analyze time | sed -n 's/^Startup finished/viommu-vm: startup finished/p'
[ "$state" = running ] || systemctl --no-pager --failed
[ -z "$share" ] || echo "viommu-vm: VIOMMU_TEST_SHARE=$share"

# With run-vm.sh --vtd, the test devices on vfio-pci, as in the vtd profile.
# shellcheck source=vfio-bind.sh
. "$(dirname "$0")/vfio-bind.sh"
status=0
if [ -n "$(pci_find $VFIO_TEST_IDS)" ]; then
	if vfio_bind_test_devices; then
		echo "viommu-vm: VIOMMU_TEST_VFIO_DEVICES=$VIOMMU_TEST_VFIO_DEVICES"
	else
		echo "viommu-vm: the edu and e1000e devices did not both bind to vfio-pci"
		status=1
	fi
fi

[ "$status" -ne 0 ] || { cd "$workdir" && "${command[@]}" </dev/null; } || status=$?
echo "$status" >"$job/status"
dmesg >"$job/kernel.log"
journalctl -b --no-pager >"$job/journal" 2>&1
# The machine stops without unmounting anything.
sync
echo "viommu-vm: exit status $status"
