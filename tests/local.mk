comma := ,

# The flags of every test program, benchmark and fuzz target, defined once.
TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/cli -I$(top_srcdir)/tests/unit \
	-DTOP_SRCDIR=\"$(abs_top_srcdir)\" -DTOP_BUILDDIR=\"$(abs_top_builddir)\"
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS) $(LIBUDEV_CFLAGS) \
	$(UMOCKDEV_CFLAGS) $(SMARTCOLS_CFLAGS)

# Real-kernel tests: built with the rest, run inside the test VM by
# tests/kernel/run-in-guest.sh, never on the build host.
check_PROGRAMS += tests/kernel/test-iommufd-mock tests/kernel/test-vfio-vtd
tests_kernel_test_iommufd_mock_SOURCES = tests/kernel/kernel-test.h tests/kernel/test-iommufd-mock.c
tests_kernel_test_iommufd_mock_CFLAGS = $(TEST_CFLAGS)
tests_kernel_test_iommufd_mock_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_kernel_test_iommufd_mock_LDADD = lib/libviommu.la lib/mock/libviommu-mock.la $(CMOCKA_LIBS)
tests_kernel_test_vfio_vtd_SOURCES = tests/kernel/kernel-test.h tests/kernel/test-vfio-vtd.c
tests_kernel_test_vfio_vtd_CFLAGS = $(TEST_CFLAGS)
tests_kernel_test_vfio_vtd_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_kernel_test_vfio_vtd_LDADD = lib/libviommu.la $(CMOCKA_LIBS)

# The hot paths' cost against raw ioctls, inside the test VM beside a daemon
# with mock devices: tests/bench/run-in-vm boots it and runs it.
check_PROGRAMS += tests/bench/bench-hotpath
tests_bench_bench_hotpath_SOURCES = tests/bench/bench-hotpath.c
tests_bench_bench_hotpath_CFLAGS = $(TEST_CFLAGS)
tests_bench_bench_hotpath_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_bench_bench_hotpath_LDADD = lib/libviommu.la lib/mock/libviommu-mock.la $(LIBSYSTEMD_LIBS)
EXTRA_DIST += tests/bench/run-in-vm

# ABI layout: lib/abi/ against fixed numbers (unit test), and against a
# kernel's installed headers with "make check-abi KHDR=DIR" (DIR from
# make headers_install INSTALL_HDR_PATH=DIR).
check_PROGRAMS += tests/unit/test-abi
TESTS += tests/unit/test-abi
tests_unit_test_abi_SOURCES = tests/unit/test-abi.c
tests_unit_test_abi_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_abi_LDADD = $(CMOCKA_LIBS)
EXTRA_DIST += tests/abi/abi-layout.h tests/abi/abi-dump.c tests/abi/check-abi.sh

.PHONY: check-abi
check-abi:
	@test -n "$(KHDR)" || { echo "usage: make check-abi KHDR=DIR (make headers_install output)" >&2; exit 2; }
	CC="$(CC)" $(SHELL) $(srcdir)/tests/abi/check-abi.sh "$(KHDR)"

# Topology: recorded hosts against golden JSON, malformed trees, the live
# /sys, all on umockdev testbeds (testbed.c). VIOMMU_UPDATE_GOLDEN=1 rewrites
# the golden files. The benchmark is built with the tests but never run by
# them.
TESTBED_SOURCES = tests/unit/testbed.c tests/unit/testbed.h
check_PROGRAMS += tests/unit/test-topology tests/bench/bench-topology
TESTS += tests/unit/test-topology
tests_unit_test_topology_SOURCES = tests/unit/test-topology.c $(TESTBED_SOURCES)
tests_unit_test_topology_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_topology_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_topology_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_topology_LDADD = daemon/libviommud-config.la lib/libviommu.la $(CMOCKA_LIBS) $(JSONC_LIBS) \
	$(LIBSYSTEMD_LIBS) $(LIBUDEV_LIBS) $(UMOCKDEV_LIBS)
