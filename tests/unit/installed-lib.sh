# shellcheck shell=bash
# Sourced by the make check scripts that look at installed files: a scratch
# directory removed at exit, fail() that counts, and parts of "make install"
# into it. $srcdir comes from automake, MAKE from AM_TESTS_ENVIRONMENT.

srcdir=${srcdir:?run by make check, which sets srcdir}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2034 # failed is read by the script that sources this file
{
	failed=0
	fail() { echo "FAIL: $*"; failed=1; }
}

# install_parts TARGET...: "make TARGET..." with DESTDIR=$work/root, or the end.
install_parts() {
	${MAKE:-make} -s "$@" DESTDIR="$work/root" >"$work/install.log" 2>&1 ||
		{ cat "$work/install.log"; echo "FAIL: make $* DESTDIR=$work/root"; exit 1; }
}

# installed_interfaces: the interface files installed, into the array files.
installed_interfaces() {
	install_parts install-dist_dbusinterfacesDATA
	mapfile -t files < <(find "$work/root" -name 'org.viommu1.*.xml' | sort)
	[ ${#files[@]} -gt 0 ] || { echo "FAIL: no interface file installed"; exit 1; }
}
