/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A delegated session: Session.ExportIommufd hands the VMM the session's
 * iommufd, which it drives itself. Any uid, any profile.
 *
 *   test-delegated [delegated]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_export_iommufd_delegated(void **state) {
        sd_bus *bus = bus_open();
        _cleanup_free_ char *s = NULL, *ioas = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct iommu_option option = {
                .size = sizeof(option),
                .option_id = IOMMU_OPTION_RLIMIT_MODE,
                .op = IOMMU_OPTION_OP_GET,
        };
        struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
        struct stat st, dev;
        sd_bus_message *reply;

        s = reply_object(CALL(bus, MANAGER_PATH, I_MANAGER, "OpenSession", "a{sv}", 1, "Delegated", "b", 1), NULL);
        assert_true(get_bool(bus, s, I_SESSION, "Delegated"));
        reply = CALL(bus, s, I_SESSION, "ExportIommufd", NULL);
        fd = read_fd(reply);
        sd_bus_message_unref(reply);

        /* It is an iommufd, accounting pinned pages to the process that
         * pins them (the VMM), as the daemon set it before handing it out. */
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(stat("/dev/iommu", &dev), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, dev.st_rdev);
        assert_int_equal(ioctl(fd, IOMMU_OPTION, &option), 0);
        assert_int_equal(option.val64, 1);
        /* and the VMM, unprivileged as it may be, drives it. */
        assert_int_equal(ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
        assert_true(alloc.out_ioas_id > 0);

        /* The daemon's own objects live in the same iommufd. */
        ioas = create_ioas(bus, s, NULL);
        assert_int_equal(get_u32(bus, ioas, I_OBJECT, "Id"), alloc.out_ioas_id + 1);
        /* A plain session hands out nothing. */
        {
                _cleanup_free_ char *plain = open_session(bus, false);

                CALL_FAILS(E_INVALID_ARGUMENT, bus, plain, I_SESSION, "ExportIommufd", NULL);
                close_session(bus, plain);
        }
        CALL_FAILS(E_INVALID_ARGUMENT, bus, s, I_SESSION, "ExportDevice", "o", ioas);
        close_session(bus, s);
        sd_bus_flush_close_unref(bus);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest delegated[] = { cmocka_unit_test(test_export_iommufd_delegated) };
        const Group groups[] = { GROUP("delegated", delegated) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
