# shellcheck shell=bash
# The private system bus of the integration tests, sourced by run-in-guest.sh,
# qemu-delegation.sh and unplug.sh: a dbus-daemon with bus.conf (a
# default-deny system bus) and the project's own policy, the stand-in polkit
# and viommud on it, each started and waited for here.
#
#   . tests/integration/private-bus.sh
#   private_bus_start DIR                  the bus on DIR/bus (DIR exists);
#                                          exports DBUS_SYSTEM_BUS_ADDRESS
#   private_bus_polkit FAKE_POLKIT LOG ARGS...
#                                          the stand-in polkit, its log in LOG
#   private_bus_viommud VIOMMUD LOG ARGS...
#                                          viommud until it owns org.viommu1;
#                                          sets viommud_pid; run under the
#                                          command in the private_bus_wrapper
#                                          array, if any (its pid is then
#                                          viommud_pid)
#   private_bus_viommud_stop               SIGTERM, SIGKILL after 20 s; sets
#                                          viommud_status to its exit status
#   private_bus_stop                       ends whatever was started here
#
# A function that cannot start its program says why on stderr, with the end
# of the program's log, and returns 1: the caller fails in its own words.

private_bus_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
private_bus_src=$(cd "$private_bus_here/../.." && pwd)
private_bus_pids=()
# For the caller: set by private_bus_viommud and private_bus_viommud_stop.
# shellcheck disable=SC2034
viommud_pid='' viommud_status=''
private_bus_wrapper=()
private_bus_daemon='' private_bus_dir=''

# private_bus_wait SECONDS COMMAND...: until COMMAND succeeds.
private_bus_wait() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# private_bus_has_owner NAME: someone owns NAME on the private bus.
# dbus-send, not busctl: the arm64 guest's userland has dbus but no systemd.
private_bus_has_owner() {
	[[ $(dbus-send --system --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.NameHasOwner string:"$1" 2>/dev/null) == *"boolean true"* ]]
}

private_bus_failed() { # WHAT LOG
	echo "private-bus: $1; the end of $2:" >&2
	tail -n 40 "$2" >&2 2>/dev/null
	return 1
}

# Forgets a pid that the caller waited for itself.
private_bus_forget() {
	local p kept=()
	for p in "${private_bus_pids[@]}"; do
		[ "$p" = "$1" ] || kept+=("$p")
	done
	private_bus_pids=("${kept[@]}")
}

# private_bus_alive: whether the bus still runs; if not, says how it ended.
# (Twice a run found it gone after the crash test, with exit status 0 as
# after a SIGTERM and nothing in its log; cause unknown. The kernel's last
# words are shown too.)
private_bus_alive() {
	local rc=0
	kill -0 "$private_bus_daemon" 2>/dev/null && return 0
	wait "$private_bus_daemon" || rc=$?
	echo "private-bus: the kernel's log, last lines:" >&2
	dmesg 2>/dev/null | tail -n 15 >&2
	private_bus_failed "dbus-daemon (pid $private_bus_daemon) is gone, exit status $rc; $(ls -la "$private_bus_dir")" \
		"$private_bus_dir/dbus.log"
}

private_bus_start() {
	local dir=$1
	mkdir -p "$dir/policy.d"
	cp "$private_bus_here/bus.conf" "$dir/bus.conf"
	cp "$private_bus_src/dbus/org.viommu1.conf" "$dir/policy.d/"
	# --address rather than bus.conf's system-like path: a private bus
	# never meets another test's.
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/bus
	dbus-daemon --config-file="$dir/bus.conf" --address="$DBUS_SYSTEM_BUS_ADDRESS" --nofork --nopidfile \
		>"$dir/dbus.log" 2>&1 &
	private_bus_pids+=($!)
	private_bus_daemon=$! private_bus_dir=$dir
	private_bus_wait 10 test -S "$dir/bus" || private_bus_failed "dbus-daemon did not start" "$dir/dbus.log"
}

private_bus_polkit() {
	local polkit=$1 log=$2
	shift 2
	"$polkit" "$@" >"$log" 2>&1 &
	private_bus_pids+=($!)
	# The clients, whatever their uid, read what polkit was asked.
	chmod 644 "$log"
	private_bus_wait 10 grep -q '^fake-polkit: ready' "$log" || private_bus_failed "fake-polkit did not start" "$log"
}

private_bus_viommud() {
	local viommud=$1 log=$2 end=$((SECONDS + 20))
	shift 2
	"${private_bus_wrapper[@]}" "$viommud" --address="$DBUS_SYSTEM_BUS_ADDRESS" "$@" >"$log" 2>&1 &
	viommud_pid=$!
	private_bus_pids+=("$viommud_pid")
	until private_bus_has_owner org.viommu1; do
		private_bus_alive || return 1
		kill -0 "$viommud_pid" 2>/dev/null || { private_bus_failed "viommud exited" "$log"; return 1; }
		[ $SECONDS -lt $end ] || { private_bus_failed "viommud did not take its name in 20 s" "$log"; return 1; }
		sleep 0.1
	done
}

private_bus_viommud_stop() {
	local watchdog
	kill -TERM "$viommud_pid" 2>/dev/null || true
	# A watchdog for a daemon that ignores it; off the caller's output,
	# which a sleep left behind would otherwise hold open.
	(sleep 20 && kill -KILL "$viommud_pid") >/dev/null 2>&1 &
	watchdog=$!
	viommud_status=0
	# shellcheck disable=SC2034 # the caller's
	wait "$viommud_pid" || viommud_status=$?
	kill "$watchdog" 2>/dev/null || true
	wait "$watchdog" 2>/dev/null || true
	private_bus_forget "$viommud_pid"
}

private_bus_stop() {
	local i
	for ((i = ${#private_bus_pids[@]} - 1; i >= 0; i--)); do
		kill "${private_bus_pids[i]}" 2>/dev/null || true
	done
	for i in "${private_bus_pids[@]}"; do
		wait "$i" 2>/dev/null || true
	done
	private_bus_pids=()
}
