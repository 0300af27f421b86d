#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An operator's report on viommud, over the system bus with GLib's D-Bus.

    viommu-report.py            the daemon, the kernel's iommufd features,
                                the host's devices and the sessions the
                                caller may see
    viommu-report.py --probe    also opens a session, maps a page of a memfd
                                into an IOAS, looks the mapping up and closes
                                the session: a check that the daemon serves
                                this caller

Needs python3-gi. The bus API is described in org.viommu1(5).
"""

import os
import sys

from gi.repository import Gio, GLib

BUS_NAME = "org.viommu1"
MANAGER = "/org/viommu1"
IOVA = 1 << 24          # page-aligned, inside every IOMMU's aperture
MAP_FIXED_RW = 1 | 2 | 4


def call(bus, path, interface, method, args=None, reply="()", fds=None):
    result, _ = bus.call_with_unix_fd_list_sync(
        BUS_NAME, path, interface, method, args, GLib.VariantType(reply),
        Gio.DBusCallFlags.NONE, -1, fds, None)
    return result.unpack()


def prop(bus, path, interface, name):
    return call(bus, path, "org.freedesktop.DBus.Properties", "Get",
                GLib.Variant("(ss)", (interface, name)), "(v)")[0]


def report(bus):
    print(f"viommud {prop(bus, MANAGER, 'org.viommu1.Manager', 'Version')} "
          f"on Linux {prop(bus, MANAGER, 'org.viommu1.Manager', 'KernelRelease')}")
    features, = call(bus, MANAGER, "org.viommu1.Manager", "GetKernelFeatures", reply="(a(sbss))")
    missing = [f"{name} (Linux {since})" for name, present, _, since in features if not present]
    print(f"iommufd features: {len(features) - len(missing)} of {len(features)}"
          + (f"; missing: {', '.join(missing)}" if missing else ""))
    devices, = call(bus, MANAGER, "org.viommu1.Manager", "ListDevices", reply="(a(sssso))")
    for name, subsystem, driver, cdev, _ in devices:
        print(f"device {name} ({subsystem}): driver {driver or '-'}, cdev {cdev or '-'}")
    for path in prop(bus, MANAGER, "org.viommu1.Manager", "Sessions"):
        s = "org.viommu1.Session"
        print(f"session {path}: uid {prop(bus, path, s, 'UID')}, "
              f"{prop(bus, path, s, 'NObjects')} objects, {prop(bus, path, s, 'MappedBytes')} bytes mapped")


def probe(bus):
    session, = call(bus, MANAGER, "org.viommu1.Manager", "OpenSession",
                    GLib.Variant("(a{sv})", ({},)), "(o)")
    try:
        ioas, _ = call(bus, session, "org.viommu1.Session", "CreateIOAS", reply="(ou)")
        page = os.sysconf("SC_PAGE_SIZE")
        memfd = os.memfd_create("viommu-report")
        os.ftruncate(memfd, page)
        fds = Gio.UnixFDList.new_from_array([memfd])   # takes memfd
        call(bus, ioas, "org.viommu1.IOAS", "Map",
             GLib.Variant("(htttu)", (0, 0, page, IOVA, MAP_FIXED_RW)), "(t)", fds)
        iova, length, _, _ = call(bus, ioas, "org.viommu1.IOAS", "LookupIOVA",
                                  GLib.Variant("(t)", (IOVA,)), "(tttu)")
        print(f"probe: mapped {length} bytes at IOVA {iova:#x} in {ioas}")
    finally:
        call(bus, session, "org.viommu1.Session", "Close")
    print("probe: session closed")


def main():
    if len(sys.argv) > 2 or sys.argv[1:] not in ([], ["--probe"]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        bus = Gio.bus_get_sync(Gio.BusType.SYSTEM)
        report(bus)
        if sys.argv[1:] == ["--probe"]:
            probe(bus)
    except GLib.Error as e:
        name = Gio.DBusError.get_remote_error(e)
        Gio.DBusError.strip_remote_error(e)
        print(f"viommu-report: {name + ': ' if name else ''}{e.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
