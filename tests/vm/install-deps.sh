#!/bin/bash
# Install what the real-kernel VM tests need on Debian bookworm (run as root,
# e.g. from CI): QEMU, the 6.12 kernel source, and the kernel build tools.
# The 7.3 source comes from trixie-backports at build time (build-kernel.sh).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -q -y --no-install-recommends \
	qemu-system-x86 \
	linux-source-6.12 \
	gcc libc6-dev make flex bison bc libelf-dev libssl-dev xz-utils rsync \
	systemd-sysv util-linux \
	debootstrap debian-archive-keyring
