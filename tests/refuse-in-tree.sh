# shellcheck shell=bash
# Sourced by the scripts that build out of tree in $src/build: automake
# refuses such builds ("source directory already configured") once
# ./configure has run in $src itself, as the README's Building section does.
if [ -f "${src:?}/config.status" ]; then
	echo "${0##*/}: $src is configured in tree (./configure ran there), and the builds here are" \
		"out of tree in $src/build: run 'make distclean' in $src first" >&2
	exit 2
fi
