#!/bin/bash
# Device binding through viommud, on the vtd profile's second e1000e
# (VIOMMU_TEST_HOST_NIC, on the e1000e driver at boot): Device.BindVfio and
# UnbindVfio, viommuctl bind and unbind, a claim and its release with the
# device given back to e1000e, a claim that binds (ClaimDeviceWithFlags with
# CLAIM_BIND_VFIO) and gives back when the session ends, and the refusals,
# each by its error name, each leaving the device on e1000e: an interface
# up without force, a caller neither viommud.conf nor polkit allows (a
# rule without "bind" allows claiming only), a
# device on vfio-pci already, unknown flags, a claimed device, an IOMMU
# group shared with a device on another host driver (when the machine has
# one). A bind held in its child (a test hook stands in for a slow driver)
# and a give-back that waits for every open of the VFIO device: the daemon
# answers meanwhile.
#
#   tests/integration/bind.sh BUILDDIR
#
# Runs as root inside the vtd-profile test VM. Exit status: 0 passed,
# 1 failed, 77 skipped (no VIOMMU_TEST_HOST_NIC).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bind.sh BUILDDIR}
viommud=$build/daemon/viommud
viommuctl=$build/cli/viommuctl

fail() { echo "bind: FAIL: $*"; exit 1; }
nic=${VIOMMU_TEST_HOST_NIC:-}
[ -n "$nic" ] || { echo "bind: SKIP: no host NIC (the vtd profile's second e1000e)"; exit 77; }
dev=/sys/bus/pci/devices/$nic

# driver_in DIR: the driver of the device in sysfs directory DIR; none: none.
driver_in() { if [ -e "$1/driver" ]; then basename "$(readlink "$1/driver")"; else echo none; fi; }
driver_of() { driver_in "$dev"; }
netdev_of() { find "$dev/net" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | head -n 1; }
# wait_driver DRIVER: until the device is on DRIVER (none: no driver), 10 s.
wait_driver() {
	for _ in $(seq 100); do [ "$(driver_of)" = "$1" ] && return 0; sleep 0.1; done
	fail "$nic is on $(driver_of), not $1"
}
[ "$(driver_of)" = e1000e ] || fail "$nic is not on e1000e at the start but on $(driver_of)"

run=$(mktemp -d /run/viommu-bind.XXXXXX)
chmod 755 "$run"   # the bus, for the unprivileged caller
# shellcheck source-path=SCRIPTDIR source=private-bus.sh
. "$here/private-bus.sh"
cleanup() {
	local rc=$?
	private_bus_stop
	[ "$rc" -eq 0 ] || sed 's/^/  viommud: /' "$run/viommud.log" 2>/dev/null || true
	rm -rf "$run"
	# Whatever happened, the NIC goes back to e1000e for the tests after.
	if [ "$(driver_of)" != e1000e ]; then
		[ ! -e "$dev/driver" ] || echo "$nic" >"$dev/driver/unbind"
		echo >"$dev/driver_override"
		echo "$nic" >/sys/bus/pci/drivers_probe || true
	fi
}
trap cleanup EXIT

# uid 1 may claim and bind the NIC; uid 2 may only claim it.
cat >"$run/viommud.conf" <<CONF
{ "allow": [ { "devices": [ { "pci": "$nic" } ], "users": [ 1 ], "bind": true },
             { "devices": [ { "pci": "$nic" } ], "users": [ 2 ] } ] }
CONF
private_bus_start "$run" || fail "dbus-daemon did not start"
# While this file exists, the daemon's child that moves a device waits
# before it does (a test hook): a driver's slow unbind, on demand.
export VIOMMU_TEST_MOVE_HOLD=$run/hold
# While this one exists, the daemon cannot watch that child by a pidfd (a
# test hook): as when its fds ran out.
export VIOMMU_TEST_NO_PIDFD=$run/no-pidfd
private_bus_viommud "$viommud" "$run/viommud.log" --config="$run/viommud.conf" -v ||
	fail "viommud did not take its bus name"

