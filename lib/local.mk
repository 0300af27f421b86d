# libviommu: the kernel-facing library.
lib_LTLIBRARIES += lib/libviommu.la
lib_libviommu_la_SOURCES = \
	lib/util.h \
	lib/json-util.h \
	lib/viommu.h \
	lib/viommu-abi.h \
	lib/abi/iommufd.h \
	lib/abi/vfio-cdev.h \
	lib/viommu-iommufd.h \
	lib/iommufd.c \
	lib/viommu-vfio.h \
	lib/vfio-cdev.c \
	lib/viommu-features.h \
	lib/features.c
lib_libviommu_la_CFLAGS = $(AM_CFLAGS) -pthread $(LIBUDEV_CFLAGS) $(JSONC_CFLAGS)
lib_libviommu_la_LIBADD = -lpthread $(LIBUDEV_LIBS) $(JSONC_LIBS)
lib_libviommu_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(LIBVIOMMU_LT_VERSION) \
	-Wl,--version-script=$(srcdir)/lib/libviommu.sym -Wl,--no-undefined
EXTRA_lib_libviommu_la_DEPENDENCIES = lib/libviommu.sym
EXTRA_DIST += lib/libviommu.sym lib/libviommu.pc.in
pkgconfig_DATA += lib/libviommu.pc
# Programs link libviommu through pkg-config, so no libtool archive is
# installed; without it libtool's uninstall cannot find the shared library's
# names, which the uninstall hook removes instead.
install-exec-hook: install-exec-no-la
uninstall-hook: uninstall-no-la
.PHONY: install-exec-no-la uninstall-no-la
install-exec-no-la:
	rm -f $(DESTDIR)$(libdir)/libviommu.la
uninstall-no-la:
	rm -f $(DESTDIR)$(libdir)/libviommu.so $(DESTDIR)$(libdir)/libviommu.so.*
viommuincludedir = $(includedir)/viommu
viommuinclude_HEADERS = \
	lib/viommu.h \
	lib/viommu-abi.h \
	lib/viommu-iommufd.h \
	lib/viommu-vfio.h \
	lib/viommu-features.h
# The frame channel's protocol (viommud's Session.OpenFrameChannel), for VMMs.
viommuinclude_HEADERS += lib/viommu-frame.h
viommuabidir = $(viommuincludedir)/abi
viommuabi_HEADERS = lib/abi/iommufd.h lib/abi/vfio-cdev.h

# Test support for the kernel's iommufd mock driver; never installed.
noinst_LTLIBRARIES += lib/mock/libviommu-mock.la
lib_mock_libviommu_mock_la_SOURCES = \
	lib/mock/iommufd-test-abi.h \
	lib/mock/viommu-mock.h \
	lib/mock/mock.c

# Small helpers every part of the tree shares (lib/util.h), compiled once.
noinst_LTLIBRARIES += lib/libviommu-util.la
lib_libviommu_util_la_SOURCES = lib/util.h lib/util.c
lib_libviommu_la_LIBADD += lib/libviommu-util.la

# Topology: IOMMU units, groups and devices, through libudev.
lib_libviommu_la_SOURCES += \
	lib/viommu-topology.h \
	lib/topology.c \
	lib/topology-json.c
viommuinclude_HEADERS += lib/viommu-topology.h

# Mapping index: the daemon's record of what each IOAS has mapped. Internal
# to the project, so a convenience library rather than libviommu's ABI.
noinst_LTLIBRARIES += lib/libviommu-internal.la
# The helpers come along, for programs that do not link libviommu, which
# keeps them private.
lib_libviommu_internal_la_SOURCES = lib/mapping-index.h lib/mapping-index.c
lib_libviommu_internal_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
lib_libviommu_internal_la_LIBADD = lib/libviommu-util.la $(JSONC_LIBS)
