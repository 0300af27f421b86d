# shellcheck shell=dash
# Sourced by the test VM's scripts (guest-init.sh, systemd-job.sh, the arm64
# guest's smmu-init.sh under busybox sh, and the tests they run): PCI devices
# moved between drivers, as an operator does with driver_override.

# pci_driver BDF DRIVER: the device unbound from its driver and, unless
# DRIVER is empty, bound to DRIVER. For vfio-pci it prints BDF=NODE, NODE
# being its VFIO cdev, and fails if none comes within 5 s.
pci_driver() {
	local bdf=$1 driver=$2 dev=/sys/bus/pci/devices/$1 vfio='' node major minor _
	[ ! -e "$dev/driver" ] || echo "$bdf" >"$dev/driver/unbind"
	# An empty line clears the override.
	echo "$driver" >"$dev/driver_override"
	[ -n "$driver" ] || return 0
	echo "$bdf" >/sys/bus/pci/drivers_probe
	[ "$driver" = vfio-pci ] || return 0
	for _ in $(seq 50); do
		vfio=$(ls "$dev/vfio-dev" 2>/dev/null) && [ -n "$vfio" ] && break
		sleep 0.1
	done
	[ -n "$vfio" ] || return 1
	node=/dev/vfio/devices/$vfio
	# Under systemd, udev makes the node; the other profiles run no udev.
	! command -v udevadm >/dev/null || udevadm settle 2>/dev/null || true
	if [ ! -c "$node" ]; then
		IFS=: read -r major minor <"$dev/vfio-dev/$vfio/dev"
		mkdir -p /dev/vfio/devices
		mknod "$node" c "$major" "$minor" || return 1
	fi
	echo "$bdf=$node"
}

# pci_find ID...: the BDFs of the PCI devices with one of the IDs
# (vendor:device in hex, as 1234:11e8), one a line.
pci_find() {
	local dev vendor device
	for dev in /sys/bus/pci/devices/*; do
		read -r vendor <"$dev/vendor"
		read -r device <"$dev/device"
		case " $* " in
		*" ${vendor#0x}:${device#0x} "*) echo "${dev##*/}" ;;
		esac
	done
}

# The test devices of run-vm.sh's VT-d machines: QEMU's edu (a DMA engine)
# and an e1000e; and a second e1000e, at a fixed address, left on its driver
# for the device binding tests (VIOMMU_TEST_HOST_NIC, exported).
VFIO_TEST_IDS="1234:11e8 8086:10d3"
VFIO_HOST_NIC=0000:00:10.0

# vfio_bind_test_devices [COUNT]: every test device on vfio-pci, and
# VIOMMU_TEST_VFIO_DEVICES (exported) their "BDF=NODE BDF=NODE". Fails unless
# there are COUNT (default two) and all bound.
vfio_bind_test_devices() {
	local want=${1:-2} bdf pair devices='' count=0
	for bdf in $(pci_find $VFIO_TEST_IDS); do
		[ "$bdf" != "$VFIO_HOST_NIC" ] || continue
		pair=$(pci_driver "$bdf" vfio-pci) || return 1
		devices=${devices:+$devices }$pair
		count=$((count + 1))
	done
	[ "$count" -eq "$want" ] || return 1
	export VIOMMU_TEST_VFIO_DEVICES="$devices"
	[ ! -e "/sys/bus/pci/devices/$VFIO_HOST_NIC" ] || export VIOMMU_TEST_HOST_NIC=$VFIO_HOST_NIC
}
