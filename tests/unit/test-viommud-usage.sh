#!/bin/bash
# viommud refuses a wrong command line with exit status 2 and a message
# naming what is wrong, before it opens anything: no configuration, bus or
# /dev/iommu is needed to say so. Status 1 stays for a daemon that could not
# start (test-startup-failure.sh). Run by "make check" from the build
# directory.
set -u

viommud=${VIOMMUD:-./daemon/viommud}
failed=0

# usage EXPECTED-MESSAGE ARGS...: viommud ARGS exits 2 saying the message.
usage() {
	local expected=$1 out rc=0
	shift
	out=$("$viommud" "$@" 2>&1) || rc=$?
	if [ $rc -ne 2 ]; then
		echo "FAIL: viommud $*: exit status $rc, not 2: $out"
		failed=1
	elif ! grep -qF -- "$expected" <<<"$out"; then
		echo "FAIL: viommud $*: does not say \"$expected\": $out"
		failed=1
	fi
}

usage "unrecognized option '--frobnicate'" --frobnicate
usage "invalid option -- 'x'" -x
usage "--bus= takes 'system' or 'session', not 'nowhere'" --bus=nowhere --check-config
usage "requires an argument" --config
usage "Unexpected argument 'serve'" serve
usage "option '--check-config' doesn't allow an argument" --check-config=yes

[ $failed -eq 0 ] && echo "viommud-usage: PASS"
exit $failed
