# Examples for VMM authors and operators, installed with the documentation.
# vmm-client is built by make, as a VMM author builds it (libviommu's
# headers by their installed name, no config.h), and run in the VM tests; it
# is not installed as a program.
exampledir = $(docdir)/examples
dist_example_DATA = examples/vmm-client.c examples/viommud.conf examples/README
dist_example_SCRIPTS = examples/viommu-report.py
exampleconfddir = $(exampledir)/viommud.conf.d
dist_exampleconfd_DATA = examples/viommud.conf.d/50-ci.conf

noinst_PROGRAMS += examples/vmm-client
examples_vmm_client_SOURCES = examples/vmm-client.c
examples_vmm_client_CPPFLAGS = -I$(top_builddir)/examples/include
examples_vmm_client_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS)
examples_vmm_client_LDFLAGS = $(LDFLAGS_NO_INSTALL)
examples_vmm_client_LDADD = $(LIBSYSTEMD_LIBS)
# <viommu/...> as installed, from the source tree.
examples/include/viommu:
	$(AM_V_GEN)$(MKDIR_P) examples/include && ln -sfn $(abs_top_srcdir)/lib $@
$(examples_vmm_client_OBJECTS): | examples/include/viommu
CLEANFILES += examples/include/viommu
