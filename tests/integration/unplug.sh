#!/bin/bash
# A claimed, attached vfio-pci device is unplugged from the host (sysfs
# remove): vfio-pci asks for the device back through its request eventfd,
# viommud lets it go with everything made for it and tells the session, and
# the unplug completes instead of waiting for the session to end; the
# Manager's DeviceRemoved signal follows. On the way, a running viommud's
# configuration is reloaded with SIGHUP: a bad file is rejected whole and
# the running one stays, a good one is taken and its changes logged.
#
#   tests/integration/unplug.sh BUILDDIR
#
# Runs as root inside the vtd-profile test VM and removes the last device of
# VIOMMU_TEST_VFIO_DEVICES for good: run it after every other test of the
# boot. Exit status: 0 passed, 1 failed, 77 skipped (not the vtd profile).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
build=${1:?usage: unplug.sh BUILDDIR}
viommud=$build/daemon/viommud

fail() { echo "unplug: FAIL: $*"; exit 1; }
[ "${VIOMMU_TEST_PROFILE:-}" = vtd ] || { echo "unplug: SKIP: needs the vtd profile"; exit 77; }
pair=${VIOMMU_TEST_VFIO_DEVICES##* }
bdf=${pair%%=*}
[ -e "/sys/bus/pci/devices/$bdf" ] || fail "no device $bdf"

run=$(mktemp -d /run/viommu-unplug.XXXXXX)
pids=()
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "$rc" -eq 0 ] || sed 's/^/  viommud: /' "$run/viommud.log" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT

mkdir "$run/policy.d"
cp "$here/bus.conf" "$run/bus.conf"
cp "$srcdir/dbus/org.viommu1.conf" "$run/policy.d/"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$run/bus
dbus-daemon --config-file="$run/bus.conf" --address="$DBUS_SYSTEM_BUS_ADDRESS" --nofork --nopidfile &
pids+=($!)
for _ in $(seq 50); do [ -S "$run/bus" ] && break; sleep 0.1; done
echo '{"limits": {"objects": 100}}' >"$run/viommud.conf"
"$viommud" --address="$DBUS_SYSTEM_BUS_ADDRESS" --config="$run/viommud.conf" >"$run/viommud.log" 2>&1 &
daemon_pid=$!
pids+=($daemon_pid)
for _ in $(seq 100); do
	busctl --system status org.viommu1 >/dev/null 2>&1 && break
	sleep 0.1
done

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
pids+=($monitor_pid)
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
out=$(b call org.viommu1 "$session" org.viommu1.Session ClaimDevice sb "$bdf" false 2>&1) &&
	fail "claiming the unplugged device succeeded"
[[ $out == *"No device $bdf"* ]] || fail "claiming the unplugged device: $out"
b call org.viommu1 "$session" org.viommu1.Session Close >/dev/null
for _ in $(seq 50); do grep -q '"DeviceRemoved"' "$run/signals" && break; sleep 0.1; done
grep -q "\"signal\":\"DeviceRemoved\",\"name\":\"$bdf\"" "$run/signals" ||
	fail "no DeviceRemoved signal for $bdf: $(cat "$run/signals")"
echo "unplug: PASS: $bdf unplugged while claimed and attached; configuration reloaded"
