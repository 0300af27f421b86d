#!/bin/bash
# viommud under its installed, hardened unit with the host's own polkitd,
# journal and watchdog, in the systemd profile of the test VM. Run by
# tests/integration/systemd-guest.sh in the same boot, after its own checks,
# with viommud running with mock devices (its drop-in):
#  - reload: viommud.conf limiting a user to one persistent session:
#    `systemctl reload viommud` succeeds and the user's second persistent
#    session is refused; a broken file makes the reload fail, `systemctl
#    status` shows why, and the second session is still refused (the old
#    configuration stays); while the reload's reading of the files is held
#    (the user database taking its time), viommud answers;
#  - with an edu device (run-vm.sh --vtd; on vfio-pci), polkit:
#    dbus/org.viommu1.policy as installed and a rules file written here: a
#    group's member may claim it, another user is refused
#    (org.viommu1.Error.PermissionDenied, and a journal line naming the
#    action and the caller), a third is answered auth_admin: with pkttyagent
#    registered for the calling process and root's password typed into its
#    prompt the claim succeeds, without an agent it is refused; and
#    viommud.conf's unit rule: a user polkit refuses claims from a unit the
#    file allows, and only from there; the second e1000e bound to vfio-pci
#    under org.viommu1.bind-device by a user polkit allows, refused to
#    another, and given back to e1000e;
#  - the journal: `journalctl -u viommud SESSION=N` finds session N's
#    messages and no other's, OBJECT= names the object a message is about;
#  - the confinement: systemd-analyze security at most 2.5; Seccomp: 2,
#    NoNewPrivs, the capability bounding set
#    of the unit in /proc/PID/status; in the unit's cgroup a device not in
#    DeviceAllow= is refused, /dev/iommu is not;
#  - the watchdog: with WatchdogSec=3s (a drop-in), a SIGSTOPped viommud is
#    restarted by systemd.
# One line "systemd-host: PASS: ..." or "systemd-host: FAIL: ..." per check.
# Exit status: 0 passed, 1 failed, 77 skipped.
set -uo pipefail

dest=org.viommu1
manager=/org/viommu1
action=org.viommu1.claim-device
work=/run/viommu-host-test
password=viommu-test-root
name=systemd-host
failed=0

# shellcheck source-path=SCRIPTDIR source=systemd-lib.sh
. "$(dirname "$0")/systemd-lib.sh"
[ "$(systemctl is-active viommud)" = active ] || skip "viommud is not running"

first_path() { sed -n 's/^[^"]* "\([^"]*\)".*/\1/p'; }
# as USER COMMAND...: COMMAND as USER, with the system bus.
as() {
	local user=$1
	shift
	runuser -u "$user" -- "$@"
}
# open_session USER: a persistent session of USER (it outlives the call).
open_session() {
	as "$1" busctl call "$dest" "$manager" "$dest.Manager" OpenSession 'a{sv}' 1 Persistent b true | first_path
}
close_session() { as "$1" busctl call "$dest" "$2" "$dest.Session" Close >/dev/null; }
# claim USER SESSION: ClaimDevice of the edu device by USER, through
# dbus-send, which prints the error's name; its output on stdout.
claim() {
	as "$1" dbus-send --system --print-reply --dest="$dest" "$2" "$dest.Session.ClaimDevice" \
		string:"$edu" boolean:false 2>&1
}
# journal_has TEXT [MATCHES...]: whether viommud's journal of this boot has
# a message containing TEXT (waiting up to 5 s for it to arrive).
journal_has() {
	local text=$1 _
	shift
	for _ in $(seq 50); do
		journalctl -b -u viommud -o cat --no-pager "$@" | grep -qF -- "$text" && return 0
		sleep 0.1
	done
	return 1
}

rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"

# The users of the tests: alice in group viommuvm, which polkit allows;
# bob, whom it refuses; carol, whom it answers auth_admin; dave, whom it
# refuses but viommud.conf allows from a unit.
groupadd -f viommuvm
for u in alice bob carol dave; do
	id "$u" >/dev/null 2>&1 || useradd -M -d /nonexistent -s /bin/bash "$u"
done
usermod -aG viommuvm alice

