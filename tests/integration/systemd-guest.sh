#!/bin/bash
# viommud as a host runs it: installed by make install, under systemd as PID 1
# and dbus-daemon as the system bus, in the systemd profile of the test VM:
#
#   tests/vm/run-vm.sh --kernel 7.3 --profile systemd --share "$PWD" \
#       --install DESTDIR -- tests/integration/systemd-guest.sh BUILDDIR
#
# DESTDIR is a make install DESTDIR= tree of a build configured with
# --prefix=/usr --sysconfdir=/etc
# --with-systemdsystemunitdir=/usr/lib/systemd/system --enable-test-hooks;
# BUILDDIR a build with the test programs (make check TESTS=), for
# test-restart. tests/run-all runs it so. The other clients are busctl and
# systemctl.
#  - bus activation: the first call to org.viommu1 starts viommud.service
#    through the installed activation file, and the bus name's owner is the
#    unit's main process;
#  - with --vtd, tests/integration/qemu-delegation.sh: the main job, QEMU
#    as an unprivileged VMM on a delegated session, viommud started by bus
#    activation and the claim authorized by polkitd;
#  - the fd store: with mock devices (a drop-in adds --test-mock-devices),
#    test-restart's systemctl group: an owned and a persistent session with
#    mappings (and, with --vtd, the edu device on vfio-pci, whose DMA shows
#    it) outlive `systemctl restart viommud` and a SIGKILL;
#  - the C clients of tests/integration/suite.sh (all but the claims, which
#    systemd-host.sh tests with polkitd) against the installed unit, with
#    their viommud.conf;
#  - a crash: `systemctl kill -s KILL viommud` with a persistent session
#    open; systemd restarts the daemon (Restart=on-failure), which takes the
#    session over from its journal in the fd store: it is still there, with
#    its mock device (test-restart's systemctl group checks mappings too);
#    closed, it leaves nothing in the fd store but the spares of sessions
#    ended before (NFileDescriptorStore, two fds a spare);
#    the same for a session stored as a run before this version stored it
#    (Testing.StoreAsOlderRun: its iommufd alone as sN-iommufd);
#  - spares: a session opened on an ended one's entry and closed again sends
#    the fd store nothing (NFileDescriptorStore stays);
#  - test-crash's loop: 50 SIGKILLs at random instants while clients work,
#    each restart by systemd from its fd store;
#  - then tests/integration/systemd-host.sh: polkitd, reload, the journal's
#    fields, the unit's confinement and its watchdog.
# One line "systemd-guest: PASS: ..." or "systemd-guest: FAIL: ..." per check
# and test-restart's cmocka output between the markers of tests/vm/markers.sh
# (tests/summarize counts both). Exit status: 0 passed, 1 failed, 77 skipped.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../vm/markers.sh
. "$(dirname "$0")/../vm/markers.sh"

build=${1:?usage: systemd-guest.sh BUILDDIR}
dest=org.viommu1
manager=/org/viommu1
name=systemd-guest
failed=0

# shellcheck source-path=SCRIPTDIR source=systemd-lib.sh
. "$(dirname "$0")/systemd-lib.sh"

# call PATH INTERFACE METHOD [SIGNATURE ARGS...]: busctl's reply, without the
# signature, on stdout.
call() {
	local path=$1 iface=$2
	shift 2
	busctl call "$dest" "$path" "$dest.$iface" "$@" | cut -d' ' -f2-
}
# The first quoted string of a reply (an object path).
first_path() { sed -n 's/^"\([^"]*\)".*/\1/p'; }
sessions() { busctl get-property "$dest" "$manager" "$dest.Manager" Sessions; }
# Ended sessions' entries viommud keeps in its fd store as spares, two fds
# each (Describe's spare-entries, which root sees).
spares() { call "$manager" Manager Describe | grep -o 'spare-entries[^0-9]*[0-9]*' | grep -o '[0-9]*$'; }
stored() { systemctl show -P NFileDescriptorStore viommud; }

echo "== bus activation"
state=$(systemctl is-active viommud)
if [ "$state" != inactive ]; then
	fail "viommud is $state before any call, not inactive"
elif ! features=$(call "$manager" Manager GetKernelFeatures); then
	fail "the first call to $dest failed"
else
	owner=$(busctl status "$dest" | sed -n 's/^PID=//p')
	state=$(systemctl is-active viommud)
	if [ "$state" = active ] && [ -n "$owner" ] && [ "$owner" = "$(main_pid)" ]; then
		pass "the first call started viommud.service (pid $owner): ${features:0:60}..."
	else
		fail "after the first call viommud is $state, main pid $(main_pid), bus name owner ${owner:-none}"
	fi
