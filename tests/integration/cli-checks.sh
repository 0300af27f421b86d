# shellcheck shell=bash
# viommuctl against the live daemon: every verb in text and in JSON, -o,
# --no-legend, the pager and colour on a terminal (under script(1)), and the
# refusals. Sourced by run-in-guest.sh, whose fail, pass, bus, path_of,
# $build, $work, $mock_devices, $allowed_bdf and private system bus it uses.
# shellcheck disable=SC2154 # those come from run-in-guest.sh
# shellcheck disable=SC2016 # the $s in jq filters are jq's

vc() { "$build/cli/viommuctl" --no-ask-password "$@"; }

# json_ok WHAT FILTER [JQ-ARGS...] < JSON: jq -e FILTER holds.
json_ok() {
	local what=$1 filter=$2 in
	shift 2
	in=$(cat)
	jq -e "$@" "$filter" >/dev/null <<<"$in" || fail "viommuctl $what: $filter does not hold on: $in"
}

# on_tty COMMAND...: runs it with a terminal as stdout; its output, without CRs.
on_tty() { TERM=xterm script -qec "$(printf '%q ' "$@")" /dev/null </dev/null | tr -d '\r'; }

# cli_viommu_checks SESSION ID DEVICE PARENT: viommus before and after the
# session has a vIOMMU (the mock's type) and a vDEVICE on it; on a kernel
# without vIOMMUs, that it says so.
cli_viommu_checks() {
	local session=$1 id=$2 device=$3 parent=$4 viommu vdev out

	if [ "$(vc --json=short features | jq -r 'map(select(.name == "viommu"))[0].supported')" != true ]; then
		out=$(vc viommus "$id") || fail "viommuctl viommus $id"
		[ "$out" = "No vIOMMUs: this kernel has none (they came with Linux 6.13)." ] ||
			fail "viommuctl viommus on a kernel without vIOMMUs: $out"
		[ "$(vc --json=short viommus)" = '[]' ] || fail "viommuctl --json viommus on a kernel without vIOMMUs"
		return
	fi
	out=$(vc viommus "$id") || fail "viommuctl viommus $id"
	[ "$out" = "No vIOMMUs." ] || fail "viommuctl viommus $id before any: $out"
	# IOMMU_VIOMMU_TYPE_SELFTEST, with its data (two u32s).
	viommu=$(bus call org.viommu1 "$session" org.viommu1.Session AllocVIOMMU oouay "$device" "$parent" \
		3735928559 8 0 0 0 0 0 0 0 0 | path_of)
	[ -n "$viommu" ] || { fail "viommuctl: AllocVIOMMU"; return; }
	vdev=$(bus call org.viommu1 "$session" org.viommu1.Session AllocVDevice oot "$viommu" "$device" 153 | path_of)
	[ -n "$vdev" ] || fail "viommuctl: AllocVDevice"

	out=$(vc viommus "$id") || fail "viommuctl viommus $id"
	head -n 1 <<<"$out" | grep -Eq '^SESSION +ID +TYPE +PARENT +DEVICE +VDEVICES$' ||
		fail "viommuctl viommus: header: $out"
	grep -Eq "^ *$id +[0-9]+ +selftest +hwpt [0-9]+ +mock0 +mock0 0x99\$" <<<"$out" ||
		fail "viommuctl viommus $id: no row for the vIOMMU: $out"
	vc viommus | grep -Eq "^ *$id +[0-9]+ +selftest " || fail "viommuctl viommus: no row for session $id"
	vc --json viommus "$id" | json_ok "--json viommus $id" \
		'length == 1 and (.[0] | .session == ($id | tonumber) and .path == $v and .type == "selftest" and
		 .["type-id"] == 3735928559 and .parent == $p and .device == "mock0" and
		 (.vdevices | length == 1 and .[0].path == $d and .[0].device == "mock0" and .[0]["virt-id"] == "0x99"))' \
		--arg id "$id" --arg v "$viommu" --arg p "$parent" --arg d "$vdev"
	vc --no-legend -o id,vdevices viommus "$id" | grep -Eq '^ *[0-9]+ +mock0 0x99$' ||
		fail "viommuctl --no-legend -o id,vdevices viommus: $(vc --no-legend -o id,vdevices viommus "$id")"
	# The session's tree has them too: the vIOMMU below its parent, the vDEVICE below it.
	out=$(vc session "$id")
	grep -Eq '^ +(└─|`-)viommu [0-9]+: selftest, uses mock0$' <<<"$out" ||
		fail "viommuctl session $id: no vIOMMU in the tree: $out"
	grep -Eq '^ +(└─|`-)vdevice [0-9]+: virt-id 0x99, uses mock0$' <<<"$out" ||
		fail "viommuctl session $id: no vDEVICE in the tree: $out"
	out=$(vc viommus 999999 2>&1) && fail "viommuctl viommus 999999 succeeded"
	[[ $out == *"No session 999999"* ]] || fail "viommuctl viommus 999999: $out"
}

