#!/bin/bash
# tests/summarize, the counter behind tests/run-all's closing line, on logs
# made up to break the way real runs do: a test program that dies before its
# summary, a script that exits early or without a result, a VM that times out
# or panics, skips and their reasons, and the sanitizer run as a gate. Run by
# "make check".
set -u

summarize=$(dirname "$0")/../summarize
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
indent() { sed 's/^/  /'; }

# expect WHAT CLOSING-LINE [PATTERN...] -- ARGS...: summarize ARGS prints
# CLOSING-LINE last, a line matching each PATTERN, and exits 1 exactly when
# something failed.
expect() {
	local what=$1 closing=$2 out rc=0 want_rc=0 patterns=()
	shift 2
	while [ "$1" != -- ]; do
		patterns+=("$1")
		shift
	done
	shift
	out=$("$summarize" "$@" 2>&1) || rc=$?
	[[ $closing == *" 0 failed,"* ]] || want_rc=1
	if [ "$(tail -n 1 <<<"$out")" != "$closing" ] || [ "$rc" -ne "$want_rc" ]; then
		echo "summarize: FAIL: $what: wanted \"$closing\" and exit status $want_rc, got (exit status $rc):"
		indent <<<"$out"
		failed=1
		return
	fi
	for p in "${patterns[@]}"; do
		if ! grep -qE -- "$p" <<<"$out"; then
			echo "summarize: FAIL: $what: no line matching '$p' in:"
			indent <<<"$out"
			failed=1
			return
		fi
	done
	echo "summarize: PASS: $what"
}

# An automake log of a cmocka program that passed one case, skipped one
# saying why, and one that skipped without a word.
cat >"$work/test-good.log" <<'EOF'
[==========] Running 3 test(s).
[ RUN      ] test_a
[       OK ] test_a
[ RUN      ] test_b
no /sys here
[  SKIPPED ] test_b
[ RUN      ] test_c
[  SKIPPED ] test_c
[==========] 3 test(s) run.
[  PASSED  ] 1 test(s).
[  SKIPPED ] 2 test(s), listed below:
[  SKIPPED ] test_b
[  SKIPPED ] test_c
PASS tests/unit/test-good (exit status: 0)
EOF
expect "passes and skips with their reasons" "1 passed, 0 failed, 2 skipped" \
	'^SKIPPED: test-good: test_b: no /sys here$' '^SKIPPED: test-good: test_c: no reason given$' -- "$work/test-good.log"

# A program that died in its second case, before its summary.
mkdir "$work/died"
cat >"$work/died/test-good.log" <<'EOF'
[==========] Running 3 test(s).
[ RUN      ] test_a
[       OK ] test_a
[ RUN      ] test_b
FAIL tests/unit/test-good (exit status: 139)
EOF
expect "a program that dies before its summary" "1 passed, 1 failed, 0 skipped" \
	'^FAILED: test-good: exit status 139 without a failed test; its last line: \[ RUN      \] test_b$' -- \
	"$work/died/test-good.log"

# The sanitizer run: its failure counts even where the first run passed, its
# passes and skips do not count again.
mkdir "$work/san"
sed -e 's/^\[       OK \] test_a/[  FAILED  ] test_a/' -e 's/^PASS /FAIL /' -e 's/(exit status: 0)/(exit status: 1)/' \
	"$work/test-good.log" >"$work/san/test-good.log"
expect "the sanitizer run is a gate" "0 passed, 1 failed, 2 skipped" '^FAILED: sanitizers: test-good: test_a$' -- \
	"$work/test-good.log" --gate "$work/san/test-good.log"
expect "a passing sanitizer run counts nothing more" "1 passed, 0 failed, 2 skipped" -- \
	"$work/test-good.log" --gate "$work/test-good.log"
expect "a failure in both runs counts once" "0 passed, 1 failed, 2 skipped" '^FAILED: test-good: test_a$' -- \
	"$work/san/test-good.log" --gate "$work/san/test-good.log"

