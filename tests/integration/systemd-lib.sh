# shellcheck shell=bash disable=SC2034,SC2154 # name is the caller's, failed its verdict
# Sourced by the test scripts of the systemd profile of the test VM
# (systemd-guest.sh, systemd-host.sh), which set $name first: their verdict
# lines ("NAME: PASS: ...", "NAME: FAIL: ...", counted by tests/summarize),
# the skip when the guest is not that profile or viommud is not installed,
# and what they ask systemd about viommud.service.

pass() { echo "$name: PASS: $*"; }
fail() {
	echo "$name: FAIL: $*"
	failed=1
}
skip() {
	echo "$name: SKIP: $*"
	exit 77
}
[ "${VIOMMU_TEST_PROFILE:-}" = systemd ] || skip "needs the systemd profile of the test VM"
[ -x /usr/sbin/viommud ] || skip "viommud is not installed (run-vm.sh --install)"

main_pid() { systemctl show -P MainPID viommud; }
# Wait (at most 30 s) until the unit is active with a main process other
# than $1.
wait_restarted() {
	local _
	for _ in $(seq 300); do
		if [ "$(systemctl is-active viommud)" = active ] && [ "$(main_pid)" != 0 ] &&
			[ "$(main_pid)" != "$1" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# dropin NAME [LINE...]: the drop-in NAME.conf of viommud.service with
# [Service] and LINEs, or without LINEs none, and viommud restarted so that
# it runs under it. Fails unless it runs again.
dropin() {
	local file=/run/systemd/system/viommud.service.d/$1.conf pid
	shift
	mkdir -p "${file%/*}"
	if [ $# -gt 0 ]; then
		printf '[Service]\n' >"$file"
		printf '%s\n' "$@" >>"$file"
	else
		rm -f "$file"
	fi
	systemctl daemon-reload
	pid=$(main_pid)
	systemctl restart viommud && wait_restarted "$pid"
}
# shellcheck source-path=SCRIPTDIR source=../vm/vfio-bind.sh
. "$(dirname "$0")/../vm/vfio-bind.sh"
