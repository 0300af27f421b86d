/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libviommu: the host's IOMMU topology as sysfs shows it, found without
 * binding any device (IOMMU_GET_HW_INFO needs a bound device; this does not).
 *
 * It covers the IOMMU units (/sys/class/iommu), the IOMMU groups with their
 * reserved regions (/sys/kernel/iommu_groups), and the devices behind them:
 * every PCI device, every device an IOMMU group or unit links to (platform
 * devices, for instance) and the mock devices of the kernel's iommufd test
 * driver. PCI devices come with their VFIO cdev and PCIe ATS/PRI/PASID
 * capabilities.
 *
 * It is read through libudev, from /sys (a umockdev testbed can stand in for
 * a host). A host without an IOMMU gives empty lists, not an error.
 *
 * Everything belongs to the struct viommu_topology it came from and lives
 * until viommu_topology_free(). Lists hold pointers, so fields can be added
 * at the end of each struct without breaking callers; never allocate these
 * structs yourself. Lists are sorted: units and non-PCI devices by name in
 * natural order, groups by number, PCI devices by domain, bus, slot,
 * function.
 *
 * What sysfs could not tell is recorded, never fatal: the object keeps the
 * fields it could read, the others are marked unknown (each field says how),
 * and a line in the object's issues says why. In JSON an unknown value is
 * null, and a value that does not exist (no driver bound, no IOMMU group) is
 * left out.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct udev_device;

enum viommu_iommu_kind {
        VIOMMU_IOMMU_KIND_UNKNOWN,
        VIOMMU_IOMMU_KIND_INTEL_VTD,
        VIOMMU_IOMMU_KIND_AMD_VI,
        VIOMMU_IOMMU_KIND_ARM_SMMU_V3,
        VIOMMU_IOMMU_KIND_ARM_SMMU,
        VIOMMU_IOMMU_KIND_VIRTIO,
        VIOMMU_IOMMU_KIND_IOMMUFD_TEST,         /* the iommufd test driver's mock IOMMU */
        _VIOMMU_IOMMU_KIND_MAX,
        _VIOMMU_IOMMU_KIND_INVALID = -EINVAL,
};

/* "intel-vtd", "amd-vi", "arm-smmu-v3", "arm-smmu", "virtio-iommu",
 * "iommufd-test", "unknown"; NULL when out of range. */
const char *viommu_iommu_kind_to_string(enum viommu_iommu_kind k);

/* Intel VT-d registers (intel-iommu/ in sysfs) and what they say. */
struct viommu_vtd_info {
        unsigned version_major;
        unsigned version_minor;
        uint64_t cap;                   /* capability register */
        uint64_t ecap;                  /* extended capability register */
        int64_t domains_supported;      /* -1 when unknown */
        int64_t domains_used;           /* -1 when unknown */

        /* Decoded from cap and ecap. */
        unsigned mgaw;                  /* maximum guest address width, bits */
        unsigned pasid_bits;            /* 0 without PASID support */
        bool caching_mode;              /* an emulated IOMMU that wants every map flushed */
        bool scalable_mode;
        bool first_level;               /* first-stage translation: guest page tables when nested */
        bool second_level;
        bool nested;
        bool dirty_tracking;            /* second-stage access/dirty bits */
        bool pasid;
        bool page_request;
        bool device_iotlb;              /* ATS */
        bool pass_through;
        bool interrupt_remapping;
};

/* AMD-Vi registers (amd-iommu/ in sysfs). */
struct viommu_amd_vi_info {
        uint32_t cap;                   /* capability header */
        uint64_t efr;                   /* extended feature register */
        uint64_t efr2;                  /* extended feature register 2; 0 when the kernel shows none */
};

