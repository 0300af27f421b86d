#!/bin/bash
# viommuctl's bash completion (shell-completion/bash/viommuctl), sourced into
# this shell and asked as bash asks it: verbs, options and their values, -o's
# columns per verb, and device names and session ids, which it gets from a
# stand-in viommuctl that logs how it is called: only the listings that read
# state, never a verb that changes it. Every verb and option of the built
# viommuctl's --help is completed. No daemon needed. Run by "make check"
# from the build directory.
set -u

src=$(cd "$(dirname "$0")/../.." && pwd)
viommuctl=$PWD/cli/viommuctl
failed=0
[ -x "$viommuctl" ] || { echo "FAIL: no $viommuctl"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=/dev/null
. "$src/shell-completion/bash/viommuctl"
complete -p viommuctl >/dev/null || { echo "FAIL: the script registers no completion for viommuctl"; exit 1; }

# The stand-in: --help from the real one, canned listings, a log of calls.
cat >"$work/viommuctl" <<STUB
#!/bin/bash
printf '%s\n' "\$*" >>"$work/calls"
case " \$* " in
*" --help "*) exec "$viommuctl" --help ;;
*" devices "*) printf '%s\n' 0000:01:00.0 0000:02:00.0 ;;
*" sessions "*) printf '%s\n' 1 7 ;;
esac
STUB
chmod +x "$work/viommuctl"

# complete_line PROGRAM WORD...: COMPREPLY for the last word, split as bash
# splits (= is a word of its own).
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_viommuctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# expect WANTED WORD...: the completions of viommuctl WORD... are WANTED.
expect() {
	local wanted=$1 got
	shift
	got=$(complete_line "$work/viommuctl" "$@")
	if [ "$got" != "$wanted" ]; then
		echo "FAIL: viommuctl $* <TAB>: got '$got', wanted '$wanted'"
		failed=1
	fi
}

expect 'bind close describe device devices features monitor session sessions status unbind viommus' ''
expect 'device devices' dev
expect 'session sessions' --json = short sess
expect '--json=' --js
expect 'off pretty short' --json =
expect 'short' --json = sh
expect 'short' --json=sh
expect 'always auto never' --color =
expect 'session system' --bus =
expect '--no-ask-password --no-legend --no-pager --no-restore' devices --no-
expect 'DEVICE DRIVER' devices -o D
expect 'DEVICE,DEVICE DEVICE,DRIVER' devices -o DEVICE,D
expect 'FEATURE' features --output = FEA
expect '0000:01:00.0 0000:02:00.0' device ''
expect '0000:01:00.0 0000:02:00.0' bind ''
expect '0000:02:00.0' unbind --no-restore 0000:02
expect '--no-restore' unbind --no-r
expect '0000:02:00.0' --bus = system device 0000:02
expect '1 7' session ''
expect '7' close 7
expect '1 7' viommus ''
expect 'PARENT PATH' viommus -o PA
expect '' device 0000:01:00.0 ''
expect '' status ''

# What the completion ran: listings and --help only, each read-only.
while read -r line; do
	case " $line " in
	*" --help "*) ;;
	*" --no-legend "*" devices "|*" --no-legend "*" sessions ") ;;
	*) echo "FAIL: the completion ran 'viommuctl $line'"; failed=1 ;;
	esac
done <"$work/calls"
grep -q -- '--bus=system .*devices' "$work/calls" ||
	{ echo "FAIL: the completion did not pass --bus on: $(cat "$work/calls")"; failed=1; }

# Nothing of the real --help is left out: every verb, every long option.
verbs=$(complete_line "$viommuctl" '')
for v in $("$viommuctl" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\).*/\1/p'); do
	[[ " $verbs " == *" $v "* ]] || { echo "FAIL: verb $v is not completed"; failed=1; }
done
options=$(complete_line "$viommuctl" --)
for o in $("$viommuctl" --help | grep -E '^ +(-[a-z] )?--' | grep -o -- '--[a-z-]*=\?' | sort -u); do
	[[ " $options " == *" $o "* ]] || { echo "FAIL: option $o is not completed"; failed=1; }
done

[ $failed -eq 0 ] && echo "completion: PASS"
exit $failed
