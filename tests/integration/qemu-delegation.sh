#!/bin/bash
# Delegation with a real VMM (issue 3): QEMU 10, unprivileged, realizes a
# vfio-pci device on the iommufd and device fd that viommud hands to a
# delegated session; then the daemon cleans up after it.
#
#   tests/integration/qemu-delegation.sh [BUILDDIR]
#
# Runs inside the test VM, as root, e.g. from the top of a build tree shared
# with the VM:
#
#   tests/vm/run-vm.sh --kernel 7.3 --profile vtd --share "$PWD" -- \
#       tests/integration/qemu-delegation.sh
#
# or, as a host runs viommud, in the systemd profile with the project
# installed (run-vm.sh --profile systemd --vtd --install DESTDIR): there the
# system bus is the guest's dbus-daemon, viommud is the installed unit,
# started by bus activation at the launcher's first call, and polkitd
# authorizes the claim, by a rules file that allows the edu device to the
# user and nothing else.
#
# BUILDDIR (default: $VIOMMU_BUILDDIR, else the source tree this script is
# in) holds tests/integration/qemu-launcher and, for the vtd profile,
# daemon/viommud. QEMU comes
# from the Debian trixie root that tests/vm/trixie-root.sh made on the host
# (cached under /var/cache/viommu-vm, which the VM sees read-only); it is run
# through that root's own dynamic loader, without chroot, so that it stays
# unprivileged. In the vtd profile the test starts its own dbus-daemon (the
# project's policy on a default-deny system bus, tests/integration/bus.conf)
# and viommud on it, with a configuration that allows the edu device to user
# nobody and nothing else.
#
# As nobody, qemu-launcher opens a delegated session, is refused the e1000e,
# claims the edu device and starts QEMU (-S, monitor on stdin) with
# -object iommufd,fd=N -device vfio-pci,fd=M. The test checks, while QEMU
# runs, that the session is nobody's and that the device cannot be claimed a
# second time; asks the monitor for "info pci" and expects 1234:11e8 there;
# quits; and checks that the daemon closed the session when the launcher left
# the bus (Manager.Sessions, its log) and that the device can be claimed, and
# bound to an iommufd, again. Then once more with the default memlock limit
# (8 MiB): the delegated iommufd charges pinned pages to the VMM
# (IOMMU_OPTION_RLIMIT_MODE), so QEMU cannot map its 128 MiB of RAM and
# fails; the daemon must clean up after a failed VMM just the same.
#
# Exit status: 0 passed, 1 failed, 77 skipped (not the vtd or systemd
# profile, or no trixie root: run tests/vm/trixie-root.sh on the host first).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
builddir=$(cd "${1:-${VIOMMU_BUILDDIR:-$srcdir}}" && pwd)
viommud=$builddir/daemon/viommud
launcher=$builddir/tests/integration/qemu-launcher
user=nobody
timeout_s=${VIOMMU_QEMU_TIMEOUT:-60}

t0=$SECONDS
say() { echo "qemu-delegation: [$((SECONDS - t0))s] $*"; }
skip() { echo "qemu-delegation: SKIP: $*"; exit 77; }
fail() {
	echo "qemu-delegation: FAIL: $*" >&2
	exit 1
}

case ${VIOMMU_TEST_PROFILE:-} in
vtd) system=no ;;
systemd)
	system=yes viommud=/usr/sbin/viommud
	[ -n "${VIOMMU_TEST_VFIO_DEVICES:-}" ] || skip "needs vfio-pci devices (run-vm.sh --vtd)"
	;;
*) skip "needs the vtd or systemd profile of the test VM" ;;
esac
[ "$(id -u)" -eq 0 ] || skip "needs root (inside the test VM)"
root=$("$srcdir/tests/vm/trixie-root.sh" --cached) ||
	skip "no trixie root with QEMU: run tests/vm/trixie-root.sh on the host (as root)"
for f in "$viommud" "$launcher"; do
	[ -x "$f" ] || fail "$f is not built (make check TESTS=)"
