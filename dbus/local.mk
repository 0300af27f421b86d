# Bus policy, activation, systemd unit, polkit actions.
dbuspolicy_DATA = dbus/org.viommu1.conf
dbussystemservice_DATA = dbus/org.viommu1.service
systemdsystemunit_DATA = dbus/viommud.service
polkitaction_DATA = dbus/org.viommu1.policy
EXTRA_DIST += dbus/org.viommu1.conf dbus/org.viommu1.service.in dbus/viommud.service.in dbus/org.viommu1.policy
CLEANFILES += dbus/org.viommu1.service dbus/viommud.service

dbus/%.service: dbus/%.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) dbus && sed -e 's|@sbindir[@]|$(sbindir)|g' $< > $@

# Introspection data, one file per interface; CI compares them with what the
# running daemon introspects (tests/integration/check-introspection.sh).
dbusinterfacesdir = $(datadir)/dbus-1/interfaces
dist_dbusinterfaces_DATA = \
	dbus/org.viommu1.Manager.xml \
	dbus/org.viommu1.Device.xml \
	dbus/org.viommu1.Session.xml \
	dbus/org.viommu1.Object.xml \
	dbus/org.viommu1.ClaimedDevice.xml \
	dbus/org.viommu1.IOAS.xml \
	dbus/org.viommu1.HWPT.xml \
	dbus/org.viommu1.VIOMMU.xml
# The interface of test-hooks builds only: shipped in the tarball for the
# tests, never installed.
EXTRA_DIST += dbus/org.viommu1.Testing.xml
