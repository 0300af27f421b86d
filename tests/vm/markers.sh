# shellcheck shell=dash
# Sourced by the scripts that run tests (bash, and busybox sh in the arm64
# guest).
#
# unit NAME COMMAND... runs one test program or script between two lines that
# tests/summarize reads:
#   viommu-test: begin NAME
#   viommu-test: end NAME: exit status N
# A begin without its end is a test that never finished (a crash, a hang, a
# guest that died), and counts as failed. Returns COMMAND's exit status.
unit() {
	local name=$1 rc=0
	shift
	echo "viommu-test: begin $name"
	"$@" || rc=$?
	echo "viommu-test: end $name: exit status $rc"
	return "$rc"
}

# test_program NAME COMMAND... runs one test program under automake's test
# driver, as make check runs the unit tests, when the test VM gives one
# ($VIOMMU_TEST_DRIVER, build-aux/test-driver) and a directory for the logs
# ($VIOMMU_TEST_LOG_DIR, which run-vm.sh --logs brings back to the host):
# the program's output goes to DIR/test-NAME.log, which the driver ends with
# "PASS|FAIL|SKIP|ERROR NAME (exit status: N)", and the console gets the
# driver's verdict, "PASS: NAME". tests/summarize counts the log; the
# verdict tells it that the unit around has a result there. After a failure
# the log's last lines follow, indented, for a reader. Without a driver, a
# unit. Returns COMMAND's exit status.
test_program() {
	local name=$1 log base n=1 rc
	shift
	if [ -z "${VIOMMU_TEST_DRIVER:-}" ] || [ -z "${VIOMMU_TEST_LOG_DIR:-}" ]; then
		unit "$name" "$@"
		return
	fi
	base=$VIOMMU_TEST_LOG_DIR/test-$(printf '%s\n' "${name#test-}" | sed 's/[^A-Za-z0-9.]/-/g')
	log=$base.log
	while [ -e "$log" ]; do # the same run twice in one boot keeps both logs
		n=$((n + 1))
		log=$base-$n.log
	done
	mkdir -p "$VIOMMU_TEST_LOG_DIR"
	"$VIOMMU_TEST_DRIVER" --test-name "$name" --log-file "$log" --trs-file "${log%.log}.trs" \
		--color-tests no --enable-hard-errors yes --expect-failure no -- "$@"
	rc=$(sed -n '$s/.* (exit status: \([0-9]*\))$/\1/p' "$log")
	[ -n "$rc" ] || rc=1
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "  (the last lines of ${log##*/})"
		tail -n 30 "$log" | sed 's/^/  | /'
	fi
	return "$rc"
}