tests_bench_bench_topology_SOURCES = tests/bench/bench-topology.c $(TESTBED_SOURCES)
tests_bench_bench_topology_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_topology_CFLAGS = $(TEST_CFLAGS)
tests_bench_bench_topology_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_bench_bench_topology_LDADD = lib/libviommu.la $(JSONC_LIBS) $(LIBUDEV_LIBS) $(UMOCKDEV_LIBS)
EXTRA_DIST += \
	tests/data/topology/README.md \
	tests/data/topology/vtd-host.umockdev \
	tests/data/topology/vtd-host.json \
	tests/data/topology/smmuv3-host.umockdev \
	tests/data/topology/smmuv3-host.json \
	tests/data/topology/mock-host.umockdev \
	tests/data/topology/mock-host.json
CLEANFILES += vtd-host.actual.json smmuv3-host.actual.json mock-host.actual.json

# Mapping index: unit test, and a benchmark built with the tests but run by
# hand (tests/bench/bench-mapping-index [-n MAPPINGS] [-s SEED]).
check_PROGRAMS += tests/unit/test-mapping-index tests/bench/bench-mapping-index
TESTS += tests/unit/test-mapping-index
tests_unit_test_mapping_index_SOURCES = tests/unit/test-mapping-index.c
tests_unit_test_mapping_index_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_mapping_index_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_mapping_index_LDADD = lib/libviommu-internal.la $(CMOCKA_LIBS) $(JSONC_LIBS)
tests_bench_bench_mapping_index_SOURCES = tests/bench/bench-mapping-index.c
tests_bench_bench_mapping_index_CFLAGS = $(TEST_CFLAGS)
tests_bench_bench_mapping_index_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_bench_bench_mapping_index_LDADD = lib/libviommu-internal.la $(JSONC_LIBS)

# Config: viommud.conf(5) parsing, validation messages, matching, limits, the
# reload diff (daemon/config*.c built into the test).
check_PROGRAMS += tests/unit/test-config
TESTS += tests/unit/test-config
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_config_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_config_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_config_LDADD = daemon/libviommud-config.la lib/libviommu.la $(CMOCKA_LIBS) $(JSONC_LIBS) \
	$(LIBSYSTEMD_LIBS)

# Device binding's sysfs side (daemon/pci-bind.c built into the test) on a
# temporary directory of files and links.
check_PROGRAMS += tests/unit/test-pci-bind
TESTS += tests/unit/test-pci-bind
tests_unit_test_pci_bind_SOURCES = tests/unit/test-pci-bind.c daemon/pci-bind.c daemon/pci-bind.h
tests_unit_test_pci_bind_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_pci_bind_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_pci_bind_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_pci_bind_LDADD = lib/libviommu-util.la $(CMOCKA_LIBS)

# The checks of SMMUv3 vendor data (daemon/smmuv3-data.c built into the test).
check_PROGRAMS += tests/unit/test-smmuv3-data
TESTS += tests/unit/test-smmuv3-data
tests_unit_test_smmuv3_data_SOURCES = tests/unit/test-smmuv3-data.c daemon/smmuv3-data.c daemon/smmuv3-data.h
tests_unit_test_smmuv3_data_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_smmuv3_data_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_smmuv3_data_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_smmuv3_data_LDADD = $(CMOCKA_LIBS)

# Fake polkit: a stand-in org.freedesktop.PolicyKit1 for the integration tests
# on a private bus (tests/integration/fake-polkit --help).
check_PROGRAMS += tests/integration/fake-polkit
tests_integration_fake_polkit_SOURCES = tests/integration/fake-polkit.c
tests_integration_fake_polkit_CFLAGS = $(TEST_CFLAGS)
tests_integration_fake_polkit_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_fake_polkit_LDADD = $(LIBSYSTEMD_LIBS)

# viommuctl: sizes, table layouts in text and JSON, and the views of a
# recorded Describe document (cli/views.c), down to a session's object tree;
# then the binary's exit statuses where no daemon is needed to know them.
check_PROGRAMS += tests/unit/test-viommuctl-output
TESTS += tests/unit/test-viommuctl-output
tests_unit_test_viommuctl_output_SOURCES = \
	tests/unit/test-viommuctl-output.c \
	cli/output.h cli/output.c \
	cli/views.h cli/views.c