# cli_checks: a session made with busctl, looked at and closed with viommuctl.
cli_checks() {
	local session ioas device='' hwpt='' id out rc n_objects first errors_before=${#failures[@]}

	echo "== viommuctl"
	session=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true | path_of)
	[ -n "$session" ] || { fail "viommuctl: OpenSession"; return; }
	ioas=$(bus call org.viommu1 "$session" org.viommu1.Session CreateIOAS | path_of)
	[ -n "$ioas" ] || fail "viommuctl: CreateIOAS"
	n_objects=1
	if [ "$mock_devices" = yes ]; then
		device=$(bus call org.viommu1 "$session" org.viommu1.Session CreateMockDevice u 0 | path_of)
		hwpt=$(bus call org.viommu1 "$session" org.viommu1.Session AllocHWPT ooouuay "$device" "$ioas" / 1 0 0 | path_of)
		bus call org.viommu1 "$session" org.viommu1.Session Attach oo "$device" "$hwpt" >/dev/null ||
			fail "viommuctl: Attach"
		n_objects=3
	fi

	# sessions: the new one is listed, with its objects; its id for the rest.
	out=$(vc --json=short sessions) || fail "viommuctl --json=short sessions"
	[ "$(wc -l <<<"$out")" -eq 1 ] || fail "viommuctl --json=short sessions: not one line: $out"
	json_ok sessions 'map(select(.path == $s))[0].objects == ($n | tonumber)' --arg s "$session" \
		--arg n "$n_objects" <<<"$out"
	id=$(jq -r --arg s "$session" 'map(select(.path == $s))[0].id' <<<"$out")
	[[ $id =~ ^[0-9]+$ ]] || { fail "viommuctl sessions: no id for $session: $out"; return; }
	out=$(vc sessions) || fail "viommuctl sessions"
	head -n 1 <<<"$out" | grep -Eq '^ *ID +OWNER +UID +PERSISTENT +DELEGATED +OBJECTS +MAPPED$' ||
		fail "viommuctl sessions: header: $out"
	grep -Eq "^ *$id +:[0-9.]+ +0 +yes +no +$n_objects +" <<<"$out" || fail "viommuctl sessions: no row for $id: $out"
	[ "$(vc --json=off sessions)" = "$out" ] || fail "viommuctl --json=off sessions differs from the text"
	# -o: these columns in this order, a JSON-only one shown as text; --no-legend: rows only.
	out=$(vc -o PATH,id sessions) || fail "viommuctl -o PATH,id sessions"
	head -n 1 <<<"$out" | grep -Eq '^PATH +ID$' || fail "viommuctl -o PATH,id sessions: header: $out"
	grep -Eq "^$session +$id\$" <<<"$out" || fail "viommuctl -o PATH,id sessions: no row for $session: $out"
	vc --no-legend --output=id sessions | grep -qx " *$id" || fail "viommuctl --no-legend --output=id sessions"
	vc --json -o id,owner sessions | json_ok "--json -o id,owner sessions" \
		'all(.[]; keys_unsorted == ["id", "owner"]) and (map(.id) | index($id | tonumber) != null)' --arg id "$id"

	# session: the record and the tree; its JSON in tree order.
	out=$(vc session "$id") || fail "viommuctl session $id"
	grep -qx "      Path: $session" <<<"$out" || fail "viommuctl session $id: no Path line: $out"
	grep -qx "   Objects: $n_objects" <<<"$out" || fail "viommuctl session $id: no Objects line: $out"
	grep -Eq '^ioas [0-9]+: 0 mappings, 0 B$' <<<"$out" || fail "viommuctl session $id: no IOAS root: $out"
	if [ "$mock_devices" = yes ]; then
		# The HWPT below its IOAS, drawn in UTF-8 (the guest's LANG) or ASCII.
		grep -Eq '^(└─|`-)hwpt [0-9]+: paging(, [a-z-]+)*, uses mock0$' <<<"$out" ||
			fail "viommuctl session $id: no HWPT below the IOAS: $out"
		grep -Eq '^device [0-9]+: mock0, mock, attached to hwpt [0-9]+$' <<<"$out" ||
			fail "viommuctl session $id: no attached mock device: $out"
	fi
	[ "$(vc session "$session" | head -n 2)" = "$(head -n 2 <<<"$out")" ] ||
		fail "viommuctl session PATH differs from session ID"
	vc --json session "$id" | json_ok "--json session $id" \
		'.path == $s and (.objects | length) == ($n | tonumber) and
		 all(.objects[]; (.depth == 0) == (.parent == null)) and
		 ([.objects[] | select(.type == "hwpt") | .parent] | all(. != null and startswith($s)))' \
		--arg s "$session" --arg n "$n_objects"
	out=$(vc session 999999 2>&1) && fail "viommuctl session 999999 succeeded"
	[[ $out == *"No session 999999"* ]] || fail "viommuctl session 999999: $out"
	out=$(vc -o ID session "$id" 2>&1); [ $? -eq 2 ] || fail "viommuctl -o ID session: not a usage error: $out"

	# viommus: a session's vIOMMUs and their vDEVICEs (mock devices make them).
	if [ "$mock_devices" = yes ]; then
		cli_viommu_checks "$session" "$id" "$device" "$hwpt"
	fi

	# status and describe: the daemon as a whole.
	out=$(vc status) || fail "viommuctl status"
	grep -Eq '^ +Version: [0-9]' <<<"$out" || fail "viommuctl status: no Version: $out"
	grep -Eq '^ +Sessions: [1-9][0-9]*$' <<<"$out" || fail "viommuctl status: no session counted: $out"
	[ "$(vc)" = "$out" ] || fail "viommuctl without a verb is not status"
	vc --json status | json_ok "--json status" '.sessions >= 1 and (.version | type) == "string" and
		(.["mock-devices"] | type) == "boolean" and (.["mapped-bytes"] | startswith("0x"))'
	[ "$(vc --json=short -o sessions,version status | jq -c 'keys_unsorted')" = '["sessions","version"]' ] ||
		fail "viommuctl -o sessions,version status: other keys"
	out=$(vc -o Sessions status)
	[[ $out =~ ^Sessions:\ [1-9][0-9]*$ ]] || fail "viommuctl -o Sessions status: $out"
	vc describe | json_ok describe '.sessions | map(.path) | index($s) != null' --arg s "$session"
	[ "$(vc --json=short describe | wc -l)" -eq 1 ] || fail "viommuctl --json=short describe: not one line"

	# features: a table of the kernel's; ioas is there on every kernel tested.
	out=$(vc features) || fail "viommuctl features"
	head -n 1 <<<"$out" | grep -Eq '^FEATURE +SUPPORTED +INTERFACE +SINCE$' || fail "viommuctl features: header: $out"
	grep -Eq '^ioas +yes +' <<<"$out" || fail "viommuctl features: ioas is not supported: $out"
	vc --json features | json_ok "--json features" \
		'(map(select(.name == "ioas"))[0].supported == true) and length == ($n | tonumber)' \
		--arg n "$(($(wc -l <<<"$out") - 1))"
	vc -o feature,since --no-legend features | grep -Eq '^ioas +Linux 6\.[0-9]+$' ||
		fail "viommuctl -o feature,since --no-legend features"

	# devices and device: the host's, if the profile gives it any.
	# The vfio device the configuration gives (vtd profile) where there is one.
	out=$(vc --json devices) || fail "viommuctl --json devices"
	first=${allowed_bdf:-$(jq -r '.[0].name // empty' <<<"$out")}
	if [ -n "$allowed_bdf" ]; then
		json_ok "--json devices" 'map(select(.name == $d))[0] | .driver == "vfio-pci" and
			(.["vfio-cdev"] | startswith("/dev/vfio/devices/")) and .session == null' --arg d "$first" <<<"$out"
		vc devices | grep -Eq "^$first +vfio-pci +[0-9]+ +/dev/vfio/devices/vfio[0-9]+ +-\$" ||
			fail "viommuctl devices: no unclaimed vfio-pci row for $first: $(vc devices)"
		vc --json device "$first" | json_ok "--json device $first" '.Driver == "vfio-pci"'
	fi
	if [ -n "$first" ]; then
		vc devices | grep -Eq "^$first +" || fail "viommuctl devices: no row for $first"
		vc device "$first" | grep -qx " *Name: $first" || fail "viommuctl device $first: no Name line"
		vc --json device "$first" | json_ok "--json device $first" '.Name == $d and (.Driver | type) == "string"' \
			--arg d "$first"
		[ "$(vc --json=short -o name,driver device "$first" | jq -c 'keys_unsorted')" = '["Name","Driver"]' ] ||
			fail "viommuctl -o name,driver device: other keys"
		out=$(vc -o Size device "$first" 2>&1) && fail "viommuctl -o Size device succeeded"
		[[ $out == *"no column 'Size'"* ]] || fail "viommuctl -o Size device: $out"
	else
		[ "$out" = '[]' ] || fail "viommuctl --json devices: $out"
		[ "$(vc devices)" = "No devices." ] || fail "viommuctl devices without devices: $(vc devices)"
		[ -z "$(vc --no-legend devices)" ] || fail "viommuctl --no-legend devices without devices is not empty"
	fi
	out=$(vc device 0000:ff:1f.7 2>&1) && fail "viommuctl device 0000:ff:1f.7 succeeded"
	[[ $out == *"NoSuchObject: No device 0000:ff:1f.7"* ]] || fail "viommuctl device 0000:ff:1f.7: $out"
	out=$(vc -o SIZE devices 2>&1); [ $? -eq 2 ] || fail "viommuctl -o SIZE devices: not a usage error: $out"

	# A pager and colour on a terminal only; NO_COLOR, --color and --no-pager obeyed.
	if command -v script >/dev/null; then
		out=$(SYSTEMD_PAGER='sed s/^/paged:/' on_tty "$build/cli/viommuctl" features)
		grep -q '^paged:FEATURE' <<<"$out" || fail "viommuctl features on a terminal: no pager: $out"
		grep -q $'\e\\[32myes' <<<"$out" || fail "viommuctl features on a terminal: no colour: $out"
		out=$(NO_COLOR=1 SYSTEMD_PAGER='sed s/^/paged:/' on_tty "$build/cli/viommuctl" --no-pager features)
		grep -q '^paged:' <<<"$out" && fail "viommuctl --no-pager on a terminal: paged"
		grep -q $'\e' <<<"$out" && fail "viommuctl with NO_COLOR on a terminal: coloured"
		grep -q '^FEATURE' <<<"$out" || fail "viommuctl --no-pager on a terminal: $out"
		out=$(SYSTEMD_PAGER='sed s/^/paged:/' vc features)
		grep -q '^paged:' <<<"$out" && fail "viommuctl into a pipe: paged"
		grep -q $'\e' <<<"$out" && fail "viommuctl into a pipe: coloured"
		vc --color=always features | grep -q $'\e\\[32myes' || fail "viommuctl --color=always: no colour"
	else
		fail "no script(1) for the terminal checks"
	fi

	# monitor and close: the session's end, seen in text and in JSON; not
	# by nobody's monitor, the session being root's.
	vc monitor --timeout=30 >"$work/monitor.txt" 2>"$work/monitor-text.err" &
	local text_pid=$!
	vc --json monitor --timeout=30 >"$work/monitor.json" 2>"$work/monitor-json.err" &
	local json_pid=$!
	as nobody "$build/cli/viommuctl" --json monitor --timeout=30 >"$work/monitor-nobody.json" \
		2>"$work/monitor-nobody.err" &
	local nobody_pid=$!
	for _ in $(seq 100); do
		grep -q Monitoring "$work/monitor-text.err" && grep -q Monitoring "$work/monitor-json.err" &&
			grep -q Monitoring "$work/monitor-nobody.err" && break
		sleep 0.1
	done
	out=$(vc --json=short close "$id") || fail "viommuctl close $id: $out"
	json_ok "--json=short close" '.session == $s and .closed == true' --arg s "$session" <<<"$out"
	for _ in $(seq 100); do
		grep -q SessionClosed "$work/monitor.txt" && grep -q SessionClosed "$work/monitor.json" && break
		sleep 0.1
	done
	kill "$text_pid" "$json_pid" "$nobody_pid" 2>/dev/null
	wait "$text_pid" "$json_pid" "$nobody_pid"
	grep -q "^SessionClosed $session " "$work/monitor.txt" ||
		fail "viommuctl monitor: no SessionClosed line: $(cat "$work/monitor.txt" "$work/monitor-text.err")"
	jq -n -e --arg s "$session" 'any(inputs; .signal == "SessionClosed" and .session == $s)' "$work/monitor.json" \
		>/dev/null || fail "viommuctl --json monitor: no SessionClosed: $(cat "$work/monitor.json")"
	grep -q Monitoring "$work/monitor-nobody.err" ||
		fail "viommuctl monitor as nobody did not start: $(cat "$work/monitor-nobody.err")"
	! grep -q "$session" "$work/monitor-nobody.json" ||
		fail "viommuctl monitor as nobody heard of root's session: $(cat "$work/monitor-nobody.json")"
	vc --json sessions | json_ok "sessions after close" 'map(.path) | index($s) == null' --arg s "$session"
	out=$(vc close "$id" 2>&1) && fail "viommuctl close $id twice succeeded"
	[[ $out == *"NoSuchObject: No session $id"* ]] || fail "viommuctl close $id twice: $out"
	# A daemon that does not answer: the call is named, and the exit is 1.
	kill -STOP "$viommud_pid"
	rc=0
	out=$(vc --timeout=1 sessions 2>&1) || rc=$?
	kill -CONT "$viommud_pid"
	[ $rc -eq 1 ] && [[ $out == *"Calling org.viommu1.Manager.Describe: viommud did not answer in time"* ]] ||
		fail "viommuctl --timeout=1 sessions with viommud stopped: exit $rc: $out"

	[ ${#failures[@]} -eq "$errors_before" ] && pass "viommuctl, every verb (first host device: ${first:-none})"
}