echo "== reload"
# dave may have one persistent session once viommud.conf says so; the file
# also lets the units viommu-claim@.service claim edu devices, which the
# claims below use.
conf=/etc/viommu/viommud.conf
mkdir -p /etc/viommu
# second_session: whether dave's second persistent session is refused.
second_session() {
	local s1 s2 out rc=1
	s1=$(open_session dave)
	if out=$(as dave busctl call "$dest" "$manager" "$dest.Manager" OpenSession 'a{sv}' 1 Persistent b true 2>&1); then
		s2=$(first_path <<<"$out")
		[ -z "$s2" ] || close_session dave "$s2"
	elif [[ $out == *"one more would exceed its limit of 1 (limits.persistent-sessions-per-user in $conf)"* ]]; then
		rc=0
	fi
	[ -z "$s1" ] || close_session dave "$s1"
	echo "$out"
	return "$rc"
}
if out=$(second_session); then
	fail "dave's second persistent session was refused before viommud.conf set a limit: $out"
fi
cat >"$conf" <<'EOF'
{
  "limits": { "persistent-sessions-per-user": 1 },
  "allow": [ { "devices": [ {"id": "1234:11e8"} ], "units": ["viommu-claim@.service"] } ]
}
EOF
pid=$(main_pid)
if ! out=$(systemctl reload viommud 2>&1); then
	fail "systemctl reload with a valid viommud.conf failed: $out"
elif ! journal_has "Configuration reloaded, 2 change(s)"; then
	fail "after systemctl reload viommud did not say it reloaded"
elif ! out=$(second_session); then
	fail "after the reload dave's second persistent session is not refused: $out"
elif [ "$(main_pid)" != "$pid" ]; then
	fail "the reload restarted viommud (pid $pid to $(main_pid))"
else
	pass "systemctl reload applied viommud.conf: $out"
fi
cp "$conf" "$work/good.conf"
echo '{ "allow": [ { "devices": [ {"pci": "not-a-device"} ], "users": ["dave"] } ] }' >"$conf"
if out=$(systemctl reload viommud 2>&1); then
	fail "systemctl reload with a broken viommud.conf succeeded"
else
	status=$(systemctl status --no-pager -n 20 viommud 2>&1)
	if [[ $status == *"is not a PCI address"* ]] && [ "$(systemctl is-active viommud)" = active ] &&
		[ "$(main_pid)" = "$pid" ]; then
		pass "systemctl reload with a broken viommud.conf failed; systemctl status says: $(grep -F \
			"is not a PCI address" <<<"$status" | tail -n 1 | sed 's/^ *//')"
	else
		fail "after a failed reload viommud is $(systemctl is-active viommud), status: $status"
	fi
	if out=$(second_session); then
		pass "the configuration before the broken file stays: dave's second session is still refused"
	else
		fail "after a failed reload the previous configuration is gone: $out"
	fi
fi
cp "$work/good.conf" "$conf"
systemctl reload viommud || fail "systemctl reload with the valid viommud.conf again failed"
# The files are read in a thread: their names are the user database's,
# which may take its time (a test hook holds the thread while the file
# exists, systemd-guest.sh's drop-in sets it). Meanwhile viommud answers,
# and the reload ends once the thread does.
hold=${VIOMMU_TEST_THREAD_HOLD:?systemd-guest.sh sets it}
touch "$hold"
systemctl reload viommud >"$work/reload.out" 2>&1 &
reloader=$!
sleep 1
if ! kill -0 "$reloader" 2>/dev/null; then
	fail "systemctl reload ended while viommud's reading of the files was held: $(cat "$work/reload.out")"
elif ! out=$(busctl --timeout=5 call "$dest" "$manager" "$dest.Manager" GetKernelFeatures 2>&1); then
	fail "viommud does not answer while its reload waits: $out"
else
	pass "viommud answers while its reload waits for the user database"
fi
rm "$hold"
if ! wait "$reloader"; then
	fail "systemctl reload failed once the hold ended: $(cat "$work/reload.out")"
elif [ "$(main_pid)" != "$pid" ]; then
	fail "the held reload restarted viommud (pid $pid to $(main_pid))"
else
	pass "the held reload ended once the user database answered: $(systemctl show -P StatusText viommud)"
fi