struct viommu_topology_iommu {
        char *name;                     /* as in /sys/class/iommu: "dmar0", "smmu3.0x0000000009050000" */
        char *devpath;                  /* below /sys: "/devices/virtual/iommu/dmar0" */
        enum viommu_iommu_kind kind;
        char *parent;                   /* the device that registered it ("arm-smmu-v3.0.auto"); NULL when none */
        char *parent_driver;            /* that device's driver; NULL when none */
        bool has_address;
        uint64_t address;               /* register base: VT-d "address", SMMU name */
        char **devices;                 /* names of the devices behind it, sorted */
        size_t n_devices;
        bool has_vtd;
        struct viommu_vtd_info vtd;
        bool has_amd_vi;
        struct viommu_amd_vi_info amd_vi;
        char **issues;
        size_t n_issues;
};

enum viommu_region_type {
        VIOMMU_REGION_DIRECT,           /* identity mapped, must stay so */
        VIOMMU_REGION_DIRECT_RELAXABLE, /* identity mapped, may go when a VMM takes the device */
        VIOMMU_REGION_RESERVED,         /* must not be mapped */
        VIOMMU_REGION_MSI,              /* MSI doorbells, hardware or software mapped */
        VIOMMU_REGION_UNKNOWN,          /* a type newer than this library */
        _VIOMMU_REGION_TYPE_MAX,
        _VIOMMU_REGION_TYPE_INVALID = -EINVAL,
};

/* The kernel's names: "direct", "direct-relaxable", "reserved", "msi";
 * "unknown" for VIOMMU_REGION_UNKNOWN. */
const char *viommu_region_type_to_string(enum viommu_region_type t);
/* Unknown names give VIOMMU_REGION_UNKNOWN, NULL gives -EINVAL. */
enum viommu_region_type viommu_region_type_from_string(const char *s);

struct viommu_reserved_region {
        uint64_t start;
        uint64_t end;                   /* inclusive, as sysfs shows it */
        enum viommu_region_type type;
};

struct viommu_topology_group {
        unsigned id;
        char *type;                     /* default domain: "DMA", "DMA-FQ", "identity", "blocked",
                                         * "unmanaged", "unknown"; NULL when unreadable */
        char *name;                     /* the optional "name" attribute; NULL when absent */
        char **devices;                 /* names of its devices, sorted */
        size_t n_devices;
        bool regions_known;             /* false when reserved_regions was missing or malformed */
        struct viommu_reserved_region *regions;
        size_t n_regions;
        char **issues;
        size_t n_issues;
};

/* PCIe extended capabilities that matter to an IOMMU user. */
struct viommu_pcie_caps {
        bool known;                     /* false when config space past 256 bytes was unreadable */
        bool ats;
        bool ats_enabled;
        bool ats_page_aligned;
        unsigned ats_queue_depth;       /* invalidate queue depth */
        bool pri;
        bool pri_enabled;
        uint32_t pri_max_requests;      /* outstanding page request capacity */
        bool pasid;
        bool pasid_enabled;
        bool pasid_exec;
        bool pasid_privileged;
        unsigned pasid_width;           /* bits */
};

struct viommu_pci_info {
        uint32_t domain;
        uint8_t bus;
        uint8_t slot;
        uint8_t function;
        /* -1 when unreadable. */
        int32_t vendor;
        int32_t device;
        int32_t subsystem_vendor;
        int32_t subsystem_device;
        int32_t class_code;             /* base class, subclass, programming interface */
        int32_t revision;
        /* From the udev hardware database; NULL when it has none. */
        char *vendor_name;
        char *device_name;
        struct viommu_pcie_caps caps;
};

/* viommu_topology_device.iommu_group when it is not a group number. */
enum {
        VIOMMU_TOPOLOGY_NO_GROUP = -1,          /* not behind an IOMMU */
        VIOMMU_TOPOLOGY_GROUP_UNKNOWN = -2,     /* sysfs could not tell, see issues */
};

