/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libviommu: the kernel-facing library of viommu. */

#include "viommu-abi.h"
#include "viommu-features.h"
#include "viommu-iommufd.h"
#include "viommu-topology.h"
#include "viommu-vfio.h"
