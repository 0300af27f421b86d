# shellcheck shell=bash disable=SC2034 # the variables are the tests' environment
# Sourced by the scripts that run viommud's C integration clients in the
# test VM: tests/integration/run-in-guest.sh, against a daemon of its own on
# a private bus, and systemd-guest.sh, against the installed unit. Sets their
# environment (who is who, the limits of viommud.conf; itest.h lists it all)
# and defines:
#   suite_config ALLOWED_BDF SECOND_BDF  the viommud.conf the clients expect
#   as USER COMMAND...                   COMMAND with USER's uid and gid only
#   as_prefix USER                       the same as words, in the array as_cmd
#   suite_clients                        every client that claims no device,
#                                        each through the caller's
#                                        client USER PROGRAM [GROUP...]
# Exits 2 when the user database cannot give the users.

# Who is who. CONFIG_UID may claim the first vfio device by viommud.conf;
# GROUP_UID may claim the second as a member of GROUP, a group the user
# database gives it and none of the others (the rule names no user);
# UNIT_UID may claim the second from an instance of UNIT_TEMPLATE;
# POLKIT_UID is allowed by the stand-in polkit; CHALLENGE_UID by it only
# after authenticating (interactive calls); OTHER_UID by nobody; SILENT_UID's
# questions the stand-in polkit never answers; OBSERVER_UID sees every
# session, as viommud.conf's observer, and may act on none; so does
# WATCH_UID, by a group the user database gives it and its processes do not
# carry, WATCH_GID, where the runner adds that group to /etc/group.
export VIOMMU_TEST_CONFIG_UID=1 VIOMMU_TEST_POLKIT_UID=2 VIOMMU_TEST_CHALLENGE_UID=3 VIOMMU_TEST_OTHER_UID=65534
export VIOMMU_TEST_SILENT_UID=4 VIOMMU_TEST_OBSERVER_UID=7 VIOMMU_TEST_WATCH_UID=8
export VIOMMU_TEST_UNIT_UID=6 VIOMMU_TEST_UNIT_TEMPLATE=viommu-test@.service
if ! VIOMMU_TEST_GROUP_UID=$(id -u games) || ! VIOMMU_TEST_GROUP=$(id -gn games); then
	echo "suite: no user games in the user database" >&2
	exit 2
fi
export VIOMMU_TEST_GROUP_UID VIOMMU_TEST_GROUP
for u in 0 "$VIOMMU_TEST_CONFIG_UID" "$VIOMMU_TEST_POLKIT_UID" "$VIOMMU_TEST_CHALLENGE_UID" "$VIOMMU_TEST_OTHER_UID" \
	"$VIOMMU_TEST_UNIT_UID" "$VIOMMU_TEST_SILENT_UID" "$VIOMMU_TEST_OBSERVER_UID" "$VIOMMU_TEST_WATCH_UID"; do
	if id -Gn "$u" | tr ' ' '\n' | grep -qx "$VIOMMU_TEST_GROUP"; then
		echo "suite: uid $u is in group $VIOMMU_TEST_GROUP: the group rule would not be tested alone" >&2
		exit 2
	fi
done
# The limits viommud.conf sets, which test-limits runs into. No other test
# has more than a few sessions of one uid open at once (test-restart: 3).
export VIOMMU_TEST_LIMIT_OBJECTS=32 VIOMMU_TEST_LIMIT_DEVICES=4 VIOMMU_TEST_LIMIT_PINNED=$((16 << 20))
export VIOMMU_TEST_LIMIT_SESSIONS=8 VIOMMU_TEST_LIMIT_PERSISTENT_SESSIONS=3
# Short, so that the test of a lease that is not released waits little.
export VIOMMU_TEST_LEASE_DRAIN_MSEC=500

# Mock devices: before Linux 7.0 the kernel refuses them beside a VT-d
# (itest.c's mock_devices_work() says the same).
mock_devices=yes
if [ "$(uname -r | cut -d. -f1)" -lt 7 ] && compgen -G '/sys/class/iommu/dmar*' >/dev/null; then
	mock_devices=no
fi