b() { busctl --system --timeout=30 "$@"; }
# g OBJECT INTERFACE.METHOD ARGS...: gdbus, which names the error of a failed call.
g() { gdbus call --system --timeout 30 --dest org.viommu1 --object-path "$1" --method "${@:2}"; }
path_of() { sed -n 's/^[^ ]* "\([^"]*\)".*/\1/p'; }
# expect ERROR COMMAND...: COMMAND fails with the D-Bus error ERROR, and
# the device stays where it was.
expect() {
	local name=$1 out before
	shift
	before=$(driver_of)
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded; expected $name"
	fi
	[[ $out == *"$name"* ]] || fail "'$*' failed with: $out; expected $name"
	[ "$(driver_of)" = "$before" ] || fail "'$*' failed but moved $nic from $before to $(driver_of)"
	echo "bind: ok: refused with $name: ${out//$'\n'/ }"
}
device=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager GetDevice s "$nic" | path_of)
[ -n "$device" ] || fail "GetDevice $nic gave no path"
property() { b get-property org.viommu1 "$device" org.viommu1.Device "$1"; }
[ "$(property Driver)" = 's "e1000e"' ] || fail "Device.Driver of $nic is $(property Driver), not e1000e"

# ---- refusals, each leaving the device on e1000e
ifname=$(netdev_of)
[ -n "$ifname" ] || fail "$nic has no network interface on e1000e"
ip link set "$ifname" up
expect org.viommu1.Error.InUse g "$device" org.viommu1.Device.BindVfio 0
out=$("$viommuctl" bind "$nic" 2>&1) && fail "viommuctl bind of an interface that is up succeeded"
[[ $out == *InUse*"network interface $ifname is up"* ]] || fail "viommuctl bind: $out"
session=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true | path_of)
expect org.viommu1.Error.InUse g "$session" org.viommu1.Session.ClaimDeviceWithFlags "$nic" false 1
ip link set "$ifname" down
expect org.viommu1.Error.InvalidArgument g "$device" org.viommu1.Device.BindVfio 8
expect org.viommu1.Error.InvalidArgument g "$device" org.viommu1.Device.BindVfio 6
expect org.viommu1.Error.InvalidArgument g "$device" org.viommu1.Device.UnbindVfio 0
expect org.viommu1.Error.InvalidArgument g "$session" org.viommu1.Session.ClaimDevice "$nic" false
expect org.viommu1.Error.InvalidArgument g "$session" org.viommu1.Session.ClaimDeviceWithFlags "$nic" false 2
# A device that does not exist.
expect org.viommu1.Error.NoSuchObject g "$session" org.viommu1.Session.ClaimDeviceWithFlags 0000:00:1e.7 false 1
out=$("$viommuctl" bind 0000:00:1e.7 2>&1) && fail "viommuctl bind of a device that does not exist succeeded"
[[ $out == *"No device 0000:00:1e.7"* ]] || fail "viommuctl bind of a device that does not exist: $out"
# Nobody the configuration or polkit (none runs here) allows.
expect org.viommu1.Error.PermissionDenied setpriv --reuid=65534 --regid=65534 --clear-groups \
	gdbus call --system --dest org.viommu1 --object-path "$device" --method org.viommu1.Device.BindVfio 0
grep -q "uid 65534 may not bind $nic" "$run/viommud.log" || fail "viommud did not log the refused bind"

# A rule that allows claiming does not allow binding; one with "bind" does.
as_uid() { local uid=$1; shift; setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }
expect org.viommu1.Error.PermissionDenied as_uid 2 \
	gdbus call --system --dest org.viommu1 --object-path "$device" --method org.viommu1.Device.BindVfio 0
as_uid 1 "$viommuctl" --no-ask-password bind "$nic" || fail "uid 1 (a rule with \"bind\") could not bind $nic"
[ "$(driver_of)" = vfio-pci ] || fail "$nic is on $(driver_of) after uid 1's bind"
expect org.viommu1.Error.PermissionDenied as_uid 2 \
	gdbus call --system --dest org.viommu1 --object-path "$device" --method org.viommu1.Device.UnbindVfio 0
as_uid 1 "$viommuctl" --no-ask-password unbind "$nic" || fail "uid 1 could not unbind $nic"
[ "$(driver_of)" = e1000e ] || fail "$nic is on $(driver_of) after uid 1's unbind"
echo "bind: ok: viommud.conf's \"bind\" rule allows binding, a claim rule does not"