tests_unit_test_viommuctl_output_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_viommuctl_output_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_viommuctl_output_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_viommuctl_output_LDADD = lib/libviommu-util.la $(CMOCKA_LIBS) $(JSONC_LIBS) $(SMARTCOLS_LIBS)
EXTRA_DIST += tests/data/describe-sample.json

# Integration: viommud on a private dbus-daemon inside the test VM, with the
# stand-in polkit above; tests/integration/run-in-guest.sh runs it all, once
# per VM boot, from tests/kernel/run-in-guest.sh. One client program per
# interface or topic, on a shared fixture and call helpers (itest.h).
check_LTLIBRARIES = tests/integration/libitest.la
ITEST_LDADD = tests/integration/libitest.la lib/libviommu-util.la $(CMOCKA_LIBS) $(LIBSYSTEMD_LIBS) $(JSONC_LIBS)
tests_integration_libitest_la_SOURCES = tests/integration/itest.h tests/integration/itest.c \
	tests/integration/itest-signals.c tests/integration/itest-refusals.c tests/integration/edu-dma.h \
	tests/integration/edu-dma.c tests/integration/smmu-stage1.h tests/integration/smmu-stage1.c
tests_integration_libitest_la_CFLAGS = $(TEST_CFLAGS)
INTEGRATION_TESTS = \
	tests/integration/test-session \
	tests/integration/test-ioas \
	tests/integration/test-hwpt \
	tests/integration/test-viommu \
	tests/integration/test-channel \
	tests/integration/test-limits \
	tests/integration/test-owner \
	tests/integration/test-delegated \
	tests/integration/test-claim \
	tests/integration/test-vtd \
	tests/integration/test-restart \
	tests/integration/test-crash \
	tests/integration/test-memory \
	tests/integration/test-virtio-iommu \
	tests/integration/test-lease \
	tests/integration/test-smmu
check_PROGRAMS += $(INTEGRATION_TESTS)
tests_integration_test_session_SOURCES = tests/integration/test-session.c
tests_integration_test_session_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_session_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_session_LDADD = $(ITEST_LDADD)
tests_integration_test_ioas_SOURCES = tests/integration/test-ioas.c
tests_integration_test_ioas_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_ioas_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_ioas_LDADD = $(ITEST_LDADD)
tests_integration_test_hwpt_SOURCES = tests/integration/test-hwpt.c
tests_integration_test_hwpt_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_hwpt_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_hwpt_LDADD = $(ITEST_LDADD)
tests_integration_test_viommu_SOURCES = tests/integration/test-viommu.c
tests_integration_test_viommu_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_viommu_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_viommu_LDADD = $(ITEST_LDADD)
tests_integration_test_channel_SOURCES = tests/integration/test-channel.c
tests_integration_test_channel_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_channel_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_channel_LDADD = $(ITEST_LDADD)
tests_integration_test_limits_SOURCES = tests/integration/test-limits.c
tests_integration_test_limits_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_limits_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_limits_LDADD = $(ITEST_LDADD)
tests_integration_test_owner_SOURCES = tests/integration/test-owner.c
tests_integration_test_owner_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_owner_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_owner_LDADD = $(ITEST_LDADD)
tests_integration_test_delegated_SOURCES = tests/integration/test-delegated.c
tests_integration_test_delegated_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_delegated_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_delegated_LDADD = $(ITEST_LDADD)
tests_integration_test_claim_SOURCES = tests/integration/test-claim.c
tests_integration_test_claim_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_claim_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_claim_LDADD = $(ITEST_LDADD)
tests_integration_test_vtd_SOURCES = tests/integration/test-vtd.c
tests_integration_test_vtd_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_vtd_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_vtd_LDADD = $(ITEST_LDADD)
tests_integration_test_restart_SOURCES = tests/integration/test-restart.c
tests_integration_test_restart_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_restart_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_restart_LDADD = $(ITEST_LDADD)
tests_integration_test_crash_SOURCES = tests/integration/test-crash.c
tests_integration_test_crash_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_crash_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_crash_LDADD = $(ITEST_LDADD)
tests_integration_test_memory_SOURCES = tests/integration/test-memory.c
tests_integration_test_memory_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_memory_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_memory_LDADD = $(ITEST_LDADD)
tests_integration_test_virtio_iommu_SOURCES = tests/integration/test-virtio-iommu.c
tests_integration_test_virtio_iommu_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_virtio_iommu_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_virtio_iommu_LDADD = $(ITEST_LDADD)
tests_integration_test_lease_SOURCES = tests/integration/test-lease.c
tests_integration_test_lease_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_lease_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_lease_LDADD = $(ITEST_LDADD)
tests_integration_test_smmu_SOURCES = tests/integration/test-smmu.c
tests_integration_test_smmu_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_smmu_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_test_smmu_LDADD = $(ITEST_LDADD)
EXTRA_DIST += \
	tests/integration/run-in-guest.sh \
	tests/integration/cli-checks.sh \
	tests/integration/private-bus.sh \
	tests/integration/unplug.sh \
	tests/integration/bind.sh \
	tests/integration/store-full.sh \
	tests/integration/bus.conf