# suite_watch_group DIR: WATCH_UID's group, in the user database only. The
# test VMs' /etc is read-only: a copy of /etc/group in DIR with one group
# more goes over it, and VIOMMU_TEST_WATCH_GID is exported if it went.
# suite_watch_group_end takes the copy away again, for what writes
# /etc/group after the clients (useradd, in systemd-host.sh).
suite_watch_group() {
	local gid=4190
	while getent group "$gid" >/dev/null; do gid=$((gid + 1)); done
	cp /etc/group "$1/group" &&
		echo "viommu-watch:x:$gid:$(id -un "$VIOMMU_TEST_WATCH_UID")" >>"$1/group" &&
		mount --bind "$1/group" /etc/group || {
		echo "suite: cannot add a group to /etc/group: the user database's groups go untested"
		return
	}
	export VIOMMU_TEST_WATCH_GID=$gid
}

suite_watch_group_end() {
	[ -n "${VIOMMU_TEST_WATCH_GID:-}" ] || return 0
	umount /etc/group
	unset VIOMMU_TEST_WATCH_GID
}

# suite_config ALLOWED_BDF SECOND_BDF: the first vfio device to a user, the
# second to a group and to the instances of a template unit (none if
# empty), the observers and the limits.
suite_config() {
	local allowed_bdf=$1 second_bdf=$2
	echo '{'
	if [ -n "$allowed_bdf" ]; then
		echo "  \"allow\": [ { \"devices\": [ { \"pci\": \"$allowed_bdf\" } ], \"users\": [ $VIOMMU_TEST_CONFIG_UID ] }"
		[ -z "$second_bdf" ] ||
			echo "           , { \"devices\": [ { \"pci\": \"$second_bdf\" } ], \"groups\": [ \"$VIOMMU_TEST_GROUP\" ] }" \
			     "           , { \"devices\": [ { \"pci\": \"$second_bdf\" } ], \"units\": [ \"$VIOMMU_TEST_UNIT_TEMPLATE\" ] }"
		echo "           ],"
	fi
	echo "  \"observers\": { \"users\": [ $VIOMMU_TEST_OBSERVER_UID ]${VIOMMU_TEST_WATCH_GID:+, \"groups\": [ $VIOMMU_TEST_WATCH_GID ]} },"
	echo "  \"limits\": { \"objects\": $VIOMMU_TEST_LIMIT_OBJECTS, \"devices\": $VIOMMU_TEST_LIMIT_DEVICES,"
	echo "              \"pinned-bytes\": $VIOMMU_TEST_LIMIT_PINNED,"
	echo "              \"sessions-per-user\": $VIOMMU_TEST_LIMIT_SESSIONS,"
	echo "              \"persistent-sessions-per-user\": $VIOMMU_TEST_LIMIT_PERSISTENT_SESSIONS,"
	echo "              \"lease-drain-msec\": $VIOMMU_TEST_LEASE_DRAIN_MSEC }"
	echo '}'
}

# shellcheck disable=SC2317 # called through unit
# as_prefix USER sets as_cmd to the words that run a command with USER's uid
# and gid only (none for root), for a runner that takes a command line, as
# test_program's driver does.
as_prefix() {
	as_cmd=()
	[ "$1" = root ] || as_cmd=(setpriv --reuid="$1" --regid="$(id -g "$1")" --clear-groups --)
}

as() {
	as_prefix "$1"
	shift
	"${as_cmd[@]}" "$@"
}

suite_clients() {
	if [ "$mock_devices" = yes ]; then
		# A VMM without privileges: the whole nested flow.
		client nobody test-session
		client nobody test-ioas ioas
		client nobody test-hwpt
		client nobody test-viommu
		client nobody test-channel
		client nobody test-restart record
		client nobody test-limits
		client root test-ioas map-path
		client nobody test-memory memory
		client nobody test-virtio-iommu virtio
		client root test-virtio-iommu owner
		client nobody test-lease
	fi
	# Sessions per user need no mock device.
	[ "$mock_devices" = yes ] || client nobody test-limits sessions
	client nobody test-delegated
	client root test-owner
}
