#!/bin/bash
# Compares what the running viommud introspects with the interface files in
# dbus/, one file per interface (dbus/org.viommu1.NAME.xml). Runs where the
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

out=$(mktemp -d)
trap 'rm -rf "$out"; bus call org.viommu1 "$session" org.viommu1.Session Close >/dev/null 2>&1 || true' EXIT
status=0
for iface in "${!where[@]}"; do
	bus introspect --xml-interface org.viommu1 "${where[$iface]}" |
		awk -v want="$iface" '
			$0 ~ "<interface name=\"" want "\">" { on = 1 }
			on { sub(/^ +/, ""); print }
			on && /<\/interface>/ { on = 0 }' >"$out/$iface.xml"
	if [ ! -s "$out/$iface.xml" ]; then
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