# Claims of a real device: polkit, and viommud.conf's unit rule.
claims() {
	echo "== the edu device, off vfio-pci and back"
	# viommud's view of the devices changes only by the uevents that reach
	# it: its Driver follows the unbind and the bind.
	edu=$(pci_find 1234:11e8)
	if [ -z "$edu" ]; then
		fail "no edu device (1234:11e8) in the guest"
		return
	fi
	host=$(busctl call "$dest" "$manager" "$dest.Manager" GetDevice s "$edu" | first_path)
	for driver in "" vfio-pci; do
		if ! pair=$(pci_driver "$edu" "$driver"); then
			fail "$edu did not bind to $driver"
			return
		fi
		for _ in $(seq 50); do
			seen=$(busctl get-property "$dest" "$host" "$dest.Device" Driver 2>&1)
			[ "$seen" != "s \"$driver\"" ] || break
			sleep 0.1
		done
		if [ "$seen" = "s \"$driver\"" ]; then
			pass "viommud saw $edu ${driver:+bound to }${driver:-unbound} (udev's event reached it)"
		else
			fail "viommud does not see $edu ${driver:+bound to }${driver:-unbound}: Driver $seen"
		fi
	done
	echo "systemd-host: $pair"

	echo "== polkit"
	# root, the only administrator, authenticates with its password.
	echo "root:$password" | chpasswd
	cat >/etc/polkit-1/rules.d/10-viommu-test.rules <<-EOF
	polkit.addAdminRule(function(action, subject) {
	        return ["unix-user:root"];
	});
	polkit.addRule(function(action, subject) {
	        if (action.id == "org.viommu1.bind-device")
	                return subject.isInGroup("viommuvm") ? polkit.Result.YES : polkit.Result.NO;
	        if (action.id != "$action")
	                return polkit.Result.NOT_HANDLED;
	        if (subject.isInGroup("viommuvm"))
	                return polkit.Result.YES;
	        if (subject.user == "carol")
	                return polkit.Result.AUTH_ADMIN;
	        return polkit.Result.NO;
	});
	EOF
	[ -f /usr/share/polkit-1/actions/$action.policy ] || [ -f /usr/share/polkit-1/actions/org.viommu1.policy ] ||
		fail "org.viommu1.policy is not installed in /usr/share/polkit-1/actions"
	# polkitd reads the rules anew on a change; restarting makes it certain.
	systemctl restart polkit
	if ! out=$(pkaction --action-id "$action" 2>&1); then
		fail "polkitd does not know $action: $out"
	fi

	s=$(open_session alice)
	out=$(claim alice "$s")
	if [[ $out == *"object path \"/org/viommu1/"* ]]; then
		pass "polkit allowed alice (group viommuvm) to claim $edu"
	else
		fail "alice (group viommuvm) could not claim $edu: $out"
	fi
	[ -z "$s" ] || close_session alice "$s"

	s=$(open_session bob)
	bob_uid=$(id -u bob)
	out=$(claim bob "$s")
	if [[ $out == *"Error org.viommu1.Error.PermissionDenied:"* ]]; then
		pass "polkit refused bob: ${out#*Error }"
	else
		fail "bob's claim was not refused with PermissionDenied: $out"
	fi
	if journal_has "uid $bob_uid may not claim $edu: neither viommud.conf nor polkit (action $action) allows it (caller :"; then
		pass "the journal names the action and the caller: $(journalctl -b -u viommud -o cat --no-pager |
			grep -F "uid $bob_uid may not claim" | tail -n 1)"
	else
		fail "no journal line names $action and bob (uid $bob_uid)"
	fi
	[ -z "$s" ] || close_session bob "$s"

	# Without an agent, allowing interaction or not: refused.
	s=$(open_session carol)
	out=$(claim carol "$s")
	if [[ $out == *"Error org.viommu1.Error.PermissionDenied:"* ]]; then
		pass "carol (auth_admin) without an agent is refused: ${out#*Error }"
	else
		fail "carol (auth_admin) without an agent was not refused: $out"
	fi
	if out=$(as carol busctl call --allow-interactive-authorization=yes "$dest" "$s" "$dest.Session" ClaimDevice sb "$edu" false 2>&1); then
		fail "carol (auth_admin), interactive, without an agent could claim: $out"
	else
		pass "carol (auth_admin), interactive, without an agent is refused: $out"
	fi

	# With pkttyagent registered for the very process that calls (the shell
	# execs busctl), on a terminal of its own (script): it prompts for root's
	# password, which is typed into it.
	cat >"$work/agent-claim" <<-'EOF'
	#!/bin/bash
	# agent-claim SESSION DEVICE PIDFILE
	set -u
	fifo=$(mktemp -u /tmp/agent.XXXXXX)
	mkfifo "$fifo"
	pkttyagent --process $$ --notify-fd 3 3>"$fifo" &
	echo $! >"$3"
	cat "$fifo" >/dev/null
	rm -f "$fifo"
	exec busctl call --timeout=120 --allow-interactive-authorization=yes org.viommu1 "$1" \
		org.viommu1.Session ClaimDevice sb "$2" false
	EOF
	chmod 755 "$work/agent-claim"
	touch "$work/agent.pid"
	chown carol "$work/agent.pid"
	coproc agent { script -qfec "runuser -u carol -- $work/agent-claim $s $edu $work/agent.pid" /dev/null 2>&1; }
	# Bash drops agent[] once the coprocess ends: its ends, kept.
	exec {from}<&"${agent[0]}" {to}>&"${agent[1]}"
	# shellcheck disable=SC2154 # coproc agent sets agent_PID
	agent_job=$agent_PID
	transcript='' prompted=no
	while IFS= read -r -d ':' -t 60 chunk <&"$from"; do
		transcript+="$chunk:"
		if [[ $chunk == *Password ]]; then
			prompted=yes
			break
		fi
	done
	# pkttyagent prints its prompt before it turns echo off with TCSAFLUSH,
	# which drops input that came in between (the terminal then echoes it):
	# the password goes again, a moment after the prompt, until the agent
	# answers with anything but that echo.
	rest=''
	for _ in 1 2 3 4 5; do
		[ "$prompted" = yes ] || break
		sleep 1
		echo "$password" >&"$to"
		IFS= read -r -t 3 rest <&"$from" || continue
		[[ ${rest//$'\r'/} == *"$password" ]] || break
		transcript+=$rest
		rest=''
	done
	rest+=$(timeout 60 cat <&"$from")
	transcript+=$rest
	exec {from}<&- {to}>&-
	wait "$agent_job" 2>/dev/null
	agent_pid=$(<"$work/agent.pid")
	[ -z "$agent_pid" ] || kill "$agent_pid" 2>/dev/null
	if [ "$prompted" = yes ] && [[ $rest == *' "/org/viommu1/'* ]]; then
		pass "carol (auth_admin) claimed $edu after root's password went into pkttyagent's prompt"
	else
		fail "carol's claim through pkttyagent (prompted: $prompted): $(echo "$transcript" | tr -d '\r' | tr '\n' '|')"
	fi
	[ -z "$s" ] || close_session carol "$s"

	echo "== viommud.conf's unit rule"
	# dave, whom polkit refuses, claims from a unit viommud.conf allows: its
	# unit is read from /proc, which ProtectProc=invisible does not hide
	# from a daemon in group root, and checked with a pidfd, which needs no
	# CAP_KILL.
	# claim_from_unit N SESSION: dave's claim from viommu-claim@N.service.
	claim_from_unit() {
		systemd-run --quiet --wait --pipe --uid=dave --unit="viommu-claim@$1.service" \
			dbus-send --system --print-reply --dest="$dest" "$2" "$dest.Session.ClaimDevice" \
			string:"$edu" boolean:false 2>&1
	}
	s=$(open_session dave)
	out=$(claim_from_unit 1 "$s")
	if [[ $out == *"object path \"/org/viommu1/"* ]]; then
		pass "dave claimed $edu from viommu-claim@1.service, as viommud.conf allows"
	else
		fail "dave could not claim $edu from viommu-claim@1.service: $out"
	fi
	[ -z "$s" ] || close_session dave "$s"
	s=$(open_session dave)
	out=$(claim dave "$s")
	if [[ $out == *"Error org.viommu1.Error.PermissionDenied:"* ]]; then
		pass "dave outside that unit is refused"
	else
		fail "dave outside viommu-claim@.service was not refused: $out"
	fi
	[ -z "$s" ] || close_session dave "$s"

	binds
}

# Binding the vtd machine's second e1000e, which stays on its driver at boot,
# to vfio-pci under polkit's org.viommu1.bind-device, and giving it back.
binds() {
	local nic='' bdf ifname out
	echo "== binding a host device, authorized by polkit"
	for bdf in $(pci_find 8086:10d3); do
		[ "$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver" 2>/dev/null)")" = e1000e ] && nic=$bdf
	done
	if [ -z "$nic" ]; then
		fail "no e1000e on its driver (run-vm.sh's vtd machine has one at 00:10.0)"
		return
	fi
	# Whatever brought its interface up, it goes down: one that is up is in use.
	for ifname in /sys/bus/pci/devices/"$nic"/net/*; do
		ip link set dev "${ifname##*/}" down 2>/dev/null
	done
	if out=$(as bob viommuctl --no-ask-password bind "$nic" 2>&1); then
		fail "polkit let bob bind $nic: $out"
	elif [[ $out == *PermissionDenied*org.viommu1.bind-device* ]]; then
		pass "polkit refused bob the bind of $nic: $out"
	else
		fail "bob's bind of $nic was not refused naming org.viommu1.bind-device: $out"
	fi
	if ! out=$(as alice viommuctl --no-ask-password bind --restore "$nic" 2>&1); then
		fail "polkit did not let alice (group viommuvm) bind $nic: $out"
		return
	fi
	if [ "$(basename "$(readlink "/sys/bus/pci/devices/$nic/driver")")" = vfio-pci ]; then
		pass "polkit let alice (group viommuvm) bind $nic to vfio-pci"
	else
		fail "after alice's bind $nic is on $(readlink "/sys/bus/pci/devices/$nic/driver")"
	fi
	if out=$(as alice viommuctl --no-ask-password unbind "$nic" 2>&1) &&
		[ "$(basename "$(readlink "/sys/bus/pci/devices/$nic/driver")")" = e1000e ]; then
		pass "alice gave $nic back to e1000e"
	else
		fail "alice's unbind of $nic: $out; driver $(readlink "/sys/bus/pci/devices/$nic/driver")"
	fi
}
if grep -qx 0x11e8 /sys/bus/pci/devices/*/device 2>/dev/null; then
	claims
else
	echo "systemd-host: SKIP: no edu device (run-vm.sh --vtd): polkit and viommud.conf's unit rules untested"
fi
rm -f "$conf"
systemctl reload viommud || fail "systemctl reload without viommud.conf failed"

echo "== the journal's SESSION= and OBJECT="
s=$(busctl call "$dest" "$manager" "$dest.Manager" OpenSession 'a{sv}' 1 Persistent b true | first_path)
other=$(busctl call "$dest" "$manager" "$dest.Manager" OpenSession 'a{sv}' 1 Persistent b true | first_path)
id=$(busctl get-property "$dest" "$s" "$dest.Session" Id | cut -d' ' -f2)
owner=$(busctl get-property "$dest" "$s" "$dest.Session" Owner | first_path)
reply=$(busctl call "$dest" "$s" "$dest.Session" CreateMockDevice u 0)
dev=$(first_path <<<"$reply")
dev_id=${reply##* }
busctl call "$dest" "$other" "$dest.Session" CreateMockDevice u 0 >/dev/null
if [ -z "$id" ] || [ -z "$dev" ]; then
	fail "could not open a session with a mock device"
elif ! journal_has "session $id: created mock device" "SESSION=$id" "OBJECT=$dev"; then
	fail "journalctl -u viommud SESSION=$id OBJECT=$dev does not find the mock device's creation"
else
	# Numbers start again after a crash: this run's (_PID) are exactly these.
	lines=$(journalctl -b -u viommud -o cat --no-pager "SESSION=$id" "_PID=$(main_pid)")
	want="session $id: opened by $owner (uid 0), persistent
session $id: created mock device $(busctl get-property "$dest" "$dev" "$dest.ClaimedDevice" Name | first_path) (dev_id $dev_id)"
	if [ "$lines" = "$want" ] && journalctl -b -u viommud -o cat --no-pager "SESSION=$id" | grep -qxF "$want"; then
		pass "journalctl -u viommud SESSION=$id: $(tr '\n' '|' <<<"$lines")"
	else
		fail "journalctl -u viommud SESSION=$id _PID=$(main_pid) is not the session's two messages: $lines"
	fi
fi
for p in "$s" "$other"; do
	[ -z "$p" ] || busctl call "$dest" "$p" "$dest.Session" Close >/dev/null
done

echo "== the confinement"
pid=$(main_pid)
status=$(<"/proc/$pid/status")
want_caps=$(printf '%016x' $((1 << 24)))
seccomp=$(sed -n 's/^Seccomp:\s*//p' <<<"$status")
nnp=$(sed -n 's/^NoNewPrivs:\s*//p' <<<"$status")
bnd=$(sed -n 's/^CapBnd:\s*//p' <<<"$status")
if [ "$seccomp" = 2 ] && [ "$nnp" = 1 ] && [ "$bnd" = "$want_caps" ]; then
	pass "viommud (pid $pid): Seccomp: $seccomp, NoNewPrivs: $nnp, CapBnd: $bnd (CAP_SYS_RESOURCE)"
