#!/bin/bash
# A claimed, attached vfio-pci device is unplugged from the host (sysfs
# remove): vfio-pci asks for the device back through its request eventfd,
# viommud lets it go with everything made for it and tells the session (its
# NObjects changes), and the unplug completes instead of waiting for the
# session to end; the Manager's DeviceRemoved signal follows. A rescan of the
# PCI bus brings the device back, and DeviceAdded announces it. On the way, a
# running viommud's configuration is reloaded with SIGHUP: a bad file is
# rejected whole and the running one stays, a good one is taken and its
# changes logged.
#
#   tests/integration/unplug.sh BUILDDIR
#
# Runs as root inside the vtd-profile test VM and removes the last device of
# VIOMMU_TEST_VFIO_DEVICES; it comes back unbound from vfio-pci: run this
# after every other test of the boot. Exit status: 0 passed, 1 failed, 77
# skipped (not the vtd profile).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: unplug.sh BUILDDIR}
viommud=$build/daemon/viommud

fail() { echo "unplug: FAIL: $*"; exit 1; }
[ "${VIOMMU_TEST_PROFILE:-}" = vtd ] || { echo "unplug: SKIP: needs the vtd profile"; exit 77; }
pair=${VIOMMU_TEST_VFIO_DEVICES##* }
bdf=${pair%%=*}
[ -e "/sys/bus/pci/devices/$bdf" ] || fail "no device $bdf"

run=$(mktemp -d /run/viommu-unplug.XXXXXX)
pids=()
# shellcheck source-path=SCRIPTDIR source=private-bus.sh
. "$here/private-bus.sh"
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	private_bus_stop
	wait 2>/dev/null || true
	[ "$rc" -eq 0 ] || sed 's/^/  viommud: /' "$run/viommud.log" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT

echo '{"limits": {"objects": 100}}' >"$run/viommud.conf"
private_bus_start "$run" || fail "dbus-daemon did not start"
private_bus_viommud "$viommud" "$run/viommud.log" --config="$run/viommud.conf" ||
	fail "viommud did not take its bus name"
daemon_pid=$viommud_pid

# SIGHUP: a file with a typo is refused and changes nothing; a good one is
# taken, its change named in the log.
wait_log() {
	for _ in $(seq 50); do grep -q "$1" "$run/viommud.log" && return 0; sleep 0.1; done
	fail "viommud did not log: $1"
}
echo '{"limits": {"objbects": 5}}' >"$run/viommud.conf"
kill -HUP "$daemon_pid"
wait_log "Configuration not reloaded, the running one stays"
grep -q 'objbects' "$run/viommud.log" || fail "the rejection does not name the bad key"
echo '{"limits": {"objects": 50}}' >"$run/viommud.conf"
kill -HUP "$daemon_pid"
wait_log "Configuration reloaded, 1 change"
wait_log "limits.objects: 100 -> 50"

"$build/cli/viommuctl" --json monitor --timeout=60 >"$run/signals" 2>"$run/monitor.err" &
monitor_pid=$!
pids+=("$monitor_pid")
for _ in $(seq 50); do grep -q Monitoring "$run/monitor.err" && break; sleep 0.1; done

b() { busctl --system "$@"; }
path_of() { sed -n 's/^[^ ]* "\([^"]*\)".*/\1/p'; }
session=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true | path_of)
device=$(b call org.viommu1 "$session" org.viommu1.Session ClaimDevice sb "$bdf" false | path_of)
ioas=$(b call org.viommu1 "$session" org.viommu1.Session CreateIOAS | path_of)
b call org.viommu1 "$session" org.viommu1.Session Attach oo "$device" "$ioas" >/dev/null
b call org.viommu1 "$session" org.viommu1.Session AllocHWPT ooouuay "$device" "$ioas" / 0 0 0 >/dev/null
[ "$(b get-property org.viommu1 "$session" org.viommu1.Session NObjects)" = "u 3" ] ||
	fail "the session should hold the device, the IOAS and a HWPT"
# The remove blocks in the kernel until viommud closes the device.
timeout 30 sh -c "echo 1 >/sys/bus/pci/devices/$bdf/remove" || fail "the unplug of $bdf did not complete"
[ ! -e "/sys/bus/pci/devices/$bdf" ] || fail "$bdf is still there"
grep -q "letting claimed device $bdf go" "$run/viommud.log" || fail "viommud did not say it let $bdf go"

# The device and the HWPT made for it are gone; the IOAS stays.
for _ in $(seq 20); do
	[ "$(b get-property org.viommu1 "$session" org.viommu1.Session NObjects)" = "u 1" ] && break
	sleep 0.1
done
[ "$(b get-property org.viommu1 "$session" org.viommu1.Session NObjects)" = "u 1" ] ||
	fail "the session still holds objects of the unplugged device"
# and says so to whoever follows the session: viommuctl monitor, root's,
# subscribed (the session's owner, a busctl call, has left the bus).
for _ in $(seq 50); do grep -q '"DeviceGone"' "$run/signals" && break; sleep 0.1; done
jq -n -e --arg s "$session" --arg d "$device" --arg n "$bdf" \
	'any(inputs; .signal == "DeviceGone" and .session == $s and .device == $d and .name == $n)' "$run/signals" \
	>/dev/null || fail "no DeviceGone signal for $device: $(cat "$run/signals")"
out=$(b call org.viommu1 "$session" org.viommu1.Session ClaimDevice sb "$bdf" false 2>&1) &&
	fail "claiming the unplugged device succeeded"
[[ $out == *"No device $bdf"* ]] || fail "claiming the unplugged device: $out"
b call org.viommu1 "$session" org.viommu1.Session Close >/dev/null
for _ in $(seq 50); do grep -q '"DeviceRemoved"' "$run/signals" && break; sleep 0.1; done
grep -q "\"signal\":\"DeviceRemoved\",\"name\":\"$bdf\"" "$run/signals" ||
	fail "no DeviceRemoved signal for $bdf: $(cat "$run/signals")"

# The device comes back with a rescan of the bus: DeviceAdded, and the
# daemon knows it again.
echo 1 >/sys/bus/pci/rescan
[ -e "/sys/bus/pci/devices/$bdf" ] || fail "$bdf did not come back on a rescan"
for _ in $(seq 50); do grep -q "\"signal\":\"DeviceAdded\",\"name\":\"$bdf\"" "$run/signals" && break; sleep 0.1; done
grep -q "\"signal\":\"DeviceAdded\",\"name\":\"$bdf\"" "$run/signals" ||
	fail "no DeviceAdded signal for $bdf after the rescan: $(cat "$run/signals")"
out=$(b call org.viommu1 /org/viommu1 org.viommu1.Manager GetDevice s "$bdf" 2>&1) ||
	fail "viommud does not know $bdf after the rescan: $out"
echo "unplug: PASS: $bdf unplugged while claimed and attached, and rescanned; configuration reloaded"
