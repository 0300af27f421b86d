#!/bin/bash
# The installed interface files as a VMM author uses them: gdbus-codegen on
# each file "make install" puts in share/dbus-1/interfaces makes a binding
# with a proxy type for its interface and a call for each of its methods, and
# the generated C compiles, links and runs. Run by "make check" from the
# build directory, with MAKE, CC, GDBUS_CODEGEN, GIO_CFLAGS and GIO_LIBS from
# it; skipped (77) without gdbus-codegen or gio-2.0.
set -u

[ -n "${GDBUS_CODEGEN:-}" ] || { echo "SKIP: no gdbus-codegen (Debian: libglib2.0-dev-bin)"; exit 77; }
[ -n "${GIO_LIBS:-}" ] || { echo "SKIP: no gio-2.0 (Debian: libglib2.0-dev)"; exit 77; }

# shellcheck source-path=SCRIPTDIR source=installed-lib.sh
. "${srcdir:?run by make check, which sets srcdir}/tests/unit/installed-lib.sh"

installed_interfaces

# gdbus-codegen's C names: ClaimDevice -> claim_device, AllocHWPT -> alloc_hwpt.
uscore() { sed 's/\([a-z0-9]\)\([A-Z]\)/\1_\2/g' | tr '[:upper:]' '[:lower:]'; }

{
	echo '#include <stdio.h>'
	echo '#include <gio/gio.h>'
} >"$work/main.c"
main_body=''
sources=()
for xml in "${files[@]}"; do
	iface=$(basename "$xml" .xml)
	short=${iface#org.viommu1.}
	c=$(uscore <<<"$short")
	if ! out=$(cd "$work" && "$GDBUS_CODEGEN" --interface-prefix org.viommu1. --c-namespace Viommu \
		--generate-c-code "$iface" "$xml" 2>&1); then
		fail "gdbus-codegen $iface: $out"
		continue
	fi
	h=$work/$iface.h
	grep -q "^GType viommu_${c}_proxy_get_type (void)" "$h" ||
		fail "$iface: the binding has no proxy type viommu_${c}_proxy_get_type: $(wc -l <"$h") lines of header"
	methods=$(sed -n 's/.*<method name="\([A-Za-z0-9_]*\)".*/\1/p' "$xml")
	for m in $methods; do
		f=viommu_${c}_call_$(uscore <<<"$m")_sync
		grep -q "^gboolean $f (" "$h" || fail "$iface: no $f for method $m"
	done
	echo "$iface: $(wc -w <<<"$methods") methods, header of $(wc -l <"$h") lines"
	echo "#include \"$iface.h\"" >>"$work/main.c"
	main_body+="        puts(g_type_name(viommu_${c}_proxy_get_type()));"$'\n'
	sources+=("$work/$iface.c")
done
printf 'int main(void) {\n%s        return 0;\n}\n' "$main_body" >>"$work/main.c"

# The generated code is glib's, warnings and all: built, not judged.
# shellcheck disable=SC2086 # the flags are words
if ! out=$(${CC:-cc} -I"$work" $GIO_CFLAGS -o "$work/bindings" "$work/main.c" "${sources[@]}" $GIO_LIBS 2>&1); then
	fail "the generated bindings do not build: $out"
elif ! out=$("$work/bindings" 2>&1); then
	fail "the program on the generated bindings failed: $out"
else
	n=$(grep -c 'Proxy$' <<<"$out")
	[ "$n" -eq ${#files[@]} ] || fail "$n proxy types registered for ${#files[@]} interfaces: $out"
fi

[ $failed -eq 0 ] && echo "gdbus-codegen: PASS"
exit $failed