# A VM whose integration script exits early after a pass, and whose unplug
# script skips with its reason; the VM reports its status.
cat >"$work/vm-early.log" <<'EOF'
viommu-test: begin VM 7.3 vtd
viommu-vm: Linux 7.3.0, profile vtd, up in 3.2s
viommu-test: begin test-vfio-vtd
[ RUN      ] test_x
[       OK ] test_x
viommu-test: end test-vfio-vtd: exit status 0
viommu-test: begin integration
run-in-guest: ok: viommud exited with status 0 on SIGTERM
run-in-guest: viommud did not take its name
viommu-test: end integration: exit status 1
viommu-test: begin unplug
unplug: SKIP: needs the vtd profile
viommu-test: end unplug: exit status 77
viommu-vm: exit status 1
viommu-test: end VM 7.3 vtd: exit status 1
EOF
expect "a script that exits early" "2 passed, 1 failed, 1 skipped" \
	'^FAILED: VM 7.3 vtd: integration: exit status 1 without a failed test; its last line: run-in-guest: viommud did not take its name$' \
	'^SKIPPED: VM 7.3 vtd: unplug: unplug: SKIP: needs the vtd profile$' -- "$work/vm-early.log"

# A VM that timed out in a test program: one failure, naming the program.
cat >"$work/vm-timeout.log" <<'EOF'
viommu-test: begin VM 6.12 mock
viommu-test: begin test-iommufd-mock
[ RUN      ] test_a
[       OK ] test_a
[ RUN      ] test_hang
run-vm: the guest did not finish within 600 s; logs kept in /tmp/viommu-vm.x
viommu-test: end VM 6.12 mock: exit status 124
EOF
expect "a VM that times out" "1 passed, 1 failed, 0 skipped" \
	'^FAILED: VM 6.12 mock: test-iommufd-mock: did not finish \(in test_hang\); its last line: run-vm: the guest did not finish' -- \
	"$work/vm-timeout.log"

# A VM that panicked at boot, and a log cut short (run-all interrupted).
cat >"$work/vm-panic.log" <<'EOF'
viommu-test: begin VM 7.3 mock
Kernel panic - not syncing: Requested init /nonexistent failed (error -2).
run-vm: the guest stopped without reporting an exit status (QEMU: 0); logs kept in /tmp/viommu-vm.y
viommu-test: end VM 7.3 mock: exit status 125
EOF
head -n 2 "$work/vm-panic.log" >"$work/vm-cut.log"
expect "a VM that panics and a log cut short" "0 passed, 2 failed, 0 skipped" \
	'^FAILED: VM 7.3 mock: exit status 125 without a failed test; its last line: run-vm: the guest stopped' \
	'^FAILED: VM 7.3 mock: did not finish; its last line: Kernel panic' -- "$work/vm-panic.log" "$work/vm-cut.log"

# The systemd guest: its checks count, its notes do not.
cat >"$work/vm-systemd.log" <<'EOF'
viommu-test: begin VM 7.3 systemd
viommu-vm: Linux 7.3.0, profile systemd, up in 50.1s, system running
systemd-guest: PASS: the first call started viommud.service (pid 200)
systemd-guest: FAIL: after the restart the kernel lacks the mapping
systemd-guest: after the crash: sessions: ao 0; fds in the store: 0
viommu-vm: exit status 1
viommu-test: end VM 7.3 systemd: exit status 1
EOF
expect "the systemd guest's checks" "1 passed, 1 failed, 0 skipped" \
	'^FAILED: VM 7.3 systemd: systemd-guest: FAIL: after the restart the kernel lacks the mapping$' -- \
	"$work/vm-systemd.log"

# A unit that ends well but reports nothing, and one that skips silently.
printf '%s\n' 'viommu-test: begin quiet' 'viommu-test: end quiet: exit status 0' \
	'viommu-test: begin shy' 'viommu-test: end shy: exit status 77' >"$work/quiet.log"
