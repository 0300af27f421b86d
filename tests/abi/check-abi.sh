#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Compare the project's iommufd / VFIO cdev ABI (lib/abi/) with a kernel's
# installed headers, struct by struct and field by field.
#
#   tests/abi/check-abi.sh KHDR_DIR
#
# KHDR_DIR is the output of "make headers_install INSTALL_HDR_PATH=KHDR_DIR"
# (KHDR_DIR/include/linux/iommufd.h); KHDR_DIR/usr/include and a bare include
# directory are accepted too. Builds tests/abi/abi-dump.c against each side,
# checks only what that kernel release has, and exits 1 on any difference.
# CC and CFLAGS are honoured.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
khdr=${1:?usage: check-abi.sh KHDR_DIR}
read -r -a cc <<<"${CC:-gcc}"
read -r -a extra <<<"${CFLAGS:-}"
cflags=(-std=gnu11 -O0 -Wall -Wextra -Wmissing-prototypes -Wshadow -Wformat=2 -Wstrict-prototypes -Wvla -Werror "${extra[@]}")

inc=
for d in "$khdr/include" "$khdr/usr/include" "$khdr"; do
        if [ -e "$d/linux/iommufd.h" ] && [ -e "$d/linux/version.h" ]; then
                inc=$d
                break
        fi
done
if [ -z "$inc" ]; then
        echo "check-abi: no linux/iommufd.h and linux/version.h under $khdr (expected headers_install output)" >&2
        exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The project side is filtered to the same release as the kernel's headers.
code=$(printf '#include <linux/version.h>\nLINUX_VERSION_CODE\n' |
        "${cc[@]}" -E -P -I "$inc" -x c - | tail -n1 | tr -d ' ()')
case $code in
        ''|*[!0-9]*)
                echo "check-abi: cannot read LINUX_VERSION_CODE from $inc/linux/version.h" >&2
                exit 2;;
esac
release=$((code >> 16)).$(((code >> 8) & 255)).$((code & 255))

"${cc[@]}" "${cflags[@]}" -I "$inc" \
        -o "$tmp/dump-kernel" "$here/abi-dump.c"
"${cc[@]}" "${cflags[@]}" -DABI_SIDE_PROJECT -DABI_FILTER_VERSION="$code" -I "$top/lib" \
        -o "$tmp/dump-project" "$here/abi-dump.c"
"$tmp/dump-kernel" >"$tmp/kernel.txt"
"$tmp/dump-project" >"$tmp/project.txt"

# One line per struct: what was checked, and whether it matched.
struct_of() {
        awk '$1 == "struct" { print $2 } $1 == "field" { split($2, a, "."); print a[1] }' "$1" |
                awk '!seen[$0]++'
}
while read -r s; do
        k=$(grep -E "^(struct $s( |\$)|field $s\\.)" "$tmp/kernel.txt" || true)
        p=$(grep -E "^(struct $s( |\$)|field $s\\.)" "$tmp/project.txt" || true)
        n=$(printf '%s\n' "$k" | grep -c '^field ' || true)
        size=$(printf '%s\n' "$k" | awk '$3 == "size" { printf " size %s", $4 }')
        if [ "$k" = "$p" ]; then
                printf 'ok    %-40s %2d fields%s\n' "$s" "$n" "$size"
        else
                printf 'FAIL  %s\n' "$s"
        fi
done < <({ struct_of "$tmp/kernel.txt"; struct_of "$tmp/project.txt"; } | awk '!seen[$0]++')

nconst=$(grep -c '^const ' "$tmp/kernel.txt" || true)
if ! diff -q <(grep '^const ' "$tmp/kernel.txt") <(grep '^const ' "$tmp/project.txt") >/dev/null; then
        echo "FAIL  constants"
else
        printf 'ok    %-40s %2d values\n' "constants" "$nconst"
fi

if ! diff -u --label "kernel $release ($inc)" --label "project (lib/abi)" \
        "$tmp/kernel.txt" "$tmp/project.txt" >"$tmp/diff"; then
        echo
        echo "check-abi: lib/abi differs from the Linux $release headers:"
        cat "$tmp/diff"
        exit 1
fi
nstruct=$(grep -c -E '^struct [^ ]+$' "$tmp/kernel.txt" || true)
nfield=$(grep -c '^field ' "$tmp/kernel.txt" || true)
echo "check-abi: lib/abi matches Linux $release: $nstruct structs, $nfield fields, $nconst constants"