# QEMU delegation: a real VMM (QEMU 10 from a cached Debian trixie root,
# tests/vm/trixie-root.sh) run unprivileged inside the vtd-profile VM on the
# iommufd and device fd a delegated session hands out;
# tests/integration/qemu-delegation.sh runs it, qemu-launcher is its client.
check_PROGRAMS += tests/integration/qemu-launcher
tests_integration_qemu_launcher_SOURCES = tests/integration/qemu-launcher.c
tests_integration_qemu_launcher_CFLAGS = $(TEST_CFLAGS)
tests_integration_qemu_launcher_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_qemu_launcher_LDADD = $(LIBSYSTEMD_LIBS)
EXTRA_DIST += tests/integration/qemu-delegation.sh tests/vm/trixie-root.sh

# viommud installed into a Debian guest booted with systemd (the systemd
# profile of tests/vm/run-vm.sh): bus activation, the fd store, a crash.
EXTRA_DIST += tests/integration/systemd-guest.sh tests/integration/systemd-host.sh tests/integration/systemd-lib.sh tests/vm/systemd-init.sh tests/vm/systemd-job.sh \
	tests/vm/vfio-bind.sh tests/integration/suite.sh

# The session record a restart reads back: round trip and malformed records.
check_PROGRAMS += tests/unit/test-record
TESTS += tests/unit/test-record
tests_unit_test_record_SOURCES = tests/unit/test-record.c
tests_unit_test_record_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_record_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_record_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_record_LDADD = daemon/libviommud-core.la $(CMOCKA_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)

# virtio-iommu requests as the backend reads them, on the build host.
check_PROGRAMS += tests/unit/test-virtio-iommu
TESTS += tests/unit/test-virtio-iommu
tests_unit_test_virtio_iommu_SOURCES = tests/unit/test-virtio-iommu.c
tests_unit_test_virtio_iommu_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_virtio_iommu_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_virtio_iommu_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_virtio_iommu_LDADD = daemon/libviommud-core.la $(CMOCKA_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)

check_PROGRAMS += tests/unit/test-fdstore
TESTS += tests/unit/test-fdstore
tests_unit_test_fdstore_SOURCES = tests/unit/test-fdstore.c
tests_unit_test_fdstore_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_fdstore_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_fdstore_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_fdstore_LDADD = daemon/libviommud-core.la $(CMOCKA_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)

check_PROGRAMS += tests/unit/test-journal
TESTS += tests/unit/test-journal
tests_unit_test_journal_SOURCES = tests/unit/test-journal.c
tests_unit_test_journal_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_journal_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_journal_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_unit_test_journal_LDADD = daemon/libviommud-core.la $(CMOCKA_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)
EXTRA_DIST += tests/data/record-sample.json

