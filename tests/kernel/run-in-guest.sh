#!/bin/bash
# Runs the real-kernel tests of one VM profile, inside the test VM.
#
#   tests/kernel/run-in-guest.sh mock|vtd BUILDDIR
#
# Then viommud's integration tests (tests/integration/run-in-guest.sh). Each
# test program runs under automake's test driver, its cmocka output in its
# log (test_program in tests/vm/markers.sh); the exit status is non-zero if
# any of them failed.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../vm/markers.sh
. "$(dirname "$0")/../vm/markers.sh"

profile=${1:?usage: run-in-guest.sh mock|vtd BUILDDIR}
build=${2:?usage: run-in-guest.sh mock|vtd BUILDDIR}

case $profile in
mock)
	tests=(test-iommufd-mock)
	;;
vtd)
	tests=(test-vfio-vtd)
	# From 7.x on, mock devices work beside an emulated VT-d as well.
	[ "$(uname -r | cut -d. -f1)" -ge 7 ] && tests+=(test-iommufd-mock)
	;;
*)
	echo "run-in-guest: unknown profile $profile" >&2
	exit 2
	;;
esac

status=0
for t in "${tests[@]}"; do
	echo "== $t on Linux $(uname -r), profile $profile"
	test_program "$t" "$build/tests/kernel/$t" || status=1
done

# viommud on a private bus, in the same boot.
unit integration "$(dirname "$0")/../integration/run-in-guest.sh" "$profile" "$build" || status=1

# A real VMM (QEMU 10) on the fds of a delegated session.
if [ "$profile" = vtd ]; then
	echo "== QEMU on a delegated session's fds"
	rc=0
	unit qemu-delegation "$(dirname "$0")/../integration/qemu-delegation.sh" "$build" || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || status=1
	# Last: it unplugs a device, which a rescan brings back without vfio-pci.
	unit unplug "$(dirname "$0")/../integration/unplug.sh" "$build" || status=1
fi
exit $status