expect "a unit without any result" "0 passed, 1 failed, 1 skipped" \
	'^FAILED: quiet: exit status 0 without any result$' '^SKIPPED: shy: exit status 77, no reason given$' -- \
	"$work/quiet.log"

# A test script's verdict, whatever its name.
printf '%s\n' 'startup-failure: PASS' 'PASS tests/unit/test-startup-failure.sh (exit status: 0)' \
	>"$work/test-startup-failure.sh.log"
expect "a test script's own PASS line" "1 passed, 0 failed, 0 skipped" -- "$work/test-startup-failure.sh.log"

# A failed case inside a failing program counts once, not again for the exit.
cat >"$work/test-bad.log" <<'EOF'
[ RUN      ] test_a
[  FAILED  ] test_a
[==========] 1 test(s) run.
[  FAILED  ] 1 test(s), listed below:
[  FAILED  ] test_a

 1 FAILED TEST(S)
FAIL tests/unit/test-bad (exit status: 1)
EOF
expect "a failed case counts once" "0 passed, 1 failed, 0 skipped" '^FAILED: test-bad: test_a$' -- "$work/test-bad.log"

# A test VM whose programs ran under automake's driver (tests/vm/markers.sh):
# each has its log in vm-K-P/, the console only the driver's verdicts. A
# failed case counts once, not again for the units around it; a program the
# guest died in counts as failed; a failure whose log is missing still counts.
mkdir "$work/vm-7.3-mock"
cat >"$work/vm-7.3-mock.log" <<'EOF'
viommu-test: begin VM 7.3 mock
viommu-test: begin integration
PASS: test-session as nobody
FAIL: test-ioas ioas as nobody
  (the last lines of test-ioas-ioas-as-nobody.log)
  | [  FAILED  ] test_map
run-in-guest: ok: viommud exited with status 0 on SIGTERM
viommu-test: end integration: exit status 1
viommu-vm: exit status 1
viommu-test: end VM 7.3 mock: exit status 1
EOF
cat >"$work/vm-7.3-mock/test-session-as-nobody.log" <<'EOF'
[ RUN      ] test_open
[       OK ] test_open
PASS test-session as nobody (exit status: 0)
EOF
cat >"$work/vm-7.3-mock/test-ioas-ioas-as-nobody.log" <<'EOF'
[ RUN      ] test_map
the kernel said ENOSPC
[  FAILED  ] test_map
FAIL test-ioas ioas as nobody (exit status: 1)
EOF
expect "a VM's automake logs" "2 passed, 1 failed, 0 skipped" \
	'^FAILED: vm-7.3-mock/test-ioas-ioas-as-nobody: test_map$' -- \
	"$work/vm-7.3-mock.log" "$work"/vm-7.3-mock/test-*.log
expect "a VM's failure whose log is missing" "2 passed, 1 failed, 0 skipped" \
	'^FAILED: vm-7.3-mock: test-ioas ioas as nobody: failed, and its log is missing$' -- \
	"$work/vm-7.3-mock.log" "$work/vm-7.3-mock/test-session-as-nobody.log"
head -n 2 "$work/vm-7.3-mock/test-ioas-ioas-as-nobody.log" >"$work/vm-7.3-mock/test-hwpt-as-nobody.log"
expect "a VM that died in a program under the driver" "0 passed, 1 failed, 0 skipped" \
	'^FAILED: vm-7.3-mock/test-hwpt-as-nobody: did not finish \(in test_map\)' -- \
	"$work/vm-7.3-mock/test-hwpt-as-nobody.log"

# A test script's own "FAIL: ..." in its automake log is no driver's verdict.
printf '%s\n' 'FAIL: option --json is not completed' 'FAIL tests/unit/test-completion.sh (exit status: 1)' \
	>"$work/test-completion.sh.log"
expect "a script's FAIL line in its own log" "0 passed, 1 failed, 0 skipped" \
	'^FAILED: test-completion.sh: exit status 1 without a failed test' -- "$work/test-completion.sh.log"

exit $failed