struct viommu_topology_device {
        char *name;                     /* the BDF for PCI ("0000:01:00.0"), else the kernel's name */
        char *bus;                      /* "pci", "platform", "iommufd_mock"...; NULL when unknown */
        char *devpath;                  /* below /sys, as udev's DEVPATH */
        char *driver;                   /* NULL when no driver is bound */
        int iommu_group;                /* the group's number, or VIOMMU_TOPOLOGY_NO_GROUP/_GROUP_UNKNOWN */
        char *iommu;                    /* the IOMMU unit's name; NULL when none or unknown */
        char *vfio_cdev;                /* "/dev/vfio/devices/vfio0" when a VFIO driver offers one */
        dev_t vfio_devnum;              /* its device number; 0 when unknown */
        bool is_pci;
        struct viommu_pci_info pci;     /* only when is_pci */
        char **issues;
        size_t n_issues;
};

struct viommu_topology {
        struct viommu_topology_iommu **iommus;
        size_t n_iommus;
        struct viommu_topology_group **groups;
        size_t n_groups;
        struct viommu_topology_device **devices;        /* by bus name, then device name */
        size_t n_devices;
        char **issues;                  /* about the tree as a whole */
        size_t n_issues;
};

/*
 * Reads the host's topology. Fails only on resource exhaustion. A large
 * host's devices are read in shares by threads of its own, one per CPU up to
 * four, all ended before it returns.
 */
int viommu_topology_new(struct viommu_topology **ret);
/* Accepts NULL; returns NULL. */
struct viommu_topology *viommu_topology_free(struct viommu_topology *t);

static inline void viommu_topology_freep(struct viommu_topology **t) {
        if (*t)
                viommu_topology_free(*t);
}

/* Lookups: 0 and *ret on success, -ENOENT when there is no such object. */
int viommu_topology_find_iommu(const struct viommu_topology *t, const char *name,
                               const struct viommu_topology_iommu **ret);
int viommu_topology_find_group(const struct viommu_topology *t, unsigned id,
                               const struct viommu_topology_group **ret);
/* bus NULL matches any bus. */
int viommu_topology_find_device(const struct viommu_topology *t, const char *bus, const char *name,
                                const struct viommu_topology_device **ret);
/* "0000:01:00.0" or "01:00.0" (domain 0), any case; -EINVAL when bdf is not one. */
int viommu_topology_find_pci_device(const struct viommu_topology *t, const char *bdf,
                                    const struct viommu_topology_device **ret);

/*
 * One device read afresh, for a udev monitor: the same reading as
 * viommu_topology_new(), except that without the whole topology at hand an
 * iommu_group or iommu link is taken as it leads. -ENOENT when the device is
 * gone (a "remove" event). Free the result with viommu_topology_device_free().
 */
int viommu_topology_device_new_from_udev(struct udev_device *d, struct viommu_topology_device **ret);
/*
 * Brings t up to date after a uevent of d (a VFIO cdev's stands for its
 * device): the device read afresh, added, or dropped when it is gone (a
 * "remove" event, or a device without its uevent file), and the
 * IOMMU groups and units it joins or leaves read afresh, a unit's list of
 * devices only as to d. It costs about what reading a few devices does,
 * however large t. Pointers into t for those objects are invalid afterwards.
 * After a failure t may be incomplete: read the topology anew.
 */
int viommu_topology_update_device(struct viommu_topology *t, struct udev_device *d);

/* Only for devices from viommu_topology_device_new_from_udev(); accepts NULL, returns NULL. */
struct viommu_topology_device *viommu_topology_device_free(struct viommu_topology_device *d);

static inline void viommu_topology_device_freep(struct viommu_topology_device **d) {
        if (*d)
                viommu_topology_device_free(*d);
}

/*
 * JSON (json-c) of the whole topology ({"iommus": [], "groups": [],
 * "devices": [], "issues": []}) and of each object. 64-bit registers and
 * addresses are hex strings ("0x00000000fee00000"), PCI ids too ("0x8086").
 * The caller owns *ret (json_object_put()). -ENOMEM on failure.
 */
int viommu_topology_to_json(const struct viommu_topology *t, struct json_object **ret);
int viommu_topology_iommu_to_json(const struct viommu_topology_iommu *u, struct json_object **ret);
int viommu_topology_group_to_json(const struct viommu_topology_group *g, struct json_object **ret);
int viommu_topology_device_to_json(const struct viommu_topology_device *d, struct json_object **ret);