fi

# The main job as a host runs it: QEMU, unprivileged, on a delegated
# session of the bus-activated unit, its claim authorized by polkitd.
if [ -n "${VIOMMU_TEST_VFIO_DEVICES:-}" ]; then
	unit qemu-delegation "$(dirname "$0")/qemu-delegation.sh" "$build" || failed=1
fi

echo "== the fd store across systemctl restart"
dropin mock ExecStart= "ExecStart=/usr/sbin/viommud --test-mock-devices" ||
	fail "viommud did not restart with mock devices"
test_program test-restart "$build/tests/integration/test-restart" systemctl || failed=1

echo "== the integration clients, against the installed unit"
# shellcheck source-path=SCRIPTDIR source=suite.sh
. "$(dirname "$0")/suite.sh"
client() {
	local user=$1 program=$2
	shift 2
	as_prefix "$user"
	test_program "$program${*:+ $*} as $user" "${as_cmd[@]}" "$build/tests/integration/$program" "$@" || failed=1
}
# Claims are polkitd's here (systemd-host.sh): the file gives no device.
# The observer by a group of the user database's, whose look-up a test
# holds (test-owner), as in run-in-guest.sh.
mkdir -p /etc/viommu /run/viommu-itest
suite_watch_group /run/viommu-itest
export VIOMMU_TEST_THREAD_HOLD=/run/viommu-itest/thread-hold
dropin thread-hold "Environment=VIOMMU_TEST_THREAD_HOLD=$VIOMMU_TEST_THREAD_HOLD" ||
	fail "viommud did not restart with the look-up hold"
suite_config "" "" >/etc/viommu/viommud.conf
before=$(sessions)
if systemctl reload viommud; then
	suite_clients
	left=$(sessions)
	if [ "$left" = "$before" ]; then
		pass "the clients left no session behind"
	else
		fail "the clients left sessions: $left (before: $before)"
	fi
else
	fail "viommud did not take the clients' viommud.conf"
fi
rm /etc/viommu/viommud.conf
systemctl reload viommud || fail "viommud did not reload without a viommud.conf"
suite_watch_group_end || fail "cannot take the copy of /etc/group away"

# crash_and_close [older]: a persistent session with a mock device, stored
# as a run before this version stored it with "older" (its iommufd alone
# as sN-iommufd, Testing.StoreAsOlderRun); `systemctl kill -s KILL`;
# systemd restarts the daemon (Restart=on-failure), which takes the session
# over from the fd store; closed, it leaves nothing there. A `viommuctl
# monitor` started before the crash subscribes to the new run and hears the
# session close.
crash_and_close() {
	local older=${1:-} what=session session dev restarts pid left monitor log

	[ -n "$older" ] && what="session stored as an older run stored it"
	echo "== a crash: systemctl kill -s KILL, a $what"
	session=$(call "$manager" Manager OpenSession 'a{sv}' 1 Persistent b true | first_path)
	dev=$(call "$session" Session CreateMockDevice u 0 | first_path)
	if [ -z "$dev" ]; then
		fail "could not open a persistent session with a mock device"
		return
	fi
	if [ -n "$older" ] && ! call "$session" Testing StoreAsOlderRun >/dev/null; then
		fail "could not store $session as an older run did"
		return
	fi
	log=$(mktemp)
	viommuctl monitor >"$log" 2>"$log.err" &
	monitor=$!
	for _ in $(seq 100); do grep -q Monitoring "$log.err" && break; sleep 0.1; done
	restarts=$(systemctl show -P NRestarts viommud)
	pid=$(main_pid)
	systemctl kill -s KILL viommud
	if ! wait_restarted "$pid"; then
		fail "systemd did not restart viommud after SIGKILL"
		return
	elif [ "$(systemctl show -P NRestarts viommud)" -le "$restarts" ]; then
		fail "viommud runs again, but NRestarts did not grow"
		return
	fi
	pass "systemd restarted viommud after SIGKILL (pid $pid to $(main_pid))"
	left=$(sessions)
	echo "systemd-guest: after the crash: sessions: $left;" \
		"fds in the store: $(systemctl show -P NFileDescriptorStore viommud)"
	if [ "$(busctl get-property "$dest" "$dev" "$dest.Object" Type 2>/dev/null)" = "s \"device\"" ]; then
		pass "after a crash the $what $session is back with its device $dev"
	else
		journalctl -b -u viommud -o cat --no-pager | tail -n 20 | sed 's/^/  /'
		fail "after a crash the $what $session or its device $dev is gone: sessions $left"
		return
	fi
	# Its end takes all of it out of the store (its iommufd, its first
	# journal, emptied or under a name of its own, the journal the
	# take-over started; it had a device, so its entry is no spare): an
	# entry left behind would keep its kernel objects until the service
	# stops. The manager reads the daemon's messages in its own time.
	if [ "$left" != "ao 1 \"$session\"" ]; then
		fail "sessions other than $session are open after the crash: $left"
	elif [ "$(systemctl show -P NFileDescriptorStore viommud)" -lt 2 ]; then
		fail "the fd store holds less than $session's iommufd and journal: $(systemd-analyze fdstore viommud 2>&1)"
	elif ! call "$session" Session Close >/dev/null; then
		fail "could not close $session"
	else
		for _ in $(seq 50); do
			[ "$(stored)" -eq $((2 * $(spares))) ] && break
			sleep 0.1
		done
		if [ "$(stored)" -eq $((2 * $(spares))) ]; then
			pass "closing the $what $session, taken over after a crash, leaves only the $(spares) spare(s) in the fd store"
		else
			fail "the fd store keeps fds after $session closed: $(systemd-analyze fdstore viommud 2>&1)"
		fi
		for _ in $(seq 50); do grep -q "^SessionClosed $session " "$log" && break; sleep 0.1; done
		if grep -q "^SessionClosed $session " "$log"; then
			pass "viommuctl monitor, subscribed again to the run after the crash, heard $session close"
		else
			fail "viommuctl monitor missed $session's close after the crash: $(cat "$log" "$log.err")"
		fi
	fi
	kill "$monitor" 2>/dev/null
	wait "$monitor" 2>/dev/null
	rm -f "$log" "$log.err"
}
crash_and_close
crash_and_close older