else
	fail "viommud (pid $pid): Seccomp: $seccomp, NoNewPrivs: $nnp, CapBnd: $bnd (want $want_caps)"
fi
# What this systemd, which knows every option of the unit, makes of it.
score=$(systemd-analyze security --no-pager viommud 2>&1 | sed -n 's/^→ Overall exposure level for viommud.service: \([0-9.]*\) .*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
	pass "systemd-analyze security viommud (systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')): exposure $score"
else
	fail "systemd-analyze security viommud: exposure ${score:-unknown}, above 2.5"
fi
# A shell of ours in the unit's cgroup meets its device policy.
cgroup=/sys/fs/cgroup$(systemctl show -P ControlGroup viommud)
if ! (exec 3</dev/kmsg); then
	fail "/dev/kmsg cannot be opened outside the unit"
else
	out=$(
		echo "$BASHPID" >"$cgroup/cgroup.procs" || exit 2
		exec 2>&1
		(exec 3<>/dev/iommu) || exit 3
		(exec 3</dev/kmsg) && exit 4
		exit 0
	)
	case $? in
	0) pass "in viommud's cgroup /dev/iommu opens, /dev/kmsg does not: ${out##*: }" ;;
	2) fail "cannot join viommud's cgroup $cgroup: $out" ;;
	3) fail "in viommud's cgroup /dev/iommu does not open: $out" ;;
	*) fail "in viommud's cgroup /dev/kmsg opens: DevicePolicy=closed is not enforced" ;;
	esac
