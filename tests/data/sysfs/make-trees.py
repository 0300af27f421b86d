#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the sysfs trees under tests/data/sysfs/.

Each tree holds only what libviommu's topology code reads, in the formats the
kernel writes (see README.md). Run it from anywhere; it replaces the trees next
to itself. Regenerate the golden JSON files afterwards:
    VIOMMU_UPDATE_GOLDEN=1 make check TESTS=tests/unit/test-topology
"""

import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class Tree:
    def __init__(self, name):
        self.root = os.path.join(HERE, name)
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)

    def _path(self, p):
        full = os.path.join(self.root, p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        return full

    def file(self, p, content, mode=0o644):
        full = self._path(p)
        with open(full, 'wb') as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        os.chmod(full, mode)

    def link(self, p, target):
        """A relative symlink at p to target, both below the root, as sysfs makes them."""
        full = self._path(p)
        rel = os.path.relpath(os.path.join(self.root, target), os.path.dirname(full))
        os.symlink(rel, full)


# ---------------------------------------------------------------- PCI config

def ext_cap(cap_id, payload, version=1):
    return (cap_id, version, payload)


def ats(queue_depth=0, page_aligned=True, enabled=False, stu=0):
    cap = queue_depth | (0x20 if page_aligned else 0)
    ctrl = (0x8000 if enabled else 0) | stu
    return ext_cap(0x0f, struct.pack('<HH', cap, ctrl))


def pri(max_requests, enabled=False):
    return ext_cap(0x13, struct.pack('<HHII', 1 if enabled else 0, 0x0100, max_requests, 0))


def pasid(width, exec_=False, priv=False, enabled=False):
    cap = (0x2 if exec_ else 0) | (0x4 if priv else 0) | (width << 8)
    return ext_cap(0x1b, struct.pack('<HH', cap, 1 if enabled else 0))


def aer():
    return ext_cap(0x01, bytes(0x44), version=2)


def dsn(serial):
    return ext_cap(0x03, struct.pack('<Q', serial))


def ari():
    return ext_cap(0x0e, bytes(4))


def sriov():
    return ext_cap(0x10, bytes(0x3c))


def l1ss():
    return ext_cap(0x1e, bytes(8))


def config(vendor, device, cls, rev, subv=0, subd=0, bridge=False, multifunction=False,
           secondary=0, size=4096, ext=()):
    """Config space: the header, a PM -> MSI -> PCIe capability chain on PCIe
    devices, and extended capabilities one after another from 0x100."""
    c = bytearray(size)
    struct.pack_into('<HHHH', c, 0, vendor, device, 0x0406, 0x0010)
    struct.pack_into('<I', c, 8, rev | cls << 8)
    c[0x0e] = (1 if bridge else 0) | (0x80 if multifunction else 0)
    if bridge:
        c[0x18:0x1b] = bytes([0, secondary, secondary])
    else:
        struct.pack_into('<HH', c, 0x2c, subv, subd)
    c[0x34] = 0x40
    c[0x3d] = 1
    struct.pack_into('<BBH', c, 0x40, 0x01, 0x50, 0x0003)          # power management
    struct.pack_into('<BBH', c, 0x50, 0x05, 0x70 if size > 256 else 0, 0x0080)  # MSI
    if size > 256:
        ptype = 0x4 if bridge else 0x0                              # root port or endpoint
        struct.pack_into('<BBH', c, 0x70, 0x10, 0x00, 0x0002 | ptype << 4)
        off = 0x100
        for i, (cap_id, version, payload) in enumerate(ext):
            length = (4 + len(payload) + 7) & ~7
            nxt = off + length if i + 1 < len(ext) else 0
            struct.pack_into('<I', c, off, cap_id | version << 16 | nxt << 20)
            c[off + 4:off + 4 + len(payload)] = payload
            off += length
    return bytes(c)


# ------------------------------------------------------------------- objects

def pci_device(t, devpath, vendor, device, cls, rev, subv=0, subd=0, driver=None, group=None,
               iommu=None, cfg=None, vfio=None):
    bdf = os.path.basename(devpath)
    t.file(f'{devpath}/vendor', f'0x{vendor:04x}\n')
    t.file(f'{devpath}/device', f'0x{device:04x}\n')
    t.file(f'{devpath}/subsystem_vendor', f'0x{subv:04x}\n')
    t.file(f'{devpath}/subsystem_device', f'0x{subd:04x}\n')
    t.file(f'{devpath}/class', f'0x{cls:06x}\n')
    t.file(f'{devpath}/revision', f'0x{rev:02x}\n')
    t.file(f'{devpath}/driver_override', '(null)\n')
    modalias = (f'pci:v{vendor:08X}d{device:08X}sv{subv:08X}sd{subd:08X}'
                f'bc{cls >> 16:02X}sc{cls >> 8 & 0xff:02X}i{cls & 0xff:02X}')
    t.file(f'{devpath}/modalias', modalias + '\n')
    uevent = ''
    if driver:
        uevent += f'DRIVER={driver}\n'
    uevent += (f'PCI_CLASS={cls:04X}\nPCI_ID={vendor:04X}:{device:04X}\n'
               f'PCI_SUBSYS_ID={subv:04X}:{subd:04X}\nPCI_SLOT_NAME={bdf}\nMODALIAS={modalias}\n')
    t.file(f'{devpath}/uevent', uevent)
    t.file(f'{devpath}/config', cfg, mode=0o644)
    t.link(f'{devpath}/subsystem', 'bus/pci')
    t.link(f'bus/pci/devices/{bdf}', devpath)
    if driver:
        t.link(f'{devpath}/driver', f'bus/pci/drivers/{driver}')
        t.link(f'bus/pci/drivers/{driver}/{bdf}', devpath)
    if group is not None:
        t.link(f'{devpath}/iommu_group', f'kernel/iommu_groups/{group}')
        t.link(f'kernel/iommu_groups/{group}/devices/{bdf}', devpath)
    if iommu:
        t.link(f'{devpath}/iommu', iommu)
        t.link(f'{iommu}/devices/{bdf}', devpath)
    if vfio:
        name, major, minor = vfio
        node = f'{devpath}/vfio-dev/{name}'
        t.file(f'{node}/dev', f'{major}:{minor}\n')
        t.file(f'{node}/uevent', f'MAJOR={major}\nMINOR={minor}\nDEVNAME=vfio/devices/{name}\n')
        t.link(f'{node}/subsystem', 'class/vfio-dev')
        t.link(f'{node}/device', devpath)
        t.link(f'class/vfio-dev/{name}', node)


def platform_device(t, devpath, modalias, driver=None, group=None, iommu=None):
    name = os.path.basename(devpath)
    uevent = (f'DRIVER={driver}\n' if driver else '') + f'MODALIAS={modalias}\n'
    t.file(f'{devpath}/uevent', uevent)
    t.file(f'{devpath}/modalias', modalias + '\n')
    t.file(f'{devpath}/driver_override', '(null)\n')
    t.link(f'{devpath}/subsystem', 'bus/platform')
    t.link(f'bus/platform/devices/{name}', devpath)
    if driver:
        t.link(f'{devpath}/driver', f'bus/platform/drivers/{driver}')
        t.link(f'bus/platform/drivers/{driver}/{name}', devpath)
    if group is not None:
        t.link(f'{devpath}/iommu_group', f'kernel/iommu_groups/{group}')
        t.link(f'kernel/iommu_groups/{group}/devices/{name}', devpath)
    if iommu:
        t.link(f'{devpath}/iommu', iommu)
        t.link(f'{iommu}/devices/{name}', devpath)


def iommu_unit(t, devpath, parent=None, attrs=None):
    name = os.path.basename(devpath)
    t.file(f'{devpath}/uevent', '')
    t.link(f'{devpath}/subsystem', 'class/iommu')
    t.link(f'class/iommu/{name}', devpath)
    if parent:
        t.link(f'{devpath}/device', parent)
    for group, files in (attrs or {}).items():
        for f, v in files.items():
            t.file(f'{devpath}/{group}/{f}', v + '\n', mode=0o444)


def group(t, n, type_, regions):
    t.file(f'kernel/iommu_groups/{n}/type', type_ + '\n')
    t.file(f'kernel/iommu_groups/{n}/reserved_regions',
           ''.join(f'0x{s:016x} 0x{e:016x} {k}\n' for s, e, k in regions), mode=0o444)


# --------------------------------------------------------------------- trees

X86_MSI = (0xfee00000, 0xfeefffff, 'msi')


def vtd_host():
    """An Alder Lake-S desktop with VT-d on (intel_iommu=on,sm_on): a graphics
    unit and a unit for everything else, an E810 NIC given to vfio-pci."""
    t = Tree('vtd-host')
    dmar0, dmar1 = 'devices/virtual/iommu/dmar0', 'devices/virtual/iommu/dmar1'
    iommu_unit(t, dmar0, attrs={'intel-iommu': {
        'version': '1:0', 'address': 'fed90000', 'cap': '1c0000c40660462',
        'ecap': '1cf9820f0505e', 'domains_supported': '256', 'domains_used': '2'}})
    iommu_unit(t, dmar1, attrs={'intel-iommu': {
        'version': '1:0', 'address': 'fed91000', 'cap': '9d2008c40660462',
        'ecap': '3ef9824f0505e', 'domains_supported': '256', 'domains_used': '9'}})

    group(t, 0, 'DMA', [(0x7c000000, 0x7fffffff, 'direct-relaxable'), X86_MSI])
    group(t, 1, 'DMA', [X86_MSI])
    group(t, 2, 'DMA', [X86_MSI])
    group(t, 3, 'DMA', [X86_MSI])
    group(t, 4, 'DMA', [(0x6e9f0000, 0x6ea0ffff, 'direct-relaxable'), X86_MSI])
    group(t, 5, 'DMA', [(0x6f000000, 0x6f7fffff, 'direct'), X86_MSI])
    group(t, 6, 'DMA', [X86_MSI])
    group(t, 7, 'DMA', [X86_MSI])
    group(t, 8, 'DMA', [X86_MSI])

    root = 'devices/pci0000:00'
    t.file(f'{root}/uevent', '')
    asus = dict(subv=0x1043, subd=0x8882)

    def dev(bdf, vendor, device, cls, rev, driver, grp, iommu, ext=(), size=4096, parent=root,
            bridge=False, secondary=0, mf=False, vfio=None, sub=asus):
        cfg = config(vendor, device, cls, rev, bridge=bridge, secondary=secondary,
                     multifunction=mf, size=size, ext=ext, **({} if bridge else sub))
        pci_device(t, f'{parent}/{bdf}', vendor, device, cls, rev, driver=driver, group=grp,
                   iommu=iommu, cfg=cfg, vfio=vfio, **({} if bridge else sub))

    dev('0000:00:00.0', 0x8086, 0x4660, 0x060000, 0x02, None, 1, dmar1)
    dev('0000:00:01.0', 0x8086, 0x460d, 0x060400, 0x02, 'pcieport', 2, dmar1,
        bridge=True, secondary=1, ext=[aer(), ext_cap(0x19, bytes(0x0c + 2 * 16))])
    dev('0000:00:02.0', 0x8086, 0x4680, 0x030000, 0x0c, 'i915', 0, dmar0,
        ext=[pasid(14), ats(page_aligned=True), pri(0x8000)])
    dev('0000:00:06.0', 0x8086, 0x464d, 0x060400, 0x02, 'pcieport', 3, dmar1,
        bridge=True, secondary=2, ext=[aer(), l1ss()])
    dev('0000:00:14.0', 0x8086, 0x7ae0, 0x0c0330, 0x11, 'xhci_hcd', 4, dmar1, mf=True)
    dev('0000:00:14.2', 0x8086, 0x7aa7, 0x050000, 0x11, None, 4, dmar1)
    dev('0000:00:17.0', 0x8086, 0x7ae2, 0x010601, 0x11, 'ahci', 5, dmar1)
    dev('0000:00:1f.0', 0x8086, 0x7a86, 0x060100, 0x11, None, 6, dmar1, size=256, mf=True)
    dev('0000:00:1f.3', 0x8086, 0x7ad0, 0x040300, 0x11, 'snd_hda_intel', 6, dmar1, size=256)
    dev('0000:00:1f.4', 0x8086, 0x7aa3, 0x0c0500, 0x11, 'i801_smbus', 6, dmar1, size=256)
    dev('0000:00:1f.5', 0x8086, 0x7aa4, 0x0c8000, 0x11, 'intel-spi', 6, dmar1, size=256)
    dev('0000:01:00.0', 0x8086, 0x1592, 0x020000, 0x02, 'vfio-pci', 7, dmar1,
        parent=f'{root}/0000:00:01.0', sub=dict(subv=0x8086, subd=0x0002),
        ext=[aer(), ari(), dsn(0x40a6b7ffff1e2d30), sriov(), ats(page_aligned=True)],
        vfio=('vfio0', 237, 0))
    dev('0000:02:00.0', 0x144d, 0xa80a, 0x010802, 0x00, 'nvme', 8, dmar1,
        parent=f'{root}/0000:00:06.0', sub=dict(subv=0x144d, subd=0xa801),
        ext=[aer(), dsn(0x2538b611c1a2), l1ss()])


ARM_SW_MSI = (0x08000000, 0x080fffff, 'msi')


def smmuv3_host():
    """An Arm server booted with ACPI (IORT): one SMMUv3 in front of the PCIe
    root complex, one in front of platform DMA masters (SAS, network)."""
    t = Tree('smmuv3-host')
    smmu0_parent = 'devices/platform/arm-smmu-v3.0.auto'
    smmu1_parent = 'devices/platform/arm-smmu-v3.1.auto'
    smmu0 = f'{smmu0_parent}/iommu/smmu3.0x0000000148000000'
    smmu1 = f'{smmu1_parent}/iommu/smmu3.0x00000000a0040000'
    for p in (smmu0_parent, smmu1_parent):
        platform_device(t, p, 'platform:arm-smmu-v3', driver='arm-smmu-v3')
    iommu_unit(t, smmu0, parent=smmu0_parent)
    iommu_unit(t, smmu1, parent=smmu1_parent)

    group(t, 0, 'DMA', [ARM_SW_MSI])
    group(t, 1, 'DMA', [ARM_SW_MSI])
    group(t, 2, 'DMA-FQ', [ARM_SW_MSI])
    group(t, 3, 'DMA-FQ', [ARM_SW_MSI])
    group(t, 4, 'DMA-FQ', [ARM_SW_MSI])
    group(t, 5, 'DMA', [ARM_SW_MSI])

    platform_device(t, 'devices/platform/HISI0162:01', 'acpi:HISI0162:', driver='hisi_sas_v2_hw',
                    group=0, iommu=smmu1)
    platform_device(t, 'devices/platform/HISI00B2:00', 'acpi:HISI00B2:', driver='hns_dsaf',
                    group=1, iommu=smmu1)

    root = 'devices/pci0000:00'
    t.file(f'{root}/uevent', '')
    for bdf, grp, sec in (('0000:00:00.0', 3, 1), ('0000:00:08.0', 4, 2)):
        pci_device(t, f'{root}/{bdf}', 0x19e5, 0xa120, 0x060400, 0x21, driver='pcieport',
                   group=grp, iommu=smmu0,
                   cfg=config(0x19e5, 0xa120, 0x060400, 0x21, bridge=True, secondary=sec,
                              ext=[aer(), ari()]))
    for fn in (0, 1):
        bdf = f'0000:01:00.{fn}'
        pci_device(t, f'{root}/0000:00:00.0/{bdf}', 0x15b3, 0x1017, 0x020000, 0x00,
                   subv=0x15b3, subd=0x0007, driver='mlx5_core', group=2, iommu=smmu0,
                   cfg=config(0x15b3, 0x1017, 0x020000, 0x00, 0x15b3, 0x0007, multifunction=True,
                              ext=[aer(), dsn(0x98039b03006c4a10), ari(), sriov(), ats(queue_depth=0, page_aligned=False)]))
    pci_device(t, f'{root}/0000:00:08.0/0000:02:00.0', 0x8086, 0x0a54, 0x010802, 0x00,
               subv=0x8086, subd=0x4702, driver='vfio-pci', group=5, iommu=smmu0,
               cfg=config(0x8086, 0x0a54, 0x010802, 0x00, 0x8086, 0x4702, ext=[aer(), dsn(0x55cd2e414f2b0a8c)]),
               vfio=('vfio0', 511, 0))


def mock_host():
    """The test VM of the mock profile: no IOMMU but the iommufd test driver's,
    with two mock devices a test created; the VM's own PCI devices have no group."""
    t = Tree('mock-host')
    parent = 'devices/platform/iommufd_selftest_iommu.0'
    unit = f'{parent}/iommu/iommufd_selftest_iommu.0'
    platform_device(t, parent, 'platform:iommufd_selftest_iommu')
    iommu_unit(t, unit, parent=parent)

    for n in (0, 1):
        dev = f'devices/iommufd_mock{n}'
        t.file(f'{dev}/uevent', '')
        t.link(f'{dev}/subsystem', 'bus/iommufd_mock')
        t.link(f'bus/iommufd_mock/devices/iommufd_mock{n}', dev)
        t.link(f'{dev}/iommu_group', f'kernel/iommu_groups/{n}')
        t.link(f'kernel/iommu_groups/{n}/devices/iommufd_mock{n}', dev)
        t.link(f'{dev}/iommu', unit)
        t.link(f'{unit}/devices/iommufd_mock{n}', dev)
        group(t, n, 'blocked', [])

    root = 'devices/pci0000:00'
    t.file(f'{root}/uevent', '')
    qemu = dict(subv=0x1af4, subd=0x1100)
    for bdf, vendor, device, cls, rev, driver, sub in (
            ('0000:00:00.0', 0x8086, 0x1237, 0x060000, 0x02, None, qemu),
            ('0000:00:01.0', 0x8086, 0x7000, 0x060100, 0x00, None, qemu),
            ('0000:00:01.1', 0x8086, 0x7010, 0x010180, 0x00, 'ata_piix', qemu),
            ('0000:00:01.3', 0x8086, 0x7113, 0x068000, 0x03, 'piix4_smbus', qemu),
            ('0000:00:02.0', 0x1af4, 0x1009, 0x000200, 0x00, 'virtio-pci', dict(subv=0x1af4, subd=0x0009))):
        pci_device(t, f'{root}/{bdf}', vendor, device, cls, rev, driver=driver,
                   cfg=config(vendor, device, cls, rev, size=256, **sub), **sub)


if __name__ == '__main__':
    vtd_host()
    smmuv3_host()
    mock_host()
    sys.exit(0)