# ---- viommuctl bind, a claim, its release, viommuctl unbind: back on e1000e
"$viommuctl" bind "$nic" || fail "viommuctl bind $nic"
[ "$(driver_of)" = vfio-pci ] || fail "$nic is on $(driver_of) after viommuctl bind"
[ "$(cat "$dev/driver_override")" = vfio-pci ] || fail "driver_override of $nic is $(cat "$dev/driver_override")"
[ -z "$(netdev_of)" ] || fail "$nic still has a network interface on vfio-pci"
[ "$(property Driver)" = 's "vfio-pci"' ] || fail "Device.Driver of $nic is $(property Driver) after bind"
[[ $(property VFIODevice) == 's "/dev/vfio/devices/vfio'* ]] || fail "no VFIODevice after bind: $(property VFIODevice)"
expect org.viommu1.Error.AlreadyBound g "$device" org.viommu1.Device.BindVfio 0
claimed=$(b call org.viommu1 "$session" org.viommu1.Session ClaimDevice sb "$nic" false | path_of)
[ -n "$claimed" ] || fail "ClaimDevice $nic after bind"
expect org.viommu1.Error.Busy g "$device" org.viommu1.Device.UnbindVfio 0
b call org.viommu1 "$session" org.viommu1.Session ReleaseDevice o "$claimed" >/dev/null || fail "ReleaseDevice"
# Bound without --restore, and restore-on-release is off: still on vfio-pci.
[ "$(driver_of)" = vfio-pci ] || fail "$nic left vfio-pci when its claim ended: on $(driver_of)"
out=$("$viommuctl" --json=short unbind "$nic") || fail "viommuctl unbind $nic"
[ "$out" = "{\"device\":\"$nic\",\"driver\":\"e1000e\"}" ] || fail "viommuctl unbind printed $out"
[ "$(driver_of)" = e1000e ] || fail "$nic is on $(driver_of) after viommuctl unbind"
[ "$(cat "$dev/driver_override")" = "(null)" ] || fail "driver_override of $nic is $(cat "$dev/driver_override")"
[ -n "$(netdev_of)" ] || fail "$nic has no network interface back on e1000e"
[ "$(property Driver)" = 's "e1000e"' ] || fail "Device.Driver of $nic is $(property Driver) after unbind"
echo "bind: ok: bound, claimed, released, given back to e1000e"

# ---- libvirt's managed mode: a claim that binds, given back when its session ends
claimed=$(b call org.viommu1 "$session" org.viommu1.Session ClaimDeviceWithFlags sbt "$nic" false 1 | path_of)
[ -n "$claimed" ] || fail "ClaimDeviceWithFlags CLAIM_BIND_VFIO"
[ "$(driver_of)" = vfio-pci ] || fail "$nic is on $(driver_of) after a claim that binds"
b call org.viommu1 "$session" org.viommu1.Session Close >/dev/null || fail "Close"
wait_driver e1000e
grep -q "$nic given back: now on e1000e" "$run/viommud.log" || fail "viommud did not log the give-back"
echo "bind: ok: a claim that binds gave the device back when its session ended"

# Forced, with the interface up; bind --restore gives it back on release.
ip link set "$(netdev_of)" up
"$viommuctl" bind --force --restore "$nic" || fail "viommuctl bind --force --restore"
[ "$(driver_of)" = vfio-pci ] || fail "$nic is on $(driver_of) after a forced bind"
session=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true | path_of)
claimed=$(b call org.viommu1 "$session" org.viommu1.Session ClaimDevice sb "$nic" false | path_of)
b call org.viommu1 "$session" org.viommu1.Session ReleaseDevice o "$claimed" >/dev/null || fail "ReleaseDevice"
wait_driver e1000e
echo "bind: ok: forced bind, given back on release (--restore)"

# unbind --no-restore leaves it without a driver, and the topology shows it so.
"$viommuctl" bind "$nic" || fail "viommuctl bind $nic"
"$viommuctl" unbind --no-restore "$nic" || fail "viommuctl unbind --no-restore"
[ "$(driver_of)" = none ] || fail "$nic is on $(driver_of) after unbind --no-restore"
[ "$(property Driver)" = 's ""' ] || fail "Device.Driver of an unbound $nic is $(property Driver)"
b call org.viommu1 /org/viommu1 org.viommu1.Manager ListDevices | grep -q "\"$nic\" \"pci\" \"\" \"\"" ||
	fail "ListDevices does not show $nic without a driver"
echo "$nic" >/sys/bus/pci/drivers_probe
wait_driver e1000e
echo "bind: ok: unbind --no-restore left the device without a driver"

