/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel ABI libviommu speaks. Debian bookworm's <linux/iommufd.h> is
 * from Linux 6.1 and lacks most of iommufd, so the project carries its own
 * definitions (abi/iommufd.h) and uses the system header only when configure
 * found it at least as new. The VFIO cdev ioctls use project-named structs
 * (abi/vfio-cdev.h) so they never clash with an older <linux/vfio.h>.
 */

#include <linux/types.h>

#ifdef HAVE_COMPLETE_LINUX_IOMMUFD_H
#  include <linux/iommufd.h>
#else
#  include "abi/iommufd.h"
#endif
#include "abi/vfio-cdev.h"
