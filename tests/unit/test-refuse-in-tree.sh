#!/bin/bash
# tests/run-all and tests/vm/run-main-job build out of tree; after an
# in-tree ./configure they stop at once with exit status 2 and say to run
# "make distclean", instead of failing later in configure. Run by
# "make check" on copies of the scripts in a scratch tree.
set -u

srcdir=${srcdir:-.}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }

mkdir -p "$work/tests/vm"
cp "$srcdir/tests/run-all" "$srcdir/tests/refuse-in-tree.sh" "$work/tests/"
cp "$srcdir/tests/vm/run-main-job" "$work/tests/vm/"

# Not configured in tree: the check lets the script go on.
(src=$work; . "$work/tests/refuse-in-tree.sh") || fail "a clean source tree refused"

touch "$work/config.status"
for script in tests/run-all tests/vm/run-main-job; do
	rc=0
	out=$(VIOMMU_SKIP_DEPS=1 "$work/$script" 2>&1) || rc=$?
	if [ $rc -ne 2 ] || ! grep -qF "run 'make distclean' in $work first" <<<"$out"; then
		fail "$script after an in-tree configure: exit status $rc: $out"
	fi
done
[ ! -e "$work/build" ] || fail "a refusing script made $work/build"

[ $failed -eq 0 ] && echo "refuse-in-tree: PASS"
exit $failed