# ---- a bind runs in a child, however long the driver takes: the daemon
# answers meanwhile, other moves and claims of the device are Busy, and the
# call is answered when the device is on vfio-pci
touch "$run/hold"
b call org.viommu1 "$device" org.viommu1.Device BindVfio t 0 >"$run/bind.out" 2>&1 &
binder=$!
sleep 1
kill -0 "$binder" 2>/dev/null || fail "BindVfio was answered while its child waited: $(cat "$run/bind.out")"
[ "$(driver_of)" = e1000e ] || fail "$nic is on $(driver_of) before the bind's child went on"
b call org.viommu1 /org/viommu1 org.viommu1.Manager GetKernelFeatures >/dev/null ||
	fail "viommud does not answer while a bind is under way"
expect org.viommu1.Error.Busy g "$device" org.viommu1.Device.BindVfio 0
session=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true | path_of)
expect org.viommu1.Error.Busy g "$session" org.viommu1.Session.ClaimDeviceWithFlags "$nic" false 1
rm "$run/hold"
wait "$binder" || fail "BindVfio failed: $(cat "$run/bind.out")"
[ "$(driver_of)" = vfio-pci ] || fail "$nic is on $(driver_of) after the bind was answered"
"$viommuctl" unbind "$nic" >/dev/null || fail "viommuctl unbind $nic"
echo "bind: ok: a bind waited in its child, and viommud answered meanwhile"
# Without a pidfd for the child, a timer asks after it: the same bind.
touch "$run/no-pidfd" "$run/hold"
b call org.viommu1 "$device" org.viommu1.Device BindVfio t 0 >"$run/bind.out" 2>&1 &
binder=$!
sleep 1
kill -0 "$binder" 2>/dev/null || fail "BindVfio was answered while its child waited: $(cat "$run/bind.out")"
b call org.viommu1 /org/viommu1 org.viommu1.Manager GetKernelFeatures >/dev/null ||
	fail "viommud does not answer while it asks after a bind's child"
rm "$run/hold"
wait "$binder" || fail "BindVfio failed with its child asked after: $(cat "$run/bind.out")"
rm "$run/no-pidfd"
[ "$(driver_of)" = vfio-pci ] || fail "$nic is on $(driver_of) after the bind was answered"
grep -q "Cannot watch the child that moves $nic (Too many open files): asking after it every 50 ms" \
	"$run/viommud.log" || fail "viommud did not say it asks after the child"
[ -z "$(pgrep -P "$viommud_pid")" ] || fail "the bind's child was not reaped: $(pgrep -a -P "$viommud_pid")"
"$viommuctl" unbind "$nic" >/dev/null || fail "viommuctl unbind $nic"
echo "bind: ok: a bind whose child had no pidfd was answered once a timer found it ended"
# A claim that binds, whose session closes while the child binds: the call
# fails, and the device goes back.
touch "$run/hold"
b call org.viommu1 "$session" org.viommu1.Session ClaimDeviceWithFlags sbt "$nic" false 1 >"$run/claim.out" 2>&1 &
claimer=$!
sleep 1
b call org.viommu1 "$session" org.viommu1.Session Close >/dev/null || fail "Close during a claim's bind"
rm "$run/hold"
wait "$claimer" && fail "the claim of a session closed during its bind succeeded: $(cat "$run/claim.out")"
wait_driver e1000e
grep -q "$nic was bound to vfio-pci for a call that is gone; giving it back" "$run/viommud.log" ||
	fail "viommud did not say it gave back what it bound for a closed session"
echo "bind: ok: a claim whose session closed during its bind gave the device back: $(cat "$run/claim.out")"

# ---- a give-back waits for every open of the device, the daemon does not
"$viommuctl" bind "$nic" || fail "viommuctl bind $nic"
cdev=$(property VFIODevice | sed 's/^s "\(.*\)"$/\1/')
[ -c "$cdev" ] || fail "no VFIO cdev $cdev for $nic"
# Another program holds the cdev open for 4 s; vfio-pci's unbind waits for it.
(exec 9<"$cdev"; sleep 4) &
holder=$!
sleep 0.5
start=$SECONDS
"$viommuctl" unbind "$nic" >"$run/unbind.out" 2>&1 &
unbinder=$!
sleep 1
kill -0 "$unbinder" 2>/dev/null || fail "the unbind did not wait for the open cdev: $(cat "$run/unbind.out")"
# The daemon's child that waits holds none of the daemon's fds: only its
# own, the sysfs file it writes.
child=$(pgrep -P "$viommud_pid")
[ -n "$child" ] || fail "no child of viommud gives $nic back"
held=$(find "/proc/$child/fd" -mindepth 1 ! -name 0 ! -name 1 ! -name 2 -printf '%f -> %l\n' | { grep -v ' -> /sys/' || true; })
[ -z "$held" ] || fail "the give-back's child holds the daemon's fds: $held"
b call org.viommu1 /org/viommu1 org.viommu1.Manager GetKernelFeatures >/dev/null ||
	fail "viommud does not answer while a give-back waits"