# The daemon's handlers and model on the build host, against a fake kernel
# linked in place of libviommu's ioctl wrappers.
check_PROGRAMS += tests/unit/test-model
TESTS += tests/unit/test-model
tests_unit_test_model_SOURCES = tests/unit/test-model.c
tests_unit_test_model_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_model_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_test_model_LDFLAGS = $(LDFLAGS_NO_INSTALL) \
	$(patsubst %,-Wl$(comma)--wrap=%,viommu_ioas_alloc viommu_hwpt_alloc viommu_destroy \
		viommu_ioas_map_file viommu_ioas_copy viommu_ioas_unmap viommu_hwpt_invalidate fstat)
tests_unit_test_model_LDADD = daemon/libviommud-core.la $(CMOCKA_LIBS) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)

# How fast viommud.conf is read at 1 MiB of rules and with drop-ins; run by
# hand (tests/bench/bench-config [-s MIB] [-r RUNS]).
check_PROGRAMS += tests/bench/bench-config
tests_bench_bench_config_SOURCES = tests/bench/bench-config.c
tests_bench_bench_config_CFLAGS = $(TEST_CFLAGS)
tests_bench_bench_config_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_bench_bench_config_LDADD = daemon/libviommud-config.la $(JSONC_LIBS)

# What crash safety costs: the journal's recording, memory and take-over at
# a million mappings (tests/bench/bench-journal [-n MAPPINGS]).
check_PROGRAMS += tests/bench/bench-journal
tests_bench_bench_journal_SOURCES = tests/bench/bench-journal.c
tests_bench_bench_journal_CPPFLAGS = $(TEST_CPPFLAGS)
tests_bench_bench_journal_CFLAGS = $(TEST_CFLAGS)
tests_bench_bench_journal_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_bench_bench_journal_LDADD = daemon/libviommud-core.la $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)

# viommud --check-config, on good, bad and missing files.
TESTS += tests/unit/test-check-config.sh
EXTRA_DIST += tests/unit/test-check-config.sh

# What "make install" puts in place, and a program built on it through
# pkg-config.
TESTS += tests/unit/test-install.sh
EXTRA_DIST += tests/unit/test-install.sh
AM_TESTS_ENVIRONMENT = MAKE='$(MAKE)' CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' SAN_CFLAGS='$(SAN_CFLAGS)' \
	GDBUS_CODEGEN='$(GDBUS_CODEGEN)' GIO_CFLAGS='$(GIO_CFLAGS)' GIO_LIBS='$(GIO_LIBS)'; \
	export MAKE CC PKG_CONFIG SAN_CFLAGS GDBUS_CODEGEN GIO_CFLAGS GIO_LIBS;

# gdbus-codegen makes working bindings from each installed interface file.
TESTS += tests/unit/test-gdbus-codegen.sh
EXTRA_DIST += tests/unit/test-gdbus-codegen.sh tests/unit/installed-lib.sh

# run-all and run-main-job after an in-tree ./configure.
TESTS += tests/unit/test-refuse-in-tree.sh
EXTRA_DIST += tests/unit/test-refuse-in-tree.sh tests/refuse-in-tree.sh tests/run-all tests/vm/run-main-job

# viommuctl's bash completion: verbs, options, columns, names; nothing that
# changes state is run.
TESTS += tests/unit/test-completion.sh
EXTRA_DIST += tests/unit/test-completion.sh

# viommud exits 2 on a wrong command line.
TESTS += tests/unit/test-viommud-usage.sh
EXTRA_DIST += tests/unit/test-viommud-usage.sh

# The unit's exposure in systemd-analyze security stays at most 2.5.
TESTS += tests/unit/test-unit-security.sh
EXTRA_DIST += tests/unit/test-unit-security.sh

# viommud that cannot start exits with its reason, not a crash.
TESTS += tests/unit/test-startup-failure.sh
EXTRA_DIST += tests/unit/test-startup-failure.sh

