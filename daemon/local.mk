# viommud.conf(5): a library of its own, which its unit test, fuzzer and
# benchmark link without the rest of the daemon (and without sd-bus).
noinst_LTLIBRARIES += daemon/libviommud-config.la
daemon_libviommud_config_la_SOURCES = \
	daemon/config.h \
	daemon/config.c \
	daemon/config-diff.c \
	daemon/config-match.c \
	daemon/json-strict.h \
	daemon/json-strict.c
daemon_libviommud_config_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
daemon_libviommud_config_la_LIBADD = lib/libviommu-internal.la $(JSONC_LIBS)

# viommud: the D-Bus daemon. Everything but main() is a convenience library
# that the daemon, the unit tests, the fuzzers and the benchmarks link.
noinst_LTLIBRARIES += daemon/libviommud-core.la
daemon_libviommud_core_la_SOURCES = \
	daemon/daemon.h \
	daemon/log.h \
	daemon/log.c \
	daemon/bus-errors.h \
	daemon/bus-errors.c \
	daemon/bus-signals.h \
	daemon/bus-signals.c \
	daemon/subscribers.h \
	daemon/subscribers.c \
	daemon/bus-util.h \
	daemon/bus-util.c \
	daemon/session.h \
	daemon/session.c \
	daemon/entry-pool.h \
	daemon/entry-pool.c \
	daemon/object-json.h \
	daemon/object-json.c \
	daemon/kernel-names.h \
	daemon/kernel-names.c \
	daemon/device.h \
	daemon/device.c \
	daemon/pci-bind.h \
	daemon/pci-bind.c \
	daemon/binding.h \
	daemon/binding.c \
	daemon/ioas.h \
	daemon/ioas.c \
	daemon/dma.c \
	daemon/lease.h \
	daemon/lease.c \
	daemon/guest-memory.h \
	daemon/guest-memory.c \
	daemon/virtio-iommu.h \
	daemon/virtio-iommu.c \
	daemon/memory-fd.h \
	daemon/memory-fd.c \
	daemon/hwpt.h \
	daemon/hwpt.c \
	daemon/viommu-object.h \
	daemon/viommu-object.c \
	daemon/smmuv3-data.h \
	daemon/smmuv3-data.c \
	daemon/record.h \
	daemon/record.c \
	daemon/journal.h \
	daemon/journal-format.h \
	daemon/journal.c \
	daemon/journal-read.c \
	daemon/reconcile.h \
	daemon/reconcile.c \
	daemon/notify.h \
	daemon/notify.c \
	daemon/thread-job.h \
	daemon/thread-job.c \
	daemon/fdstore.h \
	daemon/fdstore.c \
	daemon/restart.h \
	daemon/restart.c \
	daemon/session-dbus.h \
	daemon/session-dbus.c \
	daemon/manager-dbus.c \
	daemon/device-dbus.c \
	daemon/object-dbus.h \
	daemon/object-dbus.c \
	daemon/ioas-dbus.h \
	daemon/ioas-dbus.c \
	daemon/invalidate.h \
	daemon/hwpt-dbus.c \
	daemon/viommu-dbus.c \
	daemon/channel.h \
	daemon/channel.c \
	daemon/frame-channel.h \
	daemon/frame-channel.c \
	daemon/hotplug.h \
	daemon/hotplug.c \
	daemon/describe.h \
	daemon/describe.c \
	daemon/auth.h \
	daemon/auth.c \
	daemon/caller-unit.h \
	daemon/caller-unit.c \
	daemon/caller-uid.h \
	daemon/caller-uid.c \
	daemon/user-groups.h \
	daemon/user-groups.c
daemon_libviommud_core_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
daemon_libviommud_core_la_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS) $(LIBUDEV_CFLAGS) $(JSONC_CFLAGS)
daemon_libviommud_core_la_LIBADD = daemon/libviommud-config.la lib/libviommu.la lib/libviommu-internal.la \
	$(LIBSYSTEMD_LIBS) $(LIBUDEV_LIBS) $(JSONC_LIBS)
# Mock devices and org.viommu1.Testing exist only in builds for the tests.
if ENABLE_TEST_HOOKS
daemon_libviommud_core_la_SOURCES += daemon/mock-device.c daemon/testing-dbus.c
daemon_libviommud_core_la_LIBADD += lib/mock/libviommu-mock.la
endif

sbin_PROGRAMS += daemon/viommud
daemon_viommud_SOURCES = daemon/viommud.c
daemon_viommud_CPPFLAGS = $(daemon_libviommud_core_la_CPPFLAGS)
daemon_viommud_CFLAGS = $(daemon_libviommud_core_la_CFLAGS)
daemon_viommud_LDADD = daemon/libviommud-core.la $(LIBSYSTEMD_LIBS) $(LIBUDEV_LIBS) $(JSONC_LIBS)
