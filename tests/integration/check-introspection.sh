#!/bin/bash
# Compares what the running viommud introspects with the interface files in
# dbus/, one file per interface (dbus/org.viommu1.NAME.xml), each a whole
# introspection document as gdbus-codegen and D-Feet read it: the DOCTYPE, a
# <node> root, the interface indented by two spaces a level. Runs where the
# daemon serves with --test-mock-devices on $DBUS_SYSTEM_BUS_ADDRESS, on a
# kernel with vIOMMU objects (6.13+) so that every interface exists.
#
#   check-introspection.sh SRCDIR            compare, print a diff, exit 1 on any
#   check-introspection.sh SRCDIR --update D write the files into D instead
set -euo pipefail

src=${1:?usage: check-introspection.sh SRCDIR [--update DIR]}
update=${3:-}
[ "${2:-}" != --update ] || [ -n "$update" ] || { echo "--update needs a directory" >&2; exit 2; }

bus() { busctl --system "$@"; }
path_of() { sed -n 's/^[a-z]* "\([^"]*\)".*/\1/p'; }

# One object of each kind, in a session of our own; persistent, because
# every busctl call is a connection of its own.
session=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager OpenSession 'a{sv}' 1 Persistent b true | path_of)
device=$(bus call org.viommu1 "$session" org.viommu1.Session CreateMockDevice u 0 | path_of)
ioas=$(bus call org.viommu1 "$session" org.viommu1.Session CreateIOAS | path_of)
hwpt=$(bus call org.viommu1 "$session" org.viommu1.Session AllocHWPT ooouuay \
	"$device" "$ioas" / 1 0 0 | path_of)
viommu=$(bus call org.viommu1 "$session" org.viommu1.Session AllocVIOMMU oouay \
	"$device" "$hwpt" 0xdeadbeef 0 | path_of)
host_device=$(bus call org.viommu1 /org/viommu1 org.viommu1.Manager ListDevices |
	grep -o '"/org/viommu1/device/[^"]*"' | sed -n '1s/"//gp')

declare -A where=(
	[org.viommu1.Manager]=/org/viommu1
	[org.viommu1.Device]=$host_device
	[org.viommu1.Session]=$session
	[org.viommu1.Testing]=$session
	[org.viommu1.Object]=$ioas
	[org.viommu1.ClaimedDevice]=$device
	[org.viommu1.IOAS]=$ioas
	[org.viommu1.HWPT]=$hwpt
	[org.viommu1.VIOMMU]=$viommu
)

# document IFACE: the interface's element of an introspection, as a document
# of its own.
document() {
	awk -v want="$1" '
		BEGIN {
			print "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\""
			print " \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">"
			print "<node>"
			depth = 1
		}
		$0 ~ "<interface name=\"" want "\">" { on = 1 }
		on {
			sub(/^[ \t]+/, "")
			if ($0 ~ /^<\//) depth--
			printf "%*s%s\n", 2 * depth, "", $0
			if ($0 ~ /^<[a-z]/ && $0 !~ /\/>$/ && $0 !~ /<\/[a-z]+>$/) depth++
		}
		on && /<\/interface>/ { on = 0 }
		END { print "</node>" }'
}

out=$(mktemp -d)
trap 'rm -rf "$out"; bus call org.viommu1 "$session" org.viommu1.Session Close >/dev/null 2>&1 || true' EXIT
status=0
for iface in "${!where[@]}"; do
	bus introspect --xml-interface org.viommu1 "${where[$iface]}" | document "$iface" >"$out/$iface.xml"
	if ! grep -q '<interface' "$out/$iface.xml"; then
		echo "introspection: ${where[$iface]} has no $iface" >&2
		status=1
		continue
	fi
	if [ -n "$update" ]; then
		cp "$out/$iface.xml" "$update/$iface.xml"
	elif diff -u "$src/dbus/$iface.xml" "$out/$iface.xml"; then
		echo "introspection-$iface: PASS"
	else
		echo "introspection-$iface: FAIL"
		status=1
	fi
done
exit $status
