#!/bin/bash
# viommud's integration tests, inside the test VM (tests/vm/): a private
# system bus with the project's own policy, a stand-in polkit, viommud with
# mock devices, then the C clients (tests/integration/test-*.c, one per
# interface or topic) as root and as unprivileged users, busctl/gdbus as
# clients written by nobody here, and viommuctl (cli-checks.sh).
#
#   tests/integration/run-in-guest.sh mock|vtd BUILDDIR
#
# Run by tests/kernel/run-in-guest.sh in the same boot as the kernel tests.
# The guest's /etc is the host's, read-only: the unprivileged users are the
# system's own (daemon, bin, sys, games, mail, nobody), and a copy of
# /etc/group with one group more is mounted over it for the run. Fails if any test fails, if viommud
# dies, logs a sanitizer report or a disagreement between its record and the
# kernel, keeps a session or a pinned page after the tests, or does not exit
# cleanly on SIGTERM. Each run of a client goes through automake's test
# driver (test_program in tests/vm/markers.sh), its cmocka output to its log.
set -uo pipefail

profile=${1:?usage: run-in-guest.sh mock|vtd BUILDDIR}
build=$(cd "${2:?usage: run-in-guest.sh mock|vtd BUILDDIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)

viommud=$build/daemon/viommud
polkit=$build/tests/integration/fake-polkit
harness=$build/tests/integration/fdstore-harness
clients=(session ioas hwpt viommu channel limits owner delegated claim vtd restart crash memory lease)
vmm_client=$build/examples/vmm-client
for f in "$viommud" "$polkit" "$harness" "$vmm_client" "${clients[@]/#/$build/tests/integration/test-}"; do
	[ -x "$f" ] || { echo "run-in-guest: $f is missing: build with 'make check TESTS='" >&2; exit 2; }
done

# shellcheck source-path=SCRIPTDIR source=suite.sh
. "$src/tests/integration/suite.sh"
export VIOMMU_TEST_PROFILE=$profile

work=/run/viommu-itest
export VIOMMU_TEST_POLKIT_LOG=$work/polkit.log
# A sanitizer build (--enable-sanitizers) reports into the daemon's log;
# leaks are the daemon's business, not its clients'.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
daemon_asan_options=detect_leaks=1

status=0
failures=()
fail() {
	echo "run-in-guest: FAIL: $*"
	failures+=("$*")
	status=1
}
pass() { echo "run-in-guest: ok: $*"; }

kernel_major=$(uname -r | cut -d. -f1)
kernel_minor=$(uname -r | cut -d. -f2)

rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"

suite_watch_group "$work"
# Held while the file exists: the daemon's work in threads, the user
# database's answers (test-owner, test-restart).
export VIOMMU_TEST_THREAD_HOLD=$work/thread-hold

# The vfio devices are the configuration's to give.
read -r -a vfio_devices <<<"${VIOMMU_TEST_VFIO_DEVICES:-}"
allowed_bdf='' second_bdf=''
[ ${#vfio_devices[@]} -gt 0 ] && allowed_bdf=${vfio_devices[0]%%=*}
[ ${#vfio_devices[@]} -gt 1 ] && second_bdf=${vfio_devices[1]%%=*}
suite_config "$allowed_bdf" "$second_bdf" >"$work/viommud.conf"

# shellcheck source-path=SCRIPTDIR source=private-bus.sh
. "$src/tests/integration/private-bus.sh"
# shellcheck source-path=SCRIPTDIR source=../vm/markers.sh
. "$src/tests/vm/markers.sh"
# shellcheck source-path=SCRIPTDIR source=cli-checks.sh
. "$src/tests/integration/cli-checks.sh"
trap 'private_bus_stop; suite_watch_group_end' EXIT

private_bus_start "$work" || { echo "run-in-guest: the bus did not start" >&2; exit 1; }
private_bus_polkit "$polkit" "$VIOMMU_TEST_POLKIT_LOG" --allow-uid="$VIOMMU_TEST_POLKIT_UID" \
	--challenge-uid="$VIOMMU_TEST_CHALLENGE_UID" --deny-uid="$VIOMMU_TEST_OTHER_UID" \
	--silent-uid="$VIOMMU_TEST_SILENT_UID" ||
	{ echo "run-in-guest: fake-polkit did not start" >&2; exit 1; }

# start_viommud LOG ARGS...: starts the daemon and waits for its name.
start_viommud() {
	local log=$1
	shift
	ASAN_OPTIONS=$daemon_asan_options private_bus_viommud "$viommud" "$log" --config="$work/viommud.conf" "$@" ||
		{ echo "run-in-guest: viommud did not take its name" >&2; exit 1; }
}

# answers: viommud is there and answers calls.
answers() {
	kill -0 "$viommud_pid" 2>/dev/null &&
		busctl --system --timeout=10 call org.viommu1 /org/viommu1 org.viommu1.Manager GetKernelFeatures >/dev/null 2>&1
}

# stop_viommud LOG: SIGTERM; it must exit 0 within 20 s and its log be clean.
stop_viommud() {
	local log=$1 rc
	if ! kill -0 "$viommud_pid" 2>/dev/null; then
		fail "viommud died during the tests"
	fi
	private_bus_viommud_stop
	rc=$viommud_status
	if [ "$rc" -eq 0 ]; then
		pass "viommud exited with status 0 on SIGTERM"
	elif [ "$rc" -eq $((128 + 9)) ]; then
		fail "viommud did not exit within 20 s of SIGTERM"
	else
		fail "viommud exited with status $rc on SIGTERM"
	fi
	if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: [A-Za-z]*Sanitizer' "$log"; then
		grep -E -A 24 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" | head -n 50
		fail "viommud logged a sanitizer report"
	fi
	if grep -Eq 'record and kernel disagree|recorded [0-9]+ of [0-9]+ bytes|Exiting:' "$log"; then
		grep -E 'record and kernel disagree|recorded [0-9]+ of [0-9]+ bytes|Exiting:' "$log"
		fail "viommud logged an inconsistency or an error exit"
	fi
}

# client USER PROGRAM [GROUP...]: one run of a C client, tests/integration/PROGRAM,
# under automake's test driver (test_program), its cmocka output in its log.
client() {
	local user=$1 program=$2 name
	shift 2
	name="$program${*:+ $*} as $user"
	echo "== $name"
	as_prefix "$user"
	if ! test_program "$name" "${as_cmd[@]}" "$build/tests/integration/$program" "$@"; then
		failures+=("$name")
		status=1
	fi
}

# busctl and gdbus: clients written by nobody here.
bus() { busctl --system --timeout=10 "$@"; }
path_of() { sed -n 's/^[a-z]* "\([^"]*\)".*/\1/p'; }
expect_error() { # NAME COMMAND...: gdbus call failing with that D-Bus error
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "'$*' succeeded; expected $name"
	elif [[ $out != *"$name"* ]]; then
		fail "'$*' failed with: $out; expected $name"
	fi
}
gcall() { # OBJECT METHOD ARGS...
	local object=$1 method=$2
	shift 2
	gdbus call --system --timeout 10 --dest org.viommu1 --object-path "$object" --method "$method" "$@"
}

# introspect OBJECT INTERFACE...: each interface is there.
introspect() {
	local object=$1 out
	shift
	out=$(bus introspect org.viommu1 "$object") || { fail "busctl introspect $object"; return; }
	for i in "$@"; do
		grep -q "^$i " <<<"$out" || fail "busctl introspect $object: no interface $i"
	done
}

# busctl_checks: a session and objects made and looked at with busctl, refused
# calls with gdbus, every refusal named and harmless.
busctl_checks() {
	local session ioas device='' hwpt='' tree host out p describe_before errors_before=${#failures[@]}

	echo "== busctl and gdbus"
	session=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true | path_of)
	[ -n "$session" ] || { fail "busctl: OpenSession"; return; }
	ioas=$(bus call org.viommu1 "$session" org.viommu1.Session CreateIOAS | path_of)
	if [ "$mock_devices" = yes ]; then
		device=$(bus call org.viommu1 "$session" org.viommu1.Session CreateMockDevice u 0 | path_of)
		hwpt=$(bus call org.viommu1 "$session" org.viommu1.Session AllocHWPT ooouuay "$device" "$ioas" / 1 0 0 | path_of)
		bus call org.viommu1 "$session" org.viommu1.Session Attach oo "$device" "$hwpt" >/dev/null ||
			fail "busctl: Attach"
	fi
	tree=$(bus tree org.viommu1)
	for p in /org/viommu1 "$session" "$ioas" $device $hwpt; do
		grep -q -- "$p\$" <<<"$tree" || fail "busctl tree does not list $p"
	done
	if [ -n "$allowed_bdf" ]; then
		host=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager GetDevice s "$allowed_bdf" | path_of)
		grep -q -- "$host\$" <<<"$tree" || fail "busctl tree does not list the host device $host"
		bus introspect org.viommu1 "$host" | grep -q '^org\.viommu1\.Device ' ||
			fail "busctl introspect $host: no org.viommu1.Device"
		[ "$(bus get-property org.viommu1 "$host" org.viommu1.Device Driver)" = 's "vfio-pci"' ] ||
			fail "busctl: $host is not driven by vfio-pci"
	fi
	introspect /org/viommu1 org.viommu1.Manager org.freedesktop.DBus.ObjectManager
	introspect "$session" org.viommu1.Session
	introspect "$ioas" org.viommu1.IOAS org.viommu1.Object
	if [ "$mock_devices" = yes ]; then
		introspect "$session" org.viommu1.Testing
		introspect "$device" org.viommu1.ClaimedDevice org.viommu1.Object
		introspect "$hwpt" org.viommu1.HWPT org.viommu1.Object
		[ "$(bus get-property org.viommu1 "$device" org.viommu1.ClaimedDevice Attached)" = "o \"$hwpt\"" ] ||
			fail "busctl: the device is not attached to $hwpt"
		[ "$(bus get-property org.viommu1 "$hwpt" org.viommu1.HWPT Kind)" = 's "paging"' ] ||
			fail "busctl: $hwpt is not a paging HWPT"
	fi
	[ "$(bus get-property org.viommu1 "$session" org.viommu1.Session NObjects)" = "u $([ -n "$device" ] && echo 3 || echo 1)" ] ||
		fail "busctl: NObjects of $session"
	[ "$(bus get-property org.viommu1 /org/viommu1 org.viommu1.Manager MockDevices)" = "b true" ] ||
		fail "busctl: MockDevices"
	bus get-property org.viommu1 /org/viommu1 org.viommu1.Manager Version | grep -q '^s "' || fail "busctl: Version"
	bus call org.viommu1 /org/viommu1 org.viommu1.Manager GetKernelFeatures | grep -q '"ioas" true' ||
		fail "busctl: GetKernelFeatures does not list ioas as supported"
	# The JSON for the CLI is JSON, and has the session.
	bus call --json=short org.viommu1 /org/viommu1 org.viommu1.Manager Describe |
		jq -e --arg s "$session" '.data[0] | fromjson | .sessions | map(.path) | index($s) != null' >/dev/null ||
		fail "Describe: not JSON, or without $session"
	describe_before=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager Describe)
	# Wrong types: the bus library refuses them before the daemon sees them.
	out=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession s nope 2>&1) &&
		fail "busctl: OpenSession with a string succeeded"
	[[ $out == *"Invalid arguments"* ]] || fail "busctl: OpenSession with a string: $out"
	out=$(bus call org.viommu1 "$session" org.viommu1.Session CreateIOAS u 1 2>&1) &&
		fail "busctl: CreateIOAS with an argument succeeded"
	[[ $out == *"Invalid arguments"* ]] || fail "busctl: CreateIOAS with an argument: $out"
	out=$(bus call org.viommu1 "$ioas" org.viommu1.IOAS Unmap ss a b 2>&1) &&
		fail "busctl: Unmap with strings succeeded"
	[[ $out == *"Invalid arguments"* ]] || fail "busctl: Unmap with strings: $out"
	# Named errors, through gdbus.
	expect_error org.viommu1.Error.InvalidArgument gcall /org/viommu1 org.viommu1.Manager.OpenSession "{'Bogus': <true>}"
	expect_error org.viommu1.Error.NoSuchObject gcall "$ioas" org.viommu1.IOAS.LookupIOVA 4096
	expect_error org.viommu1.Error.InvalidArgument gcall "$ioas" org.viommu1.IOAS.Unmap 0 0
	expect_error org.viommu1.Error.NoSuchObject gcall "$session" org.viommu1.Session.Destroy "'$session/ioas/_3999'"
	expect_error org.viommu1.Error.InvalidArgument gcall "$session" org.viommu1.Session.AttachPasid "'$ioas'" 0 "'$ioas'"
	expect_error org.freedesktop.DBus.Error.UnknownObject gcall "$session/ioas/_3999" org.viommu1.IOAS.Unmap 0 4096
	if [ "$mock_devices" = yes ]; then
		expect_error org.viommu1.Error.Busy gcall "$session" org.viommu1.Session.Destroy "'$hwpt'"
		expect_error org.viommu1.Error.InvalidArgument gcall "$hwpt" org.viommu1.HWPT.SetDirtyTracking true
		expect_error org.freedesktop.DBus.Error.UnknownObject setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
			gdbus call --system --timeout 10 --dest org.viommu1 --object-path "$session" --method org.viommu1.Session.CreateIOAS
	fi
	[ "$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager Describe)" = "$describe_before" ] ||
		fail "the refused calls changed Describe"
	if [ "$mock_devices" = yes ]; then
		bus call org.viommu1 "$session" org.viommu1.Session Detach o "$device" >/dev/null || fail "busctl: Detach"
		bus call org.viommu1 "$session" org.viommu1.Session Destroy o "$hwpt" >/dev/null || fail "busctl: Destroy"
		bus call org.viommu1 "$session" org.viommu1.Session ReleaseDevice o "$device" >/dev/null ||
			fail "busctl: ReleaseDevice"
	fi
	bus call org.viommu1 "$session" org.viommu1.Session Close >/dev/null || fail "busctl: Close"
	bus tree org.viommu1 | grep -q -- "$session" && fail "busctl tree still lists $session after Close"
	[ ${#failures[@]} -eq "$errors_before" ] && pass "busctl and gdbus"
}

# vmm_client_checks: the example VMM of examples/, unprivileged, on a mock
# device: each step done, or said to be unsupported by this kernel.
vmm_client_checks() {
	local out rc

	echo "== examples/vmm-client --mock as nobody"
	out=$(as nobody "$vmm_client" --mock 2>&1)
	rc=$?
	echo "$out"
	if [ $rc -ne 0 ]; then
		fail "vmm-client exited with status $rc"
		return
	fi
	local want=('^session /org/viommu1/session/' '^device .*, dev_id [1-9]' '^mapped 2097152 bytes'
		'^attached to ' '^session closed$')
	# Nested HWPTs (6.7) and fault queues (6.11) on every kernel tested;
	# older ones must say they lack them.
	if [ "$kernel_major" -gt 6 ] || [ "$kernel_minor" -ge 11 ]; then
		want+=('^stage 1: nested HWPT .*, fault queue /org/viommu1/'
			'^invalidated over the direct channel: 1 of 1 entries handled$'
			'^invalidated as a frame: 1 of 1 entries handled$'
			'^fault queue: no page request pending$')
	else
		want+=('not supported here')
	fi
	for w in "${want[@]}"; do
		grep -q "$w" <<<"$out" || fail "vmm-client did not print /$w/"
	done
	pass "examples/vmm-client"
}

# python_example_checks: examples/viommu-report.py, an operator's script on
# python3-gi, unprivileged: its report, and a session it opens, maps into and
# closes.
python_example_checks() {
	local out rc

	echo "== examples/viommu-report.py --probe as nobody"
	out=$(as nobody python3 "$src/examples/viommu-report.py" --probe 2>&1)
	rc=$?
	echo "$out"
	if [ $rc -ne 0 ]; then
		fail "viommu-report.py exited with status $rc"
		return
	fi
	local w
	for w in '^viommud [0-9.]* on Linux ' '^iommufd features: [0-9]* of [0-9]*' \
		'^probe: mapped 4096 bytes at IOVA 0x1000000 in /org/viommu1/session/' '^probe: session closed$'; do
		grep -q "$w" <<<"$out" || { fail "viommu-report.py did not print /$w/"; return; }
	done
	as nobody python3 "$src/examples/viommu-report.py" --bogus >/dev/null 2>&1
	[ $? -eq 2 ] || { fail "viommu-report.py --bogus did not exit with status 2"; return; }
	pass "examples/viommu-report.py"
}

# leftovers: no session, no pinned page after the tests.
leftovers() {
	local left pin_after

	left=$(bus get-property org.viommu1 /org/viommu1 org.viommu1.Manager Sessions)
	[ "$left" = "ao 0" ] || fail "sessions left after the tests: $left"
	pin_after=$(awk '/^VmPin:/ { print $2 }' "/proc/$viommud_pid/status")
	[ "$pin_after" = "$pin_before" ] || fail "viommud holds ${pin_after} kB pinned after the tests (${pin_before} kB before)"
}

# plain_checks: a daemon without --test-mock-devices refuses mock devices.
plain_checks() {
	local session errors_before=${#failures[@]}

	[ "$(bus get-property org.viommu1 /org/viommu1 org.viommu1.Manager MockDevices)" = "b false" ] ||
		fail "MockDevices without --test-mock-devices"
	session=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true | path_of)
	[ -n "$session" ] || { fail "busctl: OpenSession"; return; }
	expect_error org.viommu1.Error.NotSupported gcall "$session" org.viommu1.Session.CreateMockDevice 0
	bus introspect org.viommu1 "$session" | grep -q '^org\.viommu1\.Testing ' &&
		fail "org.viommu1.Testing is served without --test-mock-devices"
	bus call org.viommu1 "$session" org.viommu1.Session Close >/dev/null || fail "busctl: Close"
	[ ${#failures[@]} -eq "$errors_before" ] && pass "no mock devices without --test-mock-devices"
}

echo "== viommud integration on Linux $(uname -r), profile $profile"
# VIOMMU_ITEST_ONLY=restarts runs the restart tests alone, =api the checks of
# the API as a VMM author meets it (dbus/*.xml, examples/), =memory the guest
# memory and DMA tests (test-memory, its restart group under the fd store
# too), =virtio the virtio-iommu backend (test-virtio-iommu, its restart
# group under the fd store too), =lease the translation lease tests and
# their races (test-lease), =channel the direct and frame channels
# (test-channel), =owner the tests of other uids' sessions (test-owner),
# =bind the device binding tests (vtd), for a quick look.
only=${VIOMMU_ITEST_ONLY:-}
# The quick looks: one group of clients against a fresh daemon, the leftovers
# check after it, and for memory and virtio their restart groups under the
# fd store.
quick_virtio() {
	if [ "$mock_devices" = yes ]; then
		client nobody test-virtio-iommu virtio
		client root test-virtio-iommu owner
	fi
	[ "$profile" = vtd ] && client root test-virtio-iommu vtd
}
quick_lease() { client nobody test-lease; }
quick_channel() { client nobody test-channel; }
quick_owner() { client root test-owner; }
quick_memory() { client nobody test-memory memory; }
case $only in
virtio | lease | memory | channel | owner)
	[ "$only" = virtio ] || [ "$only" = owner ] || [ "$mock_devices" = yes ] ||
		{ echo "run-in-guest: the $only tests need mock devices" >&2; exit 2; }
	start_viommud "$work/viommud.log" --test-mock-devices -v
	pin_before=$(awk '/^VmPin:/ { print $2 }' "/proc/$viommud_pid/status")
	"quick_$only"
	if answers; then leftovers; else fail "viommud does not answer after the $only tests"; fi
	stop_viommud "$work/viommud.log"
	logs=("$work/viommud.log")
	if [ "$only" = memory ] || { [ "$only" = virtio ] && [ "$mock_devices" = yes ]; }; then
		private_bus_wrapper=("$harness" --)
		start_viommud "$work/viommud-restart-$only.log" --test-mock-devices -v
		private_bus_wrapper=()
		[ "$only" = memory ] && program=test-memory || program=test-virtio-iommu
		VIOMMU_TEST_HARNESS_PID=$viommud_pid client root "$program" restart
		stop_viommud "$work/viommud-restart-$only.log"
		logs+=("$work/viommud-restart-$only.log")
	fi
	# A lease race's log is a line per mapping: the tail shows what failed.
	[ $status -eq 0 ] || { grep -hv 'mapped 0x' "${logs[@]}" | tail -n 60; printf '  %s\n' "${failures[@]}"; }
	echo "integration: $( [ $status -eq 0 ] && echo PASS || echo FAIL )"
	exit $status
	;;
esac
# Device binding, on the vtd profile's second e1000e, with a viommud and a
# bus of its own (tests/integration/bind.sh).
if [ "$profile" = vtd ] && { [ -z "$only" ] || [ "$only" = bind ]; }; then
	rc=0
	unit bind "$src/tests/integration/bind.sh" "$build" || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || fail "bind.sh (device binding)"
	if [ "$only" = bind ]; then
		echo "integration: $( [ $status -eq 0 ] && echo PASS || echo FAIL )"
		exit $status
	fi
fi
if [ "$only" != restarts ]; then
start_viommud "$work/viommud.log" --test-mock-devices -v
pin_before=$(awk '/^VmPin:/ { print $2 }' "/proc/$viommud_pid/status")

# ---- the C clients
[ "$only" = api ] || suite_clients
if [ "$profile" = vtd ] && [ "$only" != api ]; then
	client root test-claim
	client "$(id -un "$VIOMMU_TEST_CONFIG_UID")" test-vtd
	client root test-virtio-iommu vtd
fi

if answers; then
	if [ "$only" != api ]; then
		busctl_checks
		cli_checks
	fi
	[ "$mock_devices" = yes ] && vmm_client_checks
	python_example_checks
	# The interface files in dbus/ against what the daemon introspects, where
	# every interface exists (vIOMMU objects: Linux 6.13).
	if [ -x "$src/tests/integration/check-introspection.sh" ] && [ "$mock_devices" = yes ] &&
		{ [ "$kernel_major" -gt 6 ] || [ "$kernel_minor" -ge 13 ]; }; then
		echo "== dbus/*.xml against the running daemon"
		"$src/tests/integration/check-introspection.sh" "$src" && pass "introspection matches dbus/" ||
			fail "introspection differs from dbus/"
	fi
	leftovers
else
	fail "viommud does not answer after the C clients: the remaining checks are skipped"
fi
stop_viommud "$work/viommud.log"
fi

# restarts NAME [WRAPPER...]: viommud under a stand-in for systemd's fd
# store, started through WRAPPER, restarted by test-restart (and killed by
# test-crash): sessions outlive the restarts. Whether their pins move to the
# new run is said in the log once per take-over when they do not
# (viommud(8)): before Linux 6.13, and with CAP_IPC_LOCK.
restarts() {
	local name=$1 log=$work/viommud-restart-$1.log n_stay n_takeovers expected
	shift
	echo "== restarts, $name"
	private_bus_wrapper=("$@" "$harness" --)
	start_viommud "$log" --test-mock-devices -v
	private_bus_wrapper=()
	local failed_before=${#failures[@]} monitor_pid session
	# viommuctl monitor subscribes again to each new run of the daemon.
	"$build/cli/viommuctl" --json monitor >"$work/monitor-$name.json" 2>"$work/monitor-$name.err" &
	monitor_pid=$!
	for _ in $(seq 100); do grep -q Monitoring "$work/monitor-$name.err" && break; sleep 0.1; done
	VIOMMU_TEST_HARNESS_PID=$viommud_pid client root test-restart restart
	session=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true |
		path_of)
	bus call org.viommu1 "$session" org.viommu1.Session Close >/dev/null || fail "$name: Close $session"
	for _ in $(seq 100); do grep -q "\"$session\"" "$work/monitor-$name.json" && break; sleep 0.1; done
	kill "$monitor_pid"
	wait "$monitor_pid"
	jq -n -e --arg s "$session" 'any(inputs; .signal == "SessionClosed" and .session == $s)' \
		"$work/monitor-$name.json" >/dev/null ||
		fail "$name: viommuctl monitor missed $session's end after the restarts: $(cat "$work/monitor-$name."*)"
	VIOMMU_TEST_HARNESS_PID=$viommud_pid client root test-memory restart
	VIOMMU_TEST_HARNESS_PID=$viommud_pid client root test-virtio-iommu restart
	# Kill -9 at random instants, 50 times: once, where the pins move to
	# the new run and VmPin can be checked after each (from Linux 6.13).
	[ "$name" = without-ipc-lock ] && client root test-crash crash
	private_bus_alive || fail "$name: the private bus ended during the restart tests"
	if [ ${#failures[@]} -ne "$failed_before" ]; then
		echo "== $name: viommud's log (last 40 lines)"
		tail -n 40 "$log"
	fi
	if ! grep -q 'Took over 3 session(s)' "$log"; then
		grep -E 'fdstore-harness|Took over|Handed|handed over|taken over|ends' "$log"
		fail "$name: the restarted viommud does not say it took over the three sessions"
	fi
	# test_restart_damaged_journal_ends_session: said in the log.
	grep -q 'its journal (generation [0-9]*) is not usable (Bad message); it ends' "$log" ||
		fail "$name: viommud does not say it ended the session whose journal was damaged"
	n_stay=$(grep -c 'stay charged to the previous run' "$log")
	n_takeovers=$(grep -c 'Took over [0-9]* session(s)' "$log")
	if [ "$kernel_major" -eq 6 ] && [ "$kernel_minor" -lt 13 ]; then
		expected='needs IOMMU_IOAS_CHANGE_PROCESS, which Linux 6.13 brings'
	elif [ "$name" = with-ipc-lock ]; then
		expected='with CAP_IPC_LOCK they are charged to no locked-memory limit'
	else
		expected=''
	fi
	if [ -z "$expected" ]; then
		[ "$n_stay" -eq 0 ] || { grep 'stay charged' "$log"; fail "$name: the pins of a session taken over did not move"; }
	elif [ "$n_stay" -ne "$n_takeovers" ] || [ "$(grep -c "$expected" "$log")" -ne "$n_takeovers" ]; then
		grep 'stay charged' "$log"
		fail "$name: viommud does not say, once per take-over, that the pins stay ($expected)"
	fi
	stop_viommud "$log"
	if ! private_bus_alive; then
		grep fdstore-harness "$log" | tail -n 10
		fail "$name: the private bus ended when viommud stopped"
	fi
}

if [ "$mock_devices" = yes ] && [ "$only" != api ]; then
	# As root, with every capability, CAP_IPC_LOCK among them.
	restarts with-ipc-lock
	# Without it, pins count against the locked-memory limit, which is
	# lifted so the tests' mappings fit.
	restarts without-ipc-lock prlimit --memlock=unlimited:unlimited setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock --
fi

# A service manager that reads the daemon's messages late, with a
# viommud and a bus of their own (tests/integration/store-full.sh).
if [ "$only" != api ]; then
	unit store-full "$src/tests/integration/store-full.sh" "$build" || fail "store-full.sh (a full notify queue)"
fi

# Without --test-mock-devices, mock devices are refused.
if [ "$only" != api ]; then
	start_viommud "$work/viommud-plain.log"
	if answers; then
		plain_checks
	else
		fail "viommud without --test-mock-devices does not answer"
	fi
	stop_viommud "$work/viommud-plain.log"
fi

if [ $status -ne 0 ]; then
	echo "== viommud's log (last 60 lines)"
	tail -n 60 "$work/viommud.log"
	echo "== fake-polkit's log"
	cat "$VIOMMU_TEST_POLKIT_LOG"
	echo "== failures"
	printf '  %s\n' "${failures[@]}"
fi
echo "integration: $( [ $status -eq 0 ] && echo PASS || echo FAIL )"
exit $status
