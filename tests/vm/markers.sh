# shellcheck shell=bash
# Sourced by the scripts that run tests. unit NAME COMMAND... runs one test
# program or script between two lines that tests/summarize reads:
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
