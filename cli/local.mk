# viommuctl: the command line over viommud's D-Bus API. It speaks only D-Bus
# and JSON: no libviommu, just the shared helpers of lib/util.c.
bin_PROGRAMS += cli/viommuctl
cli_viommuctl_SOURCES = \
	cli/viommuctl.h \
	cli/viommuctl.c \
	cli/bus.c \
	cli/pager.c \
	cli/output.h \
	cli/output.c \
	cli/views.h \
	cli/views.c \
	cli/status.c \
	cli/bind.c \
	cli/features.c \
	cli/devices.c \
	cli/sessions.c \
	cli/viommus.c \
	cli/monitor.c
cli_viommuctl_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS) $(JSONC_CFLAGS) $(SMARTCOLS_CFLAGS)
cli_viommuctl_LDADD = lib/libviommu-util.la $(LIBSYSTEMD_LIBS) $(JSONC_LIBS) $(SMARTCOLS_LIBS)
dist_man1_MANS = man/viommuctl.1
# Completion for bash, where bash-completion loads it on demand.
bashcompletion_DATA = shell-completion/bash/viommuctl
EXTRA_DIST += $(bashcompletion_DATA)
