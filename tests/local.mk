
# Real-kernel tests: built with the rest, run inside the test VM by
# tests/vm/run-kernel-tests.sh, never on the build host.
check_PROGRAMS += tests/kernel/test-iommufd-mock tests/kernel/test-vfio-vtd
tests_kernel_test_iommufd_mock_SOURCES = tests/kernel/kernel-test.h tests/kernel/test-iommufd-mock.c
tests_kernel_test_iommufd_mock_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_kernel_test_iommufd_mock_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_kernel_test_iommufd_mock_LDADD = lib/libviommu.la lib/mock/libviommu-mock.la $(CMOCKA_LIBS)
tests_kernel_test_vfio_vtd_SOURCES = tests/kernel/kernel-test.h tests/kernel/test-vfio-vtd.c
tests_kernel_test_vfio_vtd_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_kernel_test_vfio_vtd_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_kernel_test_vfio_vtd_LDADD = lib/libviommu.la $(CMOCKA_LIBS)

# ABI layout: lib/abi/ against fixed numbers (unit test), and against a
# kernel's installed headers with "make check-abi KHDR=DIR" (DIR from
# make headers_install INSTALL_HDR_PATH=DIR).
check_PROGRAMS += tests/unit/test-abi
TESTS += tests/unit/test-abi
tests_unit_test_abi_SOURCES = tests/unit/test-abi.c
tests_unit_test_abi_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_abi_LDADD = $(CMOCKA_LIBS)
EXTRA_DIST += tests/abi/abi-layout.h tests/abi/abi-dump.c tests/abi/check-abi.sh

.PHONY: check-abi
check-abi:
	@test -n "$(KHDR)" || { echo "usage: make check-abi KHDR=DIR (make headers_install output)" >&2; exit 2; }
	CC="$(CC)" $(SHELL) $(srcdir)/tests/abi/check-abi.sh "$(KHDR)"