done
uid=$(id -u "$user") gid=$(id -g "$user")

# The edu device (QEMU's 1234:11e8) is the one allowed; any other vfio-pci
# device of the profile (the e1000e) is the one the user must be refused.
edu='' other=''
for pair in ${VIOMMU_TEST_VFIO_DEVICES:-}; do
	bdf=${pair%%=*}
	id=$(<"/sys/bus/pci/devices/$bdf/vendor"):$(<"/sys/bus/pci/devices/$bdf/device")
	id=${id//0x/}
	if [ "$id" = 1234:11e8 ]; then edu=$bdf; elif [ -z "$other" ]; then other=$bdf; fi
done
[ -n "$edu" ] || fail "no edu device (1234:11e8) in VIOMMU_TEST_VFIO_DEVICES='${VIOMMU_TEST_VFIO_DEVICES:-}'"
[ -n "$other" ] || fail "no second vfio-pci device in VIOMMU_TEST_VFIO_DEVICES"

run=$(mktemp -d /run/viommu-qemu.XXXXXX)
rules=/etc/polkit-1/rules.d/20-viommu-main-job.rules
# viommud's log of this test.
viommud_log() {
	if [ "$system" = yes ]; then
		journalctl -b -u viommud -o cat --no-pager
	else
		cat "$run/viommud.log"
	fi
}
chmod 755 "$run" # the user reaches the bus socket in here
launcher_pid=''
# shellcheck source-path=SCRIPTDIR source=private-bus.sh
. "$here/private-bus.sh"
cleanup() {
	local rc=$?
	exec 7>&- 2>/dev/null || true
	[ -z "$launcher_pid" ] || kill "$launcher_pid" 2>/dev/null || true
	if [ "$system" = yes ]; then
		rm -f "$rules"
		systemctl restart polkit
	else
		private_bus_stop
	fi
	wait 2>/dev/null || true
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		[ "$system" = no ] || viommud_log >"$run/viommud.log"
		for f in qemu.out qemu-memlock.out viommud.log dbus.log; do
			[ -s "$run/$f" ] || continue
			echo "----- $f"
			sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$run/$f" | tr -d '\r'
		done
	fi
	rm -rf "$run"
}
trap cleanup EXIT

if [ "$system" = yes ]; then
	# polkitd decides; viommud is started by the first call to it.
	cat >"$rules" <<-EOF
	polkit.addRule(function(action, subject) {
	        if (action.id != "org.viommu1.claim-device" || subject.user != "$user")
	                return polkit.Result.NOT_HANDLED;
	        return action.lookup("device") == "$edu" ? polkit.Result.YES : polkit.Result.NO;
	});
	EOF
	systemctl restart polkit
	systemctl stop viommud
	state=$(systemctl is-active viommud) || true
	[ "$state" = inactive ] || fail "viommud is still $state"
	say "polkit allows edu $edu to $user, $other not; viommud.service is inactive"
else
	# The private system bus and the daemon.
	cat >"$run/viommud.conf" <<-EOF
	{"allow": [{"devices": [{"pci": "$edu"}], "users": ["$user"]}]}
	EOF
	private_bus_start "$run" || fail "dbus-daemon did not start"
	private_bus_viommud "$viommud" "$run/viommud.log" --config="$run/viommud.conf" -v ||
		fail "viommud did not take its bus name"
	say "viommud serving on $DBUS_SYSTEM_BUS_ADDRESS; edu $edu allowed to $user, $other not"
fi

sessions() { busctl --system get-property org.viommu1 /org/viommu1 org.viommu1.Manager Sessions; }
session_prop() { busctl --system get-property org.viommu1 "$1" org.viommu1.Session "$2"; }
# A persistent session of root's, whose methods busctl can call one by one.
root_session() {
	busctl --system call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession \
		'a{sv}' 1 Persistent b true | sed -n 's/^o "\(.*\)"$/\1/p'
}
root_claim() { busctl --system call org.viommu1 "$1" org.viommu1.Session ClaimDevice sb "$2" false 2>&1; }
root_close() { busctl --system call org.viommu1 "$1" org.viommu1.Session Close; }

# What the VMM's monitor printed, without the line editor's escapes.
monitor_out() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$out_file" | tr -d '\r'; }
# Waits until the monitor output holds N lines matching PATTERN.
wait_out() {
	local pattern=$1 n=${2:-1} deadline=$((SECONDS + timeout_s))
	while [ "$(monitor_out | grep -c -- "$pattern" || true)" -lt "$n" ]; do
		kill -0 "$launcher_pid" 2>/dev/null || fail "the launcher ended before printing '$pattern'"
		[ "$SECONDS" -lt "$deadline" ] || fail "no '$pattern' from QEMU within $timeout_s s"
		sleep 0.2
	done
}

# The VMM, as the user: QEMU 10 from the trixie root through its own loader.
# shellcheck disable=SC2054 # QEMU options have commas
qemu=("$root/lib64/ld-linux-x86-64.so.2"
	--library-path "$root/usr/lib/x86_64-linux-gnu"
	"$root/usr/bin/qemu-system-x86_64"
	-L "$root/usr/share/qemu" -L "$root/usr/share/seabios"
	-accel tcg -M q35 -m 128M -S -display none -nodefaults -monitor stdio
	-object iommufd,id=iommufd0,fd=@IOMMUFD@
	-device vfio-pci,fd=@DEVICE_FD@,iommufd=iommufd0,id=viommu-edu)

# start_vmm NAME MEMLOCK_KIB: the launcher and its QEMU, as the user, with
# the monitor on fd 7 and the output in $out_file.
start_vmm() {
	out_file=$run/$1.out
	rm -f "$run/monitor"
	mkfifo "$run/monitor"
	(
		cd /
		# As libvirt does for its QEMU: the VMM pins its RAM in its own
		# name (RLIMIT_MODE per-process), so its memlock limit must cover it.
		ulimit -l "$2"
		exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs \
			env -i PATH=/usr/bin:/bin \
			DBUS_SYSTEM_BUS_ADDRESS="${DBUS_SYSTEM_BUS_ADDRESS:-unix:path=/run/dbus/system_bus_socket}" \
			QEMU_MODULE_DIR="$root/usr/lib/x86_64-linux-gnu/qemu" \
			"$launcher" --expect-denied "$other" "$edu" -- "${qemu[@]}"
	) <"$run/monitor" >"$out_file" 2>&1 &
	launcher_pid=$!
	exec 7>"$run/monitor"
}

# wait_vmm: waits for the launcher; sets rc to its exit status.
wait_vmm() {
	exec 7>&-
	rc=0
	wait "$launcher_pid" || rc=$?
	launcher_pid=''
}

# The session the launcher opened, from its output.
launcher_session() {
	monitor_out | sed -n 's/^qemu-launcher: session \([0-9]*\) .*/\1/p' | head -n1
}

# expect_cleaned_up ID: once the launcher's bus connection is gone, the
# daemon closes its session, says so, and the device can be claimed (and
# bound to an iommufd: nothing holds it any more) again.
expect_cleaned_up() {
	local id=$1 deadline=$((SECONDS + 10)) rs out
	until [ "$(sessions)" = "ao 0" ]; do
		[ "$SECONDS" -lt "$deadline" ] || fail "Manager.Sessions still lists $(sessions)"
		sleep 0.1
	done
	viommud_log | grep -q "session $id: closing: its owner left the bus" ||
		fail "viommud did not log closing session $id"
	rs=$(root_session)
	[ -n "$rs" ] || fail "root could not open a session"
	out=$(root_claim "$rs" "$edu") || fail "claiming $edu again: $out"
	root_close "$rs"
	say "session $id closed (logged), Manager.Sessions empty, $edu claimed and bound again"
}

# 1. QEMU realizes the device through the fds.
start_vmm qemu 1048576
say "launcher started as $user (uid $uid), QEMU from $root"
wait_out '^(qemu)' 1
say "QEMU is up, paused, monitor ready"
monitor_out | grep '^qemu-launcher:' | sed 's/^/  /'

# While QEMU runs: the session is the user's, delegated, and holds the device.
list=$(sessions)
[[ $list =~ ^ao\ 1\ \"(/org/viommu1/session/[^\"]+)\"$ ]] || fail "Manager.Sessions: $list (expected one session)"
session=${BASH_REMATCH[1]}
if [ "$system" = yes ]; then
	owner=$(busctl status org.viommu1 | sed -n 's/^PID=//p')
	main=$(systemctl show -P MainPID viommud)
	[ -n "$owner" ] && [ "$owner" = "$main" ] ||
		fail "org.viommu1 is owned by pid ${owner:-none}, not viommud.service's main process $main"
	say "the launcher's first call started viommud.service (pid $main) by bus activation"
fi
id=$(launcher_session)
[ "$(session_prop "$session" Id)" = "u $id" ] || fail "$session is not the launcher's session $id"
[ "$(session_prop "$session" UID)" = "u $uid" ] || fail "$session is not uid $uid's"
[ "$(session_prop "$session" Delegated)" = "b true" ] || fail "$session is not delegated"
rs=$(root_session)
[ -n "$rs" ] || fail "root could not open a session"
out=$(root_claim "$rs" "$edu") && fail "$edu was claimed a second time while QEMU has it: $out"
[[ $out == *"is claimed by session"* ]] || fail "second claim of $edu: $out (expected Busy)"
root_close "$rs"
say "session $id: uid $uid, delegated; a second claim is refused: ${out#Call failed: }"

echo "info pci" >&7
wait_out '^(qemu)' 2
# (The monitor's line editor redraws each typed character: the echo of the
# command is a garbled line ending in it.)
pci=$(monitor_out | awk '/^\(qemu\) .*info pci$/ { on = 1; next } on && /^\(qemu\)/ { exit } on')
awk '{ print "  " $0 }' <<<"$pci"
awk '/^  Bus/ { dev = "" } /PCI device 1234:11e8/ { dev = 1 } dev && /id "viommu-edu"/ { found = 1 }
	END { exit !found }' <<<"$pci" || fail "info pci does not show the edu device (1234:11e8, id viommu-edu)"
say "info pci shows the edu device 1234:11e8 as viommu-edu"

echo quit >&7
wait_vmm
monitor_out | grep '^qemu-launcher:.*exited' | sed 's/^/  /'
[ "$rc" -eq 0 ] || fail "the launcher (QEMU) exited with status $rc"
say "QEMU quit, the launcher left the bus"
expect_cleaned_up "$id"

# 2. The pins are the VMM's: under the default memlock limit (8 MiB) QEMU
# cannot map its 128 MiB of RAM, fails, and the daemon cleans up after it.
start_vmm qemu-memlock 8192
wait_vmm
id=$(launcher_session)
[ -n "$id" ] || fail "the launcher opened no session"
monitor_out | grep -E '^qemu-launcher:.*exited|vfio_container_dma_map' | sed 's/^/  /'
[ "$rc" -ne 0 ] || fail "QEMU pinned 128 MiB under a memlock limit of 8 MiB"
monitor_out | grep -q 'vfio_container_dma_map.*Cannot allocate memory' ||
	fail "QEMU (status $rc) did not fail on mapping its RAM"
say "with an 8 MiB memlock limit QEMU cannot pin its RAM (ENOMEM), as it should"
expect_cleaned_up "$id"

if [ "$system" = yes ]; then
	systemctl stop viommud
	result=$(systemctl show -P Result viommud)
	[ "$result" = success ] || fail "viommud.service stopped with result $result"
else
	private_bus_viommud_stop
	[ "$viommud_status" -eq 0 ] || fail "viommud exited with status $viommud_status on SIGTERM"
fi
viommud_log | grep -E 'session [0-9]+:' | sed 's/^<[0-9]>/  viommud: /'
say "PASS"
