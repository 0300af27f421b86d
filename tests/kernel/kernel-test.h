/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared bits of the real-kernel tests. They run inside the test VM
 * (tests/vm/), as root, against the kernel's iommufd; what they expect
 * depends on the running kernel's version, never on what the probe found,
 * so a probe that lies fails the test instead of skipping it.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "util.h"
#include "viommu.h"

#define KVER(a, b) ((a) * 1000 + (b))

static inline int kernel_version(void) {
        struct utsname u;
        int major = 0, minor = 0;

        assert_int_equal(uname(&u), 0);
        assert_int_equal(sscanf(u.release, "%d.%d", &major, &minor), 2);
        return KVER(major, minor);
}

static inline bool kernel_at_least(int major, int minor) {
        return kernel_version() >= KVER(major, minor);
}

/* A libviommu call that must fail with exactly this errno. */
#define assert_errno(expr, err) assert_int_equal((expr), -(err))
/* A libviommu call that must succeed. */
#define assert_ok(expr) assert_int_equal((expr), 0)

/* Anonymous shared memory for mappings, freed with munmap. */
static inline void *test_buffer(size_t size) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

        assert_true(p != MAP_FAILED);
        memset(p, 0x5a, size);
        return p;
}

static inline int test_iommufd(void) {
        int fd = viommu_iommufd_open();

        if (fd < 0)
                fail_msg("cannot open /dev/iommu: %s", strerror(-fd));
        return fd;
}
