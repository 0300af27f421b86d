#!/bin/bash
# org.viommu1(5) against the interface files "make install" puts in place and
# the daemon's error table: every method, signal and property of the XML is
# in the page's synopsis with the same arguments, types and
# EmitsChangedSignal, and described under its interface; nothing in the
# synopsis is missing from the XML; every error of daemon/bus-errors.c is
# described, and no other. Run by "make check" from the build directory
# ($srcdir from automake); names what differs, one line each.
set -u

# shellcheck source-path=SCRIPTDIR source=installed-lib.sh
. "${srcdir:?run by make check, which sets srcdir}/tests/unit/installed-lib.sh"

installed_interfaces
page=$srcdir/man/org.viommu1.5

# One line per member, the same from both sides:
#   IFACE method NAME(in s name, out o device)
#   IFACE signal NAME(o device, s name)
#   IFACE property readonly TYPE NAME emits=const|false|invalidates|true
attr() { # the value of attribute $1 on the current line, in awk
	echo "(match(\$0, /$1=\"[^\"]*\"/) ? substr(\$0, RSTART + ${#1} + 2, RLENGTH - ${#1} - 3) : \"\")"
}
awk "
	/<interface / { iface = $(attr name) }
	/<method / || /<signal / {
		kind = /<method/ ? \"method\" : \"signal\"; member = $(attr name); args = \"\"
	}
	/<arg / {
		d = $(attr direction)
		args = args (args == \"\" ? \"\" : \", \") (d == \"\" ? \"\" : d \" \") $(attr type) \" \" $(attr name)
	}
	/<\\/method>/ || /<\\/signal>/ || /<(method|signal) .*\\/>/ { print iface, kind, member \"(\" args \")\" }
	/<property / {
		member = $(attr name); type = $(attr type); emits = \"true\"
		access = $(attr access); access = access == \"read\" ? \"readonly\" : access == \"write\" ? \"writeonly\" : \"readwrite\"
	}
	/EmitsChangedSignal/ { emits = $(attr value) }
	/<\\/property>/ || /<property .*\\/>/ { print iface, \"property\", access, type, member, \"emits=\" emits }
" "${files[@]}" | sort >"$work/xml"

# The page's synopses: the .nf blocks that open with "interface NAME {".
awk '
	/^\.nf/ { nf = 1; next }
	/^\.fi/ { nf = 0; iface = ""; next }
	!nf || /^\./ { next }
	$1 == "interface" { iface = $2; next }
	iface == "" || /^ *(methods|signals|properties): *$/ || /^ *};/ { if ($0 ~ /:/) kind = $1; next }
	/^ *@org\.freedesktop\.DBus\.Property\.EmitsChangedSignal\("/ { split($0, q, "\""); emits = q[2]; next }
	{ text = text " " $0 }
	/;/ {
		gsub(/[ \t]+/, " ", text); sub(/^ /, "", text); sub(/;.*/, "", text)
		gsub(/\( /, "(", text); gsub(/ \)/, ")", text); gsub(/ ,/, ",", text)
		if (kind == "properties:") {
			split(text, w, " ")
			print iface, "property", w[1], w[2], w[3], "emits=" (emits == "" ? "true" : emits)
		} else
			print iface, (kind == "methods:" ? "method" : "signal"), text
		text = ""; emits = ""
	}' "$page" | sort >"$work/page"
[ -s "$work/page" ] || fail "no synopsis found in $page"

while read -r line; do
	fail "in the XML, not in org.viommu1(5): $line"
done < <(comm -23 "$work/xml" "$work/page")
while read -r line; do
	fail "in org.viommu1(5), not in the XML: $line"
done < <(comm -13 "$work/xml" "$work/page")

# Each member is described under its interface's .SS, as ".B NAME" or
# ".B NAME()" after a .TP or .TQ.
awk '
	/^\.SS org\.viommu1\./ { iface = $2 }
	/^\.SH/ { iface = "" }
	(prev == ".TP" || prev == ".TQ") && iface != "" && /^\.B / { n = $2; sub(/\(\)$/, "", n); print iface, n }
	{ prev = $0 }' "$page" | sort -u >"$work/described"
awk '{ n = $3; sub(/\(.*/, "", n); if ($2 == "property") n = $5; print $1, n }' "$work/xml" | sort -u >"$work/members"
while read -r line; do
	fail "not described in org.viommu1(5): $line"
done < <(comm -23 "$work/members" "$work/described")

# Errors: the names the daemon's one table maps, against the page's ERRORS.
sed -n 's/^ *SD_BUS_ERROR_MAP(\([A-Z_]*\),.*/\1/p' "$srcdir/daemon/bus-errors.c" |
	while read -r macro; do
		sed -n "s/^#define $macro *\"\\(.*\\)\"/\\1/p" "$srcdir/daemon/bus-errors.h"
	done | sort >"$work/errors"
[ -s "$work/errors" ] || fail "no error found in daemon/bus-errors.c"
sed -n '/^\.SH ERRORS/,/^\.SH/s/^\.B \(org\.viommu1\.Error\.[A-Za-z]*\)$/\1/p' "$page" | sort >"$work/page-errors"
while read -r e; do fail "error not in org.viommu1(5): $e"; done < <(comm -23 "$work/errors" "$work/page-errors")
while read -r e; do fail "error in org.viommu1(5) that the daemon does not send: $e"; done < <(comm -13 "$work/errors" "$work/page-errors")

[ $failed -eq 0 ] && echo "dbus-page: PASS: $(wc -l <"$work/xml") members, $(wc -l <"$work/errors") errors"
exit $failed
