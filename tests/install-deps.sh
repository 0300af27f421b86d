#!/bin/bash
# Installs everything the build and the whole test suite need on Debian
# bookworm (as root): the build dependencies here, the test VM's through
# tests/vm/install-deps.sh. clang-14 builds the fuzz targets; libFuzzer is in
# libclang-rt-14-dev, which clang-14's packages only recommend.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
"$here/vm/install-deps.sh"
DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends \
	autoconf automake libtool pkg-config make gcc libc6-dev \
	libsystemd-dev libudev-dev libjson-c-dev libsmartcols-dev libcmocka-dev \
	bash-completion \
	umockdev libumockdev-dev \
	dbus jq libglib2.0-bin libglib2.0-dev-bin libglib2.0-dev \
	groff-base man-db bsdextrautils python3 python3-gi \
	clang-14 libclang-rt-14-dev
