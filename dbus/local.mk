# Bus policy, activation, systemd unit, polkit actions.
dbuspolicy_DATA = dbus/org.viommu1.conf
dbussystemservice_DATA = dbus/org.viommu1.service
systemdsystemunit_DATA = dbus/viommud.service
polkitaction_DATA = dbus/org.viommu1.policy
EXTRA_DIST += dbus/org.viommu1.conf dbus/org.viommu1.service.in dbus/viommud.service.in dbus/org.viommu1.policy
CLEANFILES += dbus/org.viommu1.service dbus/viommud.service

dbus/%.service: dbus/%.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) dbus && sed -e 's|@sbindir[@]|$(sbindir)|g' $< > $@
