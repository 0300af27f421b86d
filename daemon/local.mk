# viommud.conf(5), built also into its unit test and fuzzer.
CONFIG_SOURCES = \
	daemon/config.h \
	daemon/config.c \
	daemon/config-diff.c \
	daemon/json-strict.h \
	daemon/json-strict.c

# viommud: the D-Bus daemon.
sbin_PROGRAMS += daemon/viommud
daemon_viommud_SOURCES = \
	daemon/viommud.c \
	daemon/daemon.h \
	daemon/log.h \
	daemon/bus-errors.h \
	daemon/bus-errors.c \
	daemon/bus-util.h \
	daemon/bus-util.c \
	daemon/session.h \
	daemon/session.c \
	daemon/record.h \
	daemon/record.c \
	daemon/fdstore.h \
	daemon/fdstore.c \
	daemon/restart.h \
	daemon/restart.c \
	daemon/session-dbus.h \
	daemon/session-dbus.c \
	daemon/manager-dbus.c \
	daemon/device-dbus.c \
	daemon/object-dbus.c \
	daemon/ioas-dbus.c \
	daemon/invalidate.h \
	daemon/hwpt-dbus.c \
	daemon/viommu-dbus.c \
	daemon/testing-dbus.c \
	daemon/channel.h \
	daemon/channel.c \
	daemon/hotplug.h \
	daemon/hotplug.c \
	daemon/describe.h \
	daemon/describe.c \
	daemon/auth.h \
	daemon/auth.c \
	daemon/caller-unit.h \
	daemon/caller-unit.c \
	$(CONFIG_SOURCES)
daemon_viommud_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
daemon_viommud_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS) $(LIBUDEV_CFLAGS) $(JSONC_CFLAGS)
daemon_viommud_LDADD = lib/libviommu.la lib/libviommu-internal.la lib/mock/libviommu-mock.la \
	$(LIBSYSTEMD_LIBS) $(LIBUDEV_LIBS) $(JSONC_LIBS)
