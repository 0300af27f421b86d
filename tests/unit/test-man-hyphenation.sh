#!/bin/bash
# No identifier is hyphenated in a rendered page: each page "make install"
# puts in place, rendered by man(1) 60 columns wide, breaks no name of the
# D-Bus API (interfaces, members, arguments, errors) and no other CamelCase
# word across lines, so that what a reader copies works. Run by "make check"
# from the build directory, with MAKE from it; skipped (77) without man-db.
set -u

if ! command -v man >/dev/null || ! command -v col >/dev/null; then
	echo "SKIP: no man or col (Debian: man-db, bsdextrautils)"
	exit 77
fi
# shellcheck source-path=SCRIPTDIR source=installed-lib.sh
. "${srcdir:?run by make check, which sets srcdir}/tests/unit/installed-lib.sh"

installed_interfaces
install_parts install-man
mapfile -t pages < <(find "$work/root" -path '*/man/man*' -type f | sort)
[ ${#pages[@]} -gt 0 ] || { echo "FAIL: no page installed"; exit 1; }

# Every name the interface files give, and the errors' last parts.
sed -n 's/.* name="\([^"]*\)".*/\1/p' "${files[@]}" |
	tr '.' '\n' >"$work/names"
sed -n 's/^#define VIOMMU_ERROR_[A-Z_]* *"org\.viommu1\.Error\.\(.*\)"/\1/p' "$srcdir/daemon/bus-errors.h" >>"$work/names"
sort -u -o "$work/names" "$work/names"
[ "$(wc -l <"$work/names")" -gt 50 ] || fail "too few names in the interface files: $(wc -l <"$work/names")"

for page in "${pages[@]}"; do
	# LEFT|RIGHT for each line that ends in a hyphen after a letter: the
	# word broken there.
	# (man warns of lines it cannot adjust at this width: no matter.)
	MANWIDTH=60 man -E ascii -l "$page" 2>/dev/null | col -b >"$work/text"
	[ -s "$work/text" ] || fail "$(basename "$page"): man renders nothing"
	awk 'prev ~ /[A-Za-z]-$/ {
			l = prev; sub(/-$/, "", l); sub(/.*[^A-Za-z0-9_]/, "", l)
			r = $1; sub(/[^A-Za-z0-9_].*/, "", r)
			print l "|" r
		}
		{ prev = $0 }' "$work/text" >"$work/breaks"
	while IFS='|' read -r l r; do
		if grep -qxF "$l$r" "$work/names" || [[ $l$r =~ [a-z][A-Z] ]]; then
			fail "$(basename "$page"): $l$r is hyphenated: $l-/$r"
		fi
	done <"$work/breaks"
done

[ $failed -eq 0 ] && echo "man-hyphenation: PASS: ${#pages[@]} pages"
exit $failed
