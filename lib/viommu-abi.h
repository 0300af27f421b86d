/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel ABI libviommu speaks. Debian bookworm's linux-libc-dev has no
 * <linux/iommufd.h> at all and older systems have one without most of
 * iommufd, so the project carries its own definitions (abi/iommufd.h) and
 * uses them everywhere: what a program compiles against never depends on the
 * headers of the machine libviommu was built on. The VFIO cdev ioctls use
 * project-named structs (abi/vfio-cdev.h) so they never clash with an older
 * <linux/vfio.h>.
 */

#include <linux/types.h>

#include "abi/iommufd.h"
#include "abi/vfio-cdev.h"
