#!/bin/bash
# The installed tree as a packager and a library user meet it: "make install"
# into a scratch DESTDIR installs no libtool archive, no test-only interface
# and no header that tests a macro of the build's config.h; a program written
# as libviommu(3) says (#include <viommu/viommu.h>, the flags from
# pkg-config) compiles with warnings as errors, links and runs against the
# installed library, and the example VMM installed with the documentation
# compiles and links on it. Run by "make check" from the build directory, with MAKE,
# CC, PKG_CONFIG and SAN_CFLAGS from it: a library built with sanitizers
# needs their runtime in the program too, as it would in any user's.
set -u

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
failed=0
fail() { echo "FAIL: $*"; failed=1; }

${MAKE:-make} -s install DESTDIR="$root" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log"; echo "FAIL: make install DESTDIR=$root"; exit 1; }

found=$(find "$root" -name '*.la' -o -name 'org.viommu1.Testing.xml')
[ -z "$found" ] || fail "installed: $found"

# viommuctl's completion, where bash-completion looks: its pkg-config file's
# completionsdir, or the same path under the prefix.
[ -n "$(find "$root" -path '*/share/bash-completion/completions/viommuctl' -type f)" ] ||
	fail "no bash completion for viommuctl installed"

# The names config.h defines mean nothing to a program built elsewhere.
mapfile -t headers < <(find "$root" -name '*.h')
[ ${#headers[@]} -gt 0 ] || fail "no header installed"
sed -n 's/^#define \([A-Za-z_0-9]*\).*/\1/p' config.h >"$work/macros"
[ -s "$work/macros" ] || fail "no macro in config.h"
uses=$(grep -wHnFf "$work/macros" "${headers[@]}")
[ -z "$uses" ] || fail "installed headers use the build's config.h macros: $uses"

pc=$(find "$root" -name libviommu.pc)
[ -n "$pc" ] || { echo "FAIL: no libviommu.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
cat >"$work/prog.c" <<'PROG'
#include <stdio.h>
#include <string.h>
#include <viommu/viommu.h>

int main(void) {
        const char *since = viommu_feature_since(viommu_feature_from_string("ioas-map-file"));
        struct iommu_ioas_map_file cmd = { .size = sizeof(cmd) };

        printf("%s %u\n", since ? since : "(null)", cmd.size);
        return since && strcmp(since, "6.13") == 0 ? 0 : 1;
}
PROG
# The sysroot puts the prefix the .pc file names under DESTDIR.
if ! flags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$root \
	${PKG_CONFIG:-pkg-config} --cflags --libs libviommu 2>&1); then
	fail "pkg-config libviommu: $flags"
else
	# shellcheck disable=SC2086 # the flags are words
	if ! out=$(${CC:-cc} -std=c11 -Wall -Wextra -Werror ${SAN_CFLAGS:-} -o "$work/prog" "$work/prog.c" $flags 2>&1); then
		fail "a program built as libviommu(3) says does not build with $flags: $out"
	elif ! out=$(LD_LIBRARY_PATH=$libdir "$work/prog" 2>&1); then
		fail "the program built against the installed library failed: $out"
	elif ! LD_LIBRARY_PATH=$libdir ldd "$work/prog" | grep -qF "$libdir/libviommu.so"; then
		fail "the program did not run on the installed library: $(LD_LIBRARY_PATH=$libdir ldd "$work/prog")"
	fi
fi

# The example VMM, installed with the documentation, builds as its README
# says: on the installed headers, with libsystemd.
example=$(find "$root" -path '*/examples/vmm-client.c')
if [ -z "$example" ]; then
	fail "no examples/vmm-client.c installed"
elif ! flags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$root \
	${PKG_CONFIG:-pkg-config} --cflags --libs libsystemd libviommu 2>&1); then
	fail "pkg-config libsystemd libviommu: $flags"
else
	# shellcheck disable=SC2086 # the flags are words
	out=$(${CC:-cc} -Wall -Wextra -Werror ${SAN_CFLAGS:-} -o "$work/vmm-client" "$example" $flags 2>&1) ||
		fail "the installed vmm-client.c does not build with $flags: $out"
fi

[ $failed -eq 0 ] && echo "install: PASS"
exit $failed