wait "$holder"
wait "$unbinder" || fail "viommuctl unbind after the cdev closed: $(cat "$run/unbind.out")"
[ $((SECONDS - start)) -ge 2 ] || fail "the unbind returned before the cdev was closed"
[ "$(driver_of)" = e1000e ] || fail "$nic is on $(driver_of) after the delayed give-back"
echo "bind: ok: a give-back waited for an open cdev, and viommud answered meanwhile"

# ---- a device whose IOMMU group holds another on a host driver
group_case=''
for g in /sys/kernel/iommu_groups/*/devices; do
	[ "$(find "$g" -mindepth 1 -maxdepth 1 | wc -l)" -gt 1 ] || continue
	for d in "$g"/*; do
		drv=$(driver_in "$d")
		case $drv in none|vfio-pci|pci-stub|pcieport) ;; *) blocker=${d##*/} blocker_driver=$drv ;; esac
	done
	for d in "$g"/*; do
		[ -n "${blocker:-}" ] && [ "${d##*/}" != "$blocker" ] && { group_case=${d##*/}; break 2; }
	done
	blocker=''
done
if [ -n "$group_case" ]; then
	gpath=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager GetDevice s "$group_case" | path_of)
	before=$(driver_in "/sys/bus/pci/devices/$group_case")
	out=$(g "$gpath" org.viommu1.Device.BindVfio 1 2>&1) && fail "binding $group_case succeeded"
	[[ $out == *GroupNotViable*"$blocker ($blocker_driver)"* ]] || fail "binding $group_case: $out"
	after=$(driver_in "/sys/bus/pci/devices/$group_case")
	[ "$before" = "$after" ] || fail "the refused bind moved $group_case"
	echo "bind: ok: refused with GroupNotViable: $group_case shares its group with $blocker ($blocker_driver)"
else
	fail "no IOMMU group holds a device on a host driver beside another (run-vm.sh's vtd machine has one behind its PCIe-to-PCI bridge)"
fi

# ---- a device that vanished: a named error, nothing left half-done; after a
# rescan it is back on its driver and the daemon knows it again
echo 1 >"$dev/remove"
out=$(g "$device" org.viommu1.Device.BindVfio 0 2>&1) && fail "binding $nic after its removal succeeded"
[[ $out == *org.viommu1.Error.DeviceGone* || $out == *org.freedesktop.DBus.Error.UnknownObject* ]] ||
	fail "binding $nic after its removal: $out"
echo "bind: ok: binding a device that vanished is refused: ${out//$'\n'/ }"
echo 1 >/sys/bus/pci/rescan
wait_driver e1000e
for _ in $(seq 100); do
	device=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager GetDevice s "$nic" 2>/dev/null | path_of)
	[ -n "$device" ] && [ "$(property Driver)" = 's "e1000e"' ] && break
	sleep 0.1
done
[ "$(property Driver)" = 's "e1000e"' ] || fail "after the rescan viommud sees $nic on $(property Driver)"
echo "bind: ok: after a rescan $nic is back on e1000e, and viommud sees it"

# ---- the host's boot VGA device: the host's console, taken only by force
vga=''
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/boot_vga" 2>/dev/null)" = 1 ] && vga=${d##*/}
done
[ -n "$vga" ] || fail "no boot VGA device (run-vm.sh's vtd machine has one)"
vpath=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager GetDevice s "$vga" | path_of)
before=$(driver_in "/sys/bus/pci/devices/$vga")
out=$(g "$vpath" org.viommu1.Device.BindVfio 0 2>&1) && fail "binding the boot VGA device $vga succeeded"
[[ $out == *InUse*"boot VGA"* ]] || fail "binding the boot VGA device $vga: $out"
[ "$(driver_in "/sys/bus/pci/devices/$vga")" = "$before" ] || fail "the refused bind moved $vga"
echo "bind: ok: refused with InUse: $vga is the host's boot VGA device"

private_bus_viommud_stop
[ "$viommud_status" -eq 0 ] || fail "viommud exited with status $viommud_status"
echo "bind: PASS: bind, claim, release and give-back of $nic; refusals named"