# The arm64 test VM's IORT patcher (tests/vm/smmu-iort.sh), on made-up tables.
TESTS += tests/vm/test_iort_canwbs.py
EXTRA_DIST += tests/vm/test_iort_canwbs.py tests/vm/iort_canwbs.py

# tests/summarize, which counts run-all's results, on logs of broken runs.
TESTS += tests/unit/test-summarize.sh
EXTRA_DIST += tests/unit/test-summarize.sh tests/summarize tests/vm/markers.sh

# Fuzz targets for what the daemon reads from files (tests/fuzz/fuzz.h).
# make check runs each over its corpus, tests/fuzz/corpus/NAME/; configured
# with --enable-libfuzzer they link libFuzzer instead, for
# tests/fuzz/run-fuzzers.
FUZZ_TARGETS = tests/fuzz/fuzz-config tests/fuzz/fuzz-record tests/fuzz/fuzz-journal tests/fuzz/fuzz-mapping-index
check_PROGRAMS += $(FUZZ_TARGETS)
if ENABLE_LIBFUZZER
FUZZ_DRIVER =
FUZZ_LINK_FLAGS = $(LDFLAGS_NO_INSTALL) -fsanitize=fuzzer
else
FUZZ_DRIVER = tests/fuzz/fuzz-main.c
FUZZ_LINK_FLAGS = $(LDFLAGS_NO_INSTALL)
TESTS += $(FUZZ_TARGETS)
endif
FUZZ_CORPUS = $(abs_top_srcdir)/tests/fuzz/corpus
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz-config.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_config_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_CORPUS=\"$(FUZZ_CORPUS)/config\"
tests_fuzz_fuzz_config_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_config_LDADD = daemon/libviommud-config.la $(JSONC_LIBS)
tests_fuzz_fuzz_record_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz-record.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_record_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_CORPUS=\"$(FUZZ_CORPUS)/record\"
tests_fuzz_fuzz_record_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_fuzz_record_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_record_LDADD = daemon/libviommud-core.la $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)
tests_fuzz_fuzz_journal_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz-journal.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_journal_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_CORPUS=\"$(FUZZ_CORPUS)/journal\"
tests_fuzz_fuzz_journal_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_fuzz_journal_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_journal_LDADD = daemon/libviommud-core.la $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)
tests_fuzz_fuzz_mapping_index_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz-mapping-index.c $(FUZZ_DRIVER)
tests_fuzz_fuzz_mapping_index_CPPFLAGS = $(TEST_CPPFLAGS) -DFUZZ_CORPUS=\"$(FUZZ_CORPUS)/mapping-index\"
tests_fuzz_fuzz_mapping_index_CFLAGS = $(TEST_CFLAGS)
tests_fuzz_fuzz_mapping_index_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_mapping_index_LDADD = lib/libviommu-internal.la $(JSONC_LIBS)
EXTRA_DIST += tests/fuzz/run-fuzzers tests/fuzz/corpus

# A stand-in for systemd's fd store (sd_notify FDSTORE=1, LISTEN_FDS on
# restart), under which the test VM, not booted by systemd, restarts viommud.
check_PROGRAMS += tests/integration/fdstore-harness
tests_integration_fdstore_harness_SOURCES = tests/integration/fdstore-harness.c
tests_integration_fdstore_harness_CFLAGS = $(TEST_CFLAGS)
tests_integration_fdstore_harness_LDFLAGS = $(LDFLAGS_NO_INSTALL)
tests_integration_fdstore_harness_LDADD = $(LIBSYSTEMD_LIBS)

# The example configuration installed with the documentation is valid.
TESTS += tests/unit/test-example-config.sh
EXTRA_DIST += tests/unit/test-example-config.sh

# org.viommu1(5) lists what the installed interface files and the daemon's
# error table have, and nothing else.
TESTS += tests/unit/test-dbus-page.sh
EXTRA_DIST += tests/unit/test-dbus-page.sh

# No identifier is hyphenated across lines in a rendered page.
TESTS += tests/unit/test-man-hyphenation.sh
EXTRA_DIST += tests/unit/test-man-hyphenation.sh
