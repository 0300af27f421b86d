#!/bin/bash
# A service manager that falls behind on viommud's messages holds up no one.
# viommud runs under the stand-in store (fdstore-harness) with a notify
# socket queue of four messages and a watchdog of 400 ms, and the harness
# reads none while a file exists. Meanwhile viommud answers every call at
# once: a session whose entry cannot be stored opens without it (a restart
# would end it, as its log line says), guest memory, which must be stored,
# is refused with Busy, the watchdog's pings find no room, and the removals
# and a reload's RELOADING=1 and READY=1 wait their turn inside viommud.
# Once the harness reads again, they reach it in order, the store is left as
# it was, and the pings go on.
#
#   store-full.sh BUILDDIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: store-full.sh BUILDDIR}

fail() { echo "store-full: FAIL: $*"; exit 1; }
ok() { echo "store-full: ok: $*"; }

run=$(mktemp -d /run/viommu-store.XXXXXX)
chmod 755 "$run"
qlen=$(sysctl -n net.unix.max_dgram_qlen)
# shellcheck source-path=SCRIPTDIR source=private-bus.sh
. "$here/private-bus.sh"
cleanup() {
	local rc=$?
	rm -f "$run/hold"
	sysctl -qw net.unix.max_dgram_qlen="$qlen"
	private_bus_stop
	[ "$rc" -eq 0 ] || sed 's/^/  viommud: /' "$run/viommud.log" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT

echo '{}' >"$run/viommud.conf"
private_bus_start "$run" || fail "dbus-daemon did not start"
# The queue's length is the receiving socket's, fixed when the harness
# makes it.
sysctl -qw net.unix.max_dgram_qlen=4
private_bus_wrapper=("$build/tests/integration/fdstore-harness" --hold-file="$run/hold" --)
WATCHDOG_USEC=400000 private_bus_viommud "$build/daemon/viommud" "$run/viommud.log" \
	--config="$run/viommud.conf" -v || fail "viommud did not take its bus name"
sysctl -qw net.unix.max_dgram_qlen="$qlen"
# The harness is viommud_pid; viommud is its child.
pid=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
	GetConnectionUnixProcessID s org.viommu1 | cut -d' ' -f2)
pings() { grep -c '^fdstore-harness: watchdog$' "$run/viommud.log" || true; }
for _ in $(seq 30); do
	[ "$(pings)" -gt 0 ] && break
	sleep 0.1
done
[ "$(pings)" -gt 0 ] || fail "no WATCHDOG=1 in 3 s with a watchdog of 400 ms"
ok "viommud sends WATCHDOG=1"

# in_store: the number of fds the harness last said it holds.
in_store() { sed -n 's/^fdstore-harness: .* (\([0-9]*\) in store)$/\1/p' "$run/viommud.log" | tail -n 1; }
before=$(in_store)
before=${before:-0}

# A delegated session that gdbus opens ends as gdbus leaves the bus: an
# entry added, then removed, each a message to the store. Once the queue is
# full, a session opens without an entry, which its log line says.
touch "$run/hold"
n_open=0
until grep -q 'not in the fd store (No buffer space available)' "$run/viommud.log"; do
	[ $n_open -lt 8 ] || fail "$n_open sessions opened, and none found the store full"
	out=$(gdbus call --system --timeout 5 --dest org.viommu1 --object-path /org/viommu1 \
		--method org.viommu1.Manager.OpenSession "{'Delegated': <true>}" 2>&1) ||
		fail "OpenSession with a full store failed: $out"
	n_open=$((n_open + 1))
done
ok "after $n_open sessions, one opened without its fd store entry"

# Guest memory must be in the store: refused, with the reason.
out=$(python3 - <<'PY' 2>&1
import os
from gi.repository import Gio, GLib

bus = Gio.bus_get_sync(Gio.BusType.SYSTEM)


def call(path, interface, method, args, fds=None):
    reply, _ = bus.call_with_unix_fd_list_sync('org.viommu1', path, interface, method, args, None,
                                               Gio.DBusCallFlags.NONE, 5000, fds, None)
    return reply.unpack()


path = call('/org/viommu1', 'org.viommu1.Manager', 'OpenSession',
            GLib.Variant('(a{sv})', ({'Persistent': GLib.Variant('b', True)},)))[0]
fd = os.memfd_create('guest-ram', os.MFD_CLOEXEC)
os.ftruncate(fd, 4096)
try:
    print('added region', call(path, 'org.viommu1.Session', 'AddMemory', GLib.Variant('(httt)', (0, 0, 0, 4096)),
                               Gio.UnixFDList.new_from_array([fd]))[0])
except GLib.Error as e:
    print(e.message)
call(path, 'org.viommu1.Session', 'Close', None)
PY
)
[[ $out == *org.viommu1.Error.Busy*"service manager has not yet taken"* ]] ||
	fail "AddMemory with a full store: $out"
ok "AddMemory with a full store: $out"

# Pings find the queue full, and a reload's messages wait; the daemon does
# not wait for the store.
sleep 1
kill -HUP "$pid"
start=$(date +%s%N)
busctl --system --timeout=5 call org.viommu1 /org/viommu1 org.viommu1.Manager GetKernelFeatures >/dev/null ||
	fail "viommud does not answer while the store reads nothing"
ok "viommud answers in $((($(date +%s%N) - start) / 1000000)) ms while the store reads nothing"
sessions=$(busctl --system --timeout=5 get-property org.viommu1 /org/viommu1 org.viommu1.Manager Sessions)
[ "$sessions" = "ao 0" ] || fail "sessions left while the store reads nothing: $sessions"
grep -q 'holding the notify socket' "$run/viommud.log" || fail "the harness never held its messages"

# Read again, the store gets the removals that waited, and ends as it began.
rm "$run/hold"
for _ in $(seq 100); do
	[ "$(in_store)" = "$before" ] && grep -q 'reading the notify socket again' "$run/viommud.log" && break
	sleep 0.1
done
[ "$(in_store)" = "$before" ] || fail "the store holds $(in_store) fds, not $before as before"
ok "the store holds $before fds again"
# What the harness heard once it read again: the reload's messages, in
# their order, and pings again.
for _ in $(seq 30); do
	after=$(sed -n '/reading the notify socket again/,$p' "$run/viommud.log")
	grep -q '^fdstore-harness: watchdog$' <<<"$after" && break
	sleep 0.1
done
grep -q '^fdstore-harness: watchdog$' <<<"$after" || fail "no WATCHDOG=1 after the harness read again"
heard=$(grep -E '^fdstore-harness: (status: |ready$)' <<<"$after" | tr '\n' '|')
[[ $heard == "fdstore-harness: status: Reloading $run/viommud.conf|fdstore-harness: status: Serving|fdstore-harness: ready|"* ]] ||
	fail "the reload's messages, as the harness heard them: $heard"
ok "RELOADING=1, then READY=1, reached the harness once it read again; pings go on"
out=$(gdbus call --system --timeout 5 --dest org.viommu1 --object-path /org/viommu1 \
	--method org.viommu1.Manager.OpenSession "{'Delegated': <true>}" 2>&1) ||
	fail "OpenSession after the store read again: $out"
ok "OpenSession works again"

private_bus_viommud_stop
[ "$viommud_status" -eq 0 ] || fail "viommud exited with status $viommud_status"
grep -q '^fdstore-harness: stopping$' "$run/viommud.log" || fail "no STOPPING=1 reached the harness"
ok "viommud said STOPPING=1 and exited with status 0"
echo "store-full: PASS: a full notify queue held up no call, and the manager caught up"