# A session that ends with its objects destroyed leaves its entry in the
# store as a spare, and the next one opened takes it: neither sends the
# service manager an fd (each it closes costs it a child process).
echo "== spare entries in the fd store"
spare_entries() {
	local s n before

	# Persistent: each busctl is a connection of its own, which leaves.
	s=$(call "$manager" Manager OpenSession 'a{sv}' 1 Persistent b true | first_path)
	call "$s" Session CreateIOAS >/dev/null && call "$s" Session Close >/dev/null ||
		{ fail "could not open, use and close a session"; return; }
	sleep 0.5
	n=$(spares)
	before=$(stored)
	if [ "$(sessions)" != "ao 0" ] || [ "$n" -lt 1 ] || [ "$before" -ne $((2 * n)) ]; then
		fail "after a session's close: sessions $(sessions), $n spare(s), $before fds in the store"
		return
	fi
	s=$(call "$manager" Manager OpenSession 'a{sv}' 1 Persistent b true | first_path)
	call "$s" Session CreateIOAS >/dev/null || { fail "a session on a spare entry could not create an IOAS"; return; }
	sleep 0.5
	if [ "$(spares)" -ne $((n - 1)) ] || [ "$(stored)" -ne "$before" ]; then
		fail "opening $s: $(spares) spare(s) (wanted $((n - 1))), $(stored) fds in the store (wanted $before)"
		return
	fi
	call "$s" Session Close >/dev/null || { fail "could not close $s"; return; }
	sleep 0.5
	if [ "$(spares)" -eq "$n" ] && [ "$(stored)" -eq "$before" ]; then
		pass "a session opened on a spare entry and closed again left the fd store's $before fds as they were"
	else
		fail "closing $s: $(spares) spare(s) (wanted $n), $(stored) fds in the store (wanted $before)"
	fi
}
spare_entries

echo "== 50 crashes at random instants"
# test-crash kills the daemon's main process 50 times, within minutes: the
# start rate limit that would rightly give up on such a service on a host
# is lifted for it.
if dropin crash-loop '[Unit]' StartLimitIntervalSec=0; then
	test_program test-crash "$build/tests/integration/test-crash" crash || failed=1
else
	fail "viommud did not restart without a start rate limit"
fi
dropin crash-loop || fail "viommud did not restart after the crash loop"

# The unit's confinement, polkitd, reload, the journal's fields and the
# watchdog, in this boot.
unit systemd-host "$(dirname "$0")/systemd-host.sh" || failed=1

exit "$failed"