fi

# The one capability is needed: CAP_SYS_RESOURCE, for a delegated session's
# IOMMU_OPTION_RLIMIT_MODE. (The session ends with busctl's connection.)
delegated() {
	busctl call "$dest" "$manager" "$dest.Manager" OpenSession 'a{sv}' 1 Delegated b true 2>&1
}
if out=$(delegated); then
	pass "a delegated session opens under the unit"
else
	fail "a delegated session does not open under the unit: $out"
fi
if ! dropin no-resource "CapabilityBoundingSet=~CAP_SYS_RESOURCE"; then
	fail "viommud did not restart without CAP_SYS_RESOURCE"
elif out=$(delegated); then
	fail "a delegated session opens without CAP_SYS_RESOURCE: the unit need not grant it"
else
	pass "without CAP_SYS_RESOURCE a delegated session fails: $out"
fi
dropin no-resource || fail "viommud did not restart without the drop-in no-resource"

echo "== the watchdog"
if ! dropin watchdog WatchdogSec=3s; then
	fail "viommud did not restart with WatchdogSec=3s"
else
	pid=$(main_pid)
	restarts=$(systemctl show -P NRestarts viommud)
	if [ "$(systemctl show -P WatchdogUSec viommud)" != 3s ]; then
		fail "WatchdogUSec is $(systemctl show -P WatchdogUSec viommud), not 3s"
	fi
	# Alive while it answers; stopped, it misses the next WATCHDOG=1.
	sleep 4
	if [ "$(main_pid)" != "$pid" ]; then
		fail "viommud (pid $pid) was restarted while it ran: WATCHDOG=1 missing"
	fi
	start=$SECONDS
	kill -STOP "$pid"
	if ! wait_restarted "$pid"; then
		fail "systemd did not restart a stopped viommud within 30 s"
		kill -CONT "$pid"
	elif [ "$(systemctl show -P NRestarts viommud)" -le "$restarts" ]; then
		fail "viommud runs again, but NRestarts did not grow"
	elif ! journalctl -b -u viommud --no-pager -o cat | grep -q "Watchdog timeout"; then
		fail "viommud was restarted, but systemd logged no watchdog timeout"
	else
		pass "systemd restarted a SIGSTOPped viommud after $((SECONDS - start)) s (pid $pid to $(main_pid)):" \
			"$(journalctl -b -u viommud --no-pager -o cat | grep "Watchdog timeout" | tail -n 1)"
	fi
fi
dropin watchdog || fail "viommud did not restart without the watchdog drop-in"

exit "$failed"
