#!/bin/bash
# Runs the real-kernel tests of one VM profile, inside the test VM.
#
#   tests/kernel/run-in-guest.sh mock|vtd BUILDDIR
#
# Then viommud's integration tests (tests/integration/run-in-guest.sh). Each
# test program's cmocka output goes to stdout; the exit status is non-zero if
# any of them failed.
set -uo pipefail

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
	"$build/tests/kernel/$t" || status=1
done

# viommud on a private bus, in the same boot.
"$(dirname "$0")/../integration/run-in-guest.sh" "$profile" "$build" || status=1

# A real VMM (QEMU 10) on the fds of a delegated session.
if [ "$profile" = vtd ]; then
	echo "== QEMU on a delegated session's fds"
	rc=0
	"$(dirname "$0")/../integration/qemu-delegation.sh" "$build" || rc=$?
	case $rc in
	0 | 77) ;;
	*) echo "qemu-delegation: FAIL: exit status $rc"; status=1 ;;
	esac
	# Last: it unplugs a device, which a rescan brings back without vfio-pci.
	"$(dirname "$0")/../integration/unplug.sh" "$build" || status=1
fi
exit $status
