#!/bin/bash
# Install what the real-kernel VM tests need on Debian bookworm (run as root,
# e.g. from CI): QEMU, the 6.12 kernel source, and the kernel build tools.
# The 7.3 source comes from trixie-backports at build time (build-kernel.sh).
# The arm64 profile takes its QEMU from a trixie root (trixie-root.sh --arm64)
# and its busybox from the arm64 archive (smmu-initrd.sh): the host needs the
# cross compiler, cpio, python3, and arm64 in dpkg's architectures.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
dpkg --add-architecture arm64
apt-get update -q
apt-get install -q -y --no-install-recommends \
	qemu-system-x86 \
	linux-source-6.12 \
	gcc libc6-dev make flex bison bc libelf-dev libssl-dev xz-utils rsync \
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio python3 \
	systemd-sysv util-linux \
	debootstrap debian-archive-keyring
