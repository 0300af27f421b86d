/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The host's IOMMU topology through libudev: units and devices are udev
 * devices, enumerated by subsystem, read through their attributes, parents,
 * drivers and device numbers. udev has no enumeration for IOMMU groups (they
 * are no devices) and does not follow the iommu and iommu_group links, nor
 * does it parse config space: those few things are read from sysfs here, an
 * IOMMU group's attributes still through udev.
 *
 * Everything is read below /sys, so a umockdev testbed stands in for a host
 * on the very same code path.
 */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libudev.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util.h"
#include "viommu-topology.h"

#define SYSFS "/sys"
/* A sysfs attribute is at most a page. */
#define UEVENT_SIZE_MAX 4096

#define PCI_REVISION_ID 0x08
#define PCI_EXT_CAP_START 0x100
#define PCI_EXT_CAP_ID_ATS 0x0f
#define PCI_EXT_CAP_ID_PRI 0x13
#define PCI_EXT_CAP_ID_PASID 0x1b

struct scan {
        struct udev *udev;
        struct udev_hwdb *hwdb;         /* NULL until needed, or when the system has none */
        bool hwdb_tried;
        /* The units and groups read so far, so that devices need not look again. */
        const struct viommu_topology *topology;
};

static void scan_done(struct scan *s) {
        if (s->hwdb)
                udev_hwdb_unref(s->hwdb);
        if (s->udev)
                udev_unref(s->udev);
}

static void udev_device_unrefp(struct udev_device **d) {
        if (*d)
                udev_device_unref(*d);
}

static void udev_enumerate_unrefp(struct udev_enumerate **e) {
        if (*e)
                udev_enumerate_unref(*e);
}

/* A growing list of pointers, NULL-terminated so strv_free() can take it. */
struct list {
        void **items;
        size_t n;
        size_t allocated;
};

static int list_push(struct list *l, void *p) {
        if (l->n + 2 > l->allocated) {
                size_t a = l->allocated < 8 ? 16 : l->allocated * 2;
                void **q = reallocarray(l->items, a, sizeof(void *));
                if (!q)
                        return -ENOMEM;
                l->items = q;
                l->allocated = a;
        }
        l->items[l->n++] = p;
        l->items[l->n] = NULL;
        return 0;
}

static int list_push_strdup(struct list *l, const char *s) {
        char *c;
        int r;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        r = list_push(l, c);
        if (r < 0)
                free(c);
        return r;
}

/* Moves from's items to the end of to's, leaving from empty. */
static int list_take(struct list *to, struct list *from) {
        size_t n = to->n + from->n;

        if (n + 1 > to->allocated) {
                void **q = reallocarray(to->items, n + 1, sizeof(void *));
                if (!q)
                        return -ENOMEM;
                to->items = q;
                to->allocated = n + 1;
        }
        if (from->n > 0)
                memcpy(to->items + to->n, from->items, from->n * sizeof(void *));
        to->n = n;
        to->items[n] = NULL;
        free(from->items);
        *from = (struct list) {};
        return 0;
}

static void list_free_strings(struct list *l) {
        strv_free((char **) l->items);
        *l = (struct list) {};
}

/* Records why something is unknown. Only -ENOMEM can fail. */
_printf_(3, 4)
static int issue_add(char ***issues, size_t *n, const char *fmt, ...) {
        char **l, *s;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        l = reallocarray(*issues, *n + 2, sizeof(char *));
        if (!l) {
                free(s);
                return -ENOMEM;
        }
        l[(*n)++] = s;
        l[*n] = NULL;
        *issues = l;
        return 0;
}

static const char *errno_name(int error, char *buf, size_t size) {
        return strerror_r(abs(error), buf, size);
}

/* libudev says why through errno; make sure a NULL never reads as success. */
static int udev_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

/* asprintf() that leaves NULL on failure, which cleanup handlers can take. */
_printf_(1, 2)
static char *strprintf(const char *fmt, ...) {
        va_list ap;
        char *p;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&p, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : p;
}

static const char *last_component(const char *path) {
        const char *p = strrchr(path, '/');
        return p ? p + 1 : path;
}

/* The part of a syspath below /sys, as udev's DEVPATH: "/devices/...". */
static const char *devpath_of(const char *syspath) {
        const char *p = startswith(syspath, SYSFS);
        return p && p[0] == '/' ? p : NULL;
}

static uint64_t pci_address_key(uint32_t domain, uint8_t bus, uint8_t slot, uint8_t function) {
        return (uint64_t) domain << 16 | (uint64_t) bus << 8 | slot << 3 | function;
}

/* Sorts "0000:00:14.0" as PCI addresses, anything else in natural order. */
static int name_compare(const char *a, const char *b) {
        uint32_t da, db;
        uint8_t ba, bb, sa, sb, fa, fb;

        if (pci_address_parse(a, &da, &ba, &sa, &fa) >= 0 &&
            pci_address_parse(b, &db, &bb, &sb, &fb) >= 0) {
                uint64_t ka = pci_address_key(da, ba, sa, fa), kb = pci_address_key(db, bb, sb, fb);
                if (ka != kb)
                        return ka < kb ? -1 : 1;
        }
        return strverscmp(a, b);
}

static int name_compare_qsort(const void *a, const void *b) {
        return name_compare(*(const char * const *) a, *(const char * const *) b);
}

static int str_compare_qsort(const void *a, const void *b) {
        return strcmp(*(const char * const *) a, *(const char * const *) b);
}

static void sort_names(char **l, size_t n) {
        if (n > 1)
                qsort(l, n, sizeof(char *), name_compare_qsort);
}

/* The next entry of d but hidden ones ("." and ".." too): 1 and *ret, 0 at the end, or -errno. */
static int readdir_visible(DIR *d, struct dirent **ret) {
        for (;;) {
                struct dirent *de;

                errno = 0;
                de = readdir(d);
                if (!de)
                        return errno > 0 ? -errno : 0;
                if (de->d_name[0] != '.') {
                        *ret = de;
                        return 1;
                }
        }
}

/*
 * Reads link "name" of directory dir (dir_fd, or AT_FDCWD): 0, the syspath it
 * leads to and, when ret_text is not NULL, the link's own text; -ENOENT when
 * there is no such link. sysfs makes its links relative and straight to the
 * target, through no other link, so the target is worked out from the text
 * alone: whether it exists is left to the caller, who often knows already.
 */
static int link_read(int dir_fd, const char *dir, const char *name, char **ret, char **ret_text) {
        _cleanup_free_ char *path = NULL;
        char text[PATH_MAX];
        ssize_t n;
        int r;

        if (dir_fd == AT_FDCWD) {
                path = strprintf("%s/%s", dir, name);
                if (!path)
                        return -ENOMEM;
        }
        n = readlinkat(dir_fd, path ?: name, text, sizeof(text));
        if (n < 0)
                return errno == EINVAL ? -ENOENT : -errno;
        if ((size_t) n >= sizeof(text))
                return -ENAMETOOLONG;
        text[n] = 0;

        r = path_join_lexical(dir, text, ret);
        if (r < 0)
                return r;
        if (ret_text && !(*ret_text = strdup(text))) {
                *ret = mfree(*ret);
                return -ENOMEM;
        }
        return 0;
}

static bool path_exists(const char *path) {
        return access(path, F_OK) >= 0;
}

/*
 * The syspaths of the devices to read: the buses' (sorted, so that a link to
 * one of them is known to lead to a device without a look; not owned), and
 * those that groups and units link to besides. Readers in threads of their
 * own look at the same buses' list, each with its own extra list.
 */
struct device_paths {
        char * const *listed;
        size_t n_listed;
        struct list extra;
};

static void device_paths_done(struct device_paths *p) {
        list_free_strings(&p->extra);
}

static bool device_paths_listed(const struct device_paths *p, const char *path) {
        return bsearch(&path, p->listed, p->n_listed, sizeof(void *), str_compare_qsort);
}

/*
 * Lists directory "sub" of syspath, whose entries are links to devices: their
 * names, and unless paths is NULL the syspaths they lead to. A link that leads
 * nowhere is an issue of the topology's. A missing directory is an empty one.
 */
static int members_list(const char *syspath, const char *sub, struct list *names, struct device_paths *paths,
                        char ***issues, size_t *n_issues) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        int r;

        dir = strprintf("%s/%s", syspath, sub);
        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        for (;;) {
                _cleanup_free_ char *target = NULL;
                struct dirent *de;

                r = readdir_visible(d, &de);
                if (r <= 0)
                        return r;

                r = list_push_strdup(names, de->d_name);
                if (r < 0)
                        return r;
                if (!paths)
                        continue;

                r = link_read(dirfd(d), dir, de->d_name, &target, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r == -ENOENT)
                        continue; /* not a link: nothing to follow */
                if (r >= 0 && device_paths_listed(paths, target))
                        continue;
                if (r >= 0 && !path_exists(target))
                        r = -ENXIO;
                if (r < 0 || !devpath_of(target)) {
                        char e[64];

                        r = issue_add(issues, n_issues, "%s/%s: linked to, but %s",
                                      devpath_of(dir), de->d_name,
                                      r >= 0 ? "outside /sys" :
                                      r == -ENXIO ? "missing" : errno_name(r, e, sizeof(e)));
                        if (r < 0)
                                return r;
                        continue;
                }
                r = list_push(&paths->extra, target);
                if (r < 0)
                        return r;
                TAKE_PTR(target);
        }
}

/* An attribute udev could not read, as an issue; prefix names where it is. */
static int issue_attr(char ***issues, size_t *n, const char *prefix, const char *attr, int error) {
        char e[64];

        if (error == -ENOMEM)
                return error;
        return issue_add(issues, n, "%s%s: %s", prefix, attr, errno_name(error, e, sizeof(e)));
}

/*
 * Reads a hex attribute ("0x8086", "fed90000") of at most max; -1 and an issue
 * when it cannot.
 */
static int read_hex_attr(struct udev_device *ud, const char *prefix, const char *attr, uint64_t max,
                         int64_t *ret, char ***issues, size_t *n_issues) {
        _cleanup_free_ char *name = NULL;
        const char *s;
        uint64_t v;

        *ret = -1;
        name = strprintf("%s%s", prefix, attr);
        if (!name)
                return -ENOMEM;
        s = udev_device_get_sysattr_value(ud, name);
        if (!s)
                return issue_attr(issues, n_issues, prefix, attr, udev_errno());

        if (safe_atox64(s, &v) < 0 || v > max)
                return issue_add(issues, n_issues, "%s%s: cannot parse \"%s\"", prefix, attr, s);

        *ret = (int64_t) v;
        return 0;
}

/* ---------------------------------------------------------------- devices */

/*
 * What config space says that the uevent does not: the revision, and the
 * PCIe extended capabilities. *ret_revision is -1 when config space cannot be
 * read, for the caller to ask the attribute.
 */
static void config_read(struct udev_device *ud, int32_t *ret_revision, struct viommu_pcie_caps *caps) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct viommu_pcie_caps c = {};
        unsigned off = PCI_EXT_CAP_START;
        uint8_t b[8];

        *ret_revision = -1;
        *caps = (struct viommu_pcie_caps) {};

        path = strprintf("%s/config", udev_device_get_syspath(ud));
        if (!path)
                return;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return;
        /*
         * In the header, which any reader sees; a VF's is its own. All ones
         * is what a device gone from the bus answers, where the attribute
         * still holds what the kernel read.
         */
        if (pread(fd, b, 4, PCI_REVISION_ID) == 4 && (b[0] & b[1] & b[2] & b[3]) != 0xff)
                *ret_revision = b[0];

        /*
         * Only PCIe devices have extended config space, and only a privileged
         * reader sees past the first 64 bytes: the file ends short of it
         * otherwise, and a short read is "unknown". Registers are read one by
         * one, since each read of the file is a config cycle on real hardware.
         */
        for (unsigned i = 0; i < (4096 - PCI_EXT_CAP_START) / 4; i++) {
                uint32_t hdr;
                unsigned next;

                if (pread(fd, b, 4, off) != 4)
                        return;
                hdr = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t) b[3] << 24;
                /* All ones is what a device gone from the bus answers: nothing known. */
                if (hdr == UINT32_MAX)
                        return;
                /* No extended capabilities (more). */
                if (hdr == 0)
                        break;

                switch (hdr & 0xffff) {

                case PCI_EXT_CAP_ID_ATS: {
                        uint16_t cap, ctrl;

                        if (pread(fd, b, 4, off + 4) != 4)
                                return;
                        cap = b[0] | b[1] << 8;
                        ctrl = b[2] | b[3] << 8;
                        c.ats = true;
                        c.ats_queue_depth = (cap & 0x1f) ?: 32;
                        c.ats_page_aligned = cap & 0x20;
                        c.ats_enabled = ctrl & 0x8000;
                        break;
                }

                case PCI_EXT_CAP_ID_PRI: {
                        uint16_t ctrl;

                        if (pread(fd, b, 8, off + 4) != 8)
                                return;
                        ctrl = b[0] | b[1] << 8;
                        c.pri = true;
                        c.pri_enabled = ctrl & 0x1;
                        c.pri_max_requests = b[4] | b[5] << 8 | b[6] << 16 | (uint32_t) b[7] << 24;
                        break;
                }

                case PCI_EXT_CAP_ID_PASID: {
                        uint16_t cap, ctrl;

                        if (pread(fd, b, 4, off + 4) != 4)
                                return;
                        cap = b[0] | b[1] << 8;
                        ctrl = b[2] | b[3] << 8;
                        c.pasid = true;
                        c.pasid_exec = cap & 0x2;
                        c.pasid_privileged = cap & 0x4;
                        c.pasid_width = (cap >> 8) & 0x1f;
                        c.pasid_enabled = ctrl & 0x1;
                        break;
                }
                }

                next = (hdr >> 20) & 0xffc;
                if (next < PCI_EXT_CAP_START)
                        break;
                off = next;
        }

        c.known = true;
        *caps = c;
}

/*
 * Two hex numbers of at most 16 bits, "8086:15ef", as the kernel's PCI uevent
 * gives IDs; false when s is NULL or malformed.
 */
static bool pci_id_pair_parse(const char *s, int32_t *ret_a, int32_t *ret_b) {
        const char *colon;
        uint64_t x, y;
        char a[5];

        if (!s || !(colon = strchr(s, ':')) || (size_t) (colon - s) >= sizeof(a))
                return false;
        memcpy(a, s, colon - s);
        a[colon - s] = 0;
        if (safe_atox64(a, &x) < 0 || safe_atox64(colon + 1, &y) < 0 || x > 0xffff || y > 0xffff)
                return false;
        *ret_a = (int32_t) x;
        *ret_b = (int32_t) y;
        return true;
}

/*
 * The keys of a PCI device's uevent file its read uses. Read here, not as
 * udev's properties: each lookup of one looks for udev's database again
 * when there is none (a host without udevd), a system call each, and the
 * database would add nothing the kernel's file and the hardware database do
 * not say.
 */
struct pci_uevent {
        char *text;
        const char *id, *subsys_id, *class, *modalias;
};

static void pci_uevent_done(struct pci_uevent *u) {
        free(u->text);
}

/* A uevent file that cannot be read has none of the keys: only running out of memory is an error. */
static int pci_uevent_read(struct udev_device *ud, struct pci_uevent *ret) {
        _cleanup_free_ char *path = NULL;
        struct pci_uevent u = {};
        char *line, *next;
        int r;

        path = strprintf("%s/uevent", udev_device_get_syspath(ud));
        if (!path)
                return -ENOMEM;
        r = read_full_file_at(AT_FDCWD, path, UEVENT_SIZE_MAX, &u.text, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *ret = u;
                return 0;
        }

        for (line = u.text; *line; line = next) {
                const char *v;

                next = line + strcspn(line, "\n");
                if (*next)
                        *next++ = 0;
                if ((v = startswith(line, "PCI_ID=")))
                        u.id = v;
                else if ((v = startswith(line, "PCI_SUBSYS_ID=")))
                        u.subsys_id = v;
                else if ((v = startswith(line, "PCI_CLASS=")))
                        u.class = v;
                else if ((v = startswith(line, "MODALIAS=")))
                        u.modalias = v;
        }
        *ret = u;
        return 0;
}

/*
 * The IDs and class as the kernel knows them (a VF's included, whose config
 * space shows no vendor): the uevent holds them. The revision comes with the
 * rest of config space. Each attribute costs a file read, so they are only
 * the fallback, for a uevent or a config space without them.
 */
static int pci_read(struct udev_device *ud, const struct pci_uevent *u, struct viommu_topology_device *d) {
        static const struct {
                const char *attr;
                uint64_t max;
                size_t offset;
        } ids[] = {
                { "vendor",           0xffff,   offsetof(struct viommu_pci_info, vendor)           },
                { "device",           0xffff,   offsetof(struct viommu_pci_info, device)           },
                { "subsystem_vendor", 0xffff,   offsetof(struct viommu_pci_info, subsystem_vendor) },
                { "subsystem_device", 0xffff,   offsetof(struct viommu_pci_info, subsystem_device) },
                { "class",            0xffffff, offsetof(struct viommu_pci_info, class_code)       },
                { "revision",         0xff,     offsetof(struct viommu_pci_info, revision)         },
        };
        bool known[ELEMENTSOF(ids)] = {};
        int32_t revision;
        uint64_t v;
        int r;

        d->is_pci = true;

        r = pci_address_parse(d->name, &d->pci.domain, &d->pci.bus, &d->pci.slot, &d->pci.function);
        if (r < 0) {
                r = issue_add(&d->issues, &d->n_issues, "\"%s\" is not a PCI address", d->name);
                if (r < 0)
                        return r;
        }

        known[0] = known[1] = pci_id_pair_parse(u->id, &d->pci.vendor, &d->pci.device);
        known[2] = known[3] = pci_id_pair_parse(u->subsys_id, &d->pci.subsystem_vendor, &d->pci.subsystem_device);
        if (u->class && safe_atox64(u->class, &v) >= 0 && v <= 0xffffff) {
                d->pci.class_code = (int32_t) v;
                known[4] = true;
        }
        config_read(ud, &revision, &d->pci.caps);
        if (revision >= 0) {
                d->pci.revision = revision;
                known[5] = true;
        }

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                int32_t *field = (int32_t *) ((uint8_t *) &d->pci + ids[i].offset);
                int64_t x;

                if (known[i])
                        continue;
                r = read_hex_attr(ud, "", ids[i].attr, ids[i].max, &x, &d->issues, &d->n_issues);
                if (r < 0)
                        return r;
                *field = (int32_t) x;
        }
        return 0;
}

static int device_read_group(struct scan *s, struct udev_device *ud, struct viommu_topology_device *d) {
        _cleanup_free_ char *target = NULL, *text = NULL;
        const char *num;
        unsigned id = 0;
        bool is_group;
        char e[64];
        int r;

        r = link_read(AT_FDCWD, udev_device_get_syspath(ud), "iommu_group", &target, &text);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return r;

        d->iommu_group = VIOMMU_TOPOLOGY_GROUP_UNKNOWN;
        if (r < 0)
                return issue_add(&d->issues, &d->n_issues, "iommu_group: %s", errno_name(r, e, sizeof(e)));

        num = startswith(target, SYSFS "/kernel/iommu_groups/");
        is_group = num && safe_atou(num, &id) >= 0 && id <= INT_MAX;
        /* A group the topology holds was there a moment ago: no need to look. */
        if (!(is_group && s->topology && viommu_topology_find_group(s->topology, id, NULL) >= 0)) {
                if (!path_exists(target))
                        return issue_add(&d->issues, &d->n_issues,
                                         "iommu_group: links to %s, which does not exist", text);
                if (!is_group)
                        return issue_add(&d->issues, &d->n_issues, "iommu_group: links to %s, not to an IOMMU group",
                                         devpath_of(target) ?: target);
                if (s->topology)
                        return issue_add(&d->issues, &d->n_issues, "iommu_group: group %u could not be read", id);
        }

        d->iommu_group = (int) id;
        return 0;
}

static int device_read_iommu(struct scan *s, struct udev_device *ud, struct viommu_topology_device *d) {
        _cleanup_free_ char *target = NULL, *text = NULL;
        const struct viommu_topology_iommu *u;
        const char *devpath;
        bool is_unit;
        char e[64];
        int r;

        r = link_read(AT_FDCWD, udev_device_get_syspath(ud), "iommu", &target, &text);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return issue_add(&d->issues, &d->n_issues, "iommu: %s", errno_name(r, e, sizeof(e)));

        devpath = devpath_of(target);
        is_unit = devpath && (!s->topology || (viommu_topology_find_iommu(s->topology, last_component(devpath), &u) >= 0 &&
                                               streq(u->devpath, devpath)));
        /* As for groups: a unit the topology holds exists. */
        if (!(is_unit && s->topology) && !path_exists(target))
                return issue_add(&d->issues, &d->n_issues, "iommu: links to %s, which does not exist", text);
        if (!is_unit)
                return issue_add(&d->issues, &d->n_issues, "iommu: links to %s, not to an IOMMU unit",
                                 devpath ?: target);

        d->iommu = strdup(last_component(devpath));
        return d->iommu ? 0 : -ENOMEM;
}

/*
 * A VFIO driver (vfio-pci and its variants, vfio-platform) gives the device a
 * cdev in its vfio-dev directory. Looked for there: udev's enumeration of
 * the vfio-dev class costs a walk up from each cdev to its device, and its
 * enumeration by parent would try every directory below the device, of which
 * a NIC or a drive has hundreds.
 */
static int device_read_vfio(struct scan *s, struct udev_device *ud, struct viommu_topology_device *d) {
        _cleanup_(udev_device_unrefp) struct udev_device *v = NULL;
        _cleanup_closedir_ DIR *dir = NULL;
        _cleanup_free_ char *path = NULL;
        const char *node;
        char e[64];
        int r;

        path = strprintf("%s/vfio-dev", udev_device_get_syspath(ud));
        if (!path)
                return -ENOMEM;
        dir = opendir(path);
        if (!dir) {
                r = -errno;
                return IN_SET(r, -ENOENT, -ENOTDIR) ? 0 :
                        issue_add(&d->issues, &d->n_issues, "vfio-dev: %s", errno_name(r, e, sizeof(e)));
        }

        /* The kernel makes one; should there be more, take the first listed. */
        while (!v) {
                _cleanup_free_ char *syspath = NULL;
                struct dirent *de;

                r = readdir_visible(dir, &de);
                if (r < 0)
                        return issue_add(&d->issues, &d->n_issues, "vfio-dev: %s", errno_name(r, e, sizeof(e)));
                if (r == 0)
                        return 0;
                syspath = strprintf("%s/%s", path, de->d_name);
                if (!syspath)
                        return -ENOMEM;
                v = udev_device_new_from_syspath(s->udev, syspath);
                if (v && !streq_ptr(udev_device_get_subsystem(v), "vfio-dev"))
                        v = udev_device_unref(v);
        }

        node = udev_device_get_devnode(v);
        if (!node)
                return issue_add(&d->issues, &d->n_issues, "vfio-dev/%s: no device node", udev_device_get_sysname(v));
        d->vfio_cdev = strdup(node);
        if (!d->vfio_cdev)
                return -ENOMEM;

        d->vfio_devnum = udev_device_get_devnum(v);
        if (major(d->vfio_devnum) == 0)
                return issue_add(&d->issues, &d->n_issues, "vfio-dev/%s: no device number",
                                 udev_device_get_sysname(v));
        return 0;
}

/* The hardware database, opened when first asked: udevd's database often answers before. */
static struct udev_hwdb *scan_hwdb(struct scan *s) {
        if (!s->hwdb_tried) {
                s->hwdb = udev_hwdb_new(s->udev);
                s->hwdb_tried = true;
        }
        return s->hwdb;
}

/* Names from udev's hardware database, asked as udevd asks it, by modalias. */
static int device_read_names(struct scan *s, const struct pci_uevent *u, struct viommu_topology_device *d) {
        const char *vendor = NULL, *model = NULL;

        if (u->modalias && scan_hwdb(s)) {
                struct udev_list_entry *e;

                udev_list_entry_foreach(e, udev_hwdb_get_properties_list_entry(s->hwdb, u->modalias, 0)) {
                        const char *n = udev_list_entry_get_name(e);

                        if (!vendor && streq(n, "ID_VENDOR_FROM_DATABASE"))
                                vendor = udev_list_entry_get_value(e);
                        else if (!model && streq(n, "ID_MODEL_FROM_DATABASE"))
                                model = udev_list_entry_get_value(e);
                }
        }

        if (vendor && !(d->pci.vendor_name = strdup(vendor)))
                return -ENOMEM;
        if (model && !(d->pci.device_name = strdup(model)))
                return -ENOMEM;
        return 0;
}

_public_ struct viommu_topology_device *viommu_topology_device_free(struct viommu_topology_device *d) {
        if (!d)
                return NULL;

        free(d->name);
        free(d->bus);
        free(d->devpath);
        free(d->driver);
        free(d->iommu);
        free(d->vfio_cdev);
        free(d->pci.vendor_name);
        free(d->pci.device_name);
        strv_free(d->issues);
        return mfree(d);
}

static int strdup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (s && !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

static int device_read(struct scan *s, struct udev_device *ud, struct viommu_topology_device **ret) {
        _cleanup_(viommu_topology_device_freep) struct viommu_topology_device *d = NULL;
        const char *bus;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->iommu_group = VIOMMU_TOPOLOGY_NO_GROUP;
        if (strdup_or_null(udev_device_get_sysname(ud), &d->name) < 0 ||
            strdup_or_null(udev_device_get_devpath(ud), &d->devpath) < 0 ||
            strdup_or_null(udev_device_get_driver(ud), &d->driver) < 0)
                return -ENOMEM;
        if (!d->name || !d->devpath)
                return -EINVAL;

        bus = udev_device_get_subsystem(ud);
        if (!bus) {
                r = issue_attr(&d->issues, &d->n_issues, "", "subsystem", udev_errno());
                if (r < 0)
                        return r;
        } else if (!(d->bus = strdup(bus)))
                return -ENOMEM;

        r = device_read_group(s, ud, d);
        if (r < 0)
                return r;
        r = device_read_iommu(s, ud, d);
        if (r < 0)
                return r;
        r = device_read_vfio(s, ud, d);
        if (r < 0)
                return r;

        if (d->bus && streq(d->bus, "pci")) {
                _cleanup_(pci_uevent_done) struct pci_uevent u = {};

                r = pci_uevent_read(ud, &u);
                if (r < 0)
                        return r;
                r = pci_read(ud, &u, d);
                if (r < 0)
                        return r;
                r = device_read_names(s, &u, d);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(d);
        return 0;
}

static int device_compare(const struct viommu_topology_device *a, const struct viommu_topology_device *b) {
        int c;

        /* Devices whose bus is unknown go last. */
        if (!a->bus != !b->bus)
                return a->bus ? -1 : 1;
        if (a->bus) {
                c = strcmp(a->bus, b->bus);
                if (c != 0)
                        return c;
        }
        return name_compare(a->name, b->name);
}

static int device_compare_qsort(const void *a, const void *b) {
        return device_compare(*(const struct viommu_topology_device * const *) a,
                              *(const struct viommu_topology_device * const *) b);
}

/* ----------------------------------------------------------------- groups */

_public_ const char *viommu_region_type_to_string(enum viommu_region_type t) {
        static const char * const table[_VIOMMU_REGION_TYPE_MAX] = {
                [VIOMMU_REGION_DIRECT]           = "direct",
                [VIOMMU_REGION_DIRECT_RELAXABLE] = "direct-relaxable",
                [VIOMMU_REGION_RESERVED]         = "reserved",
                [VIOMMU_REGION_MSI]              = "msi",
                [VIOMMU_REGION_UNKNOWN]          = "unknown",
        };

        if (t < 0 || t >= _VIOMMU_REGION_TYPE_MAX)
                return NULL;
        return table[t];
}

_public_ enum viommu_region_type viommu_region_type_from_string(const char *s) {
        if (!s)
                return _VIOMMU_REGION_TYPE_INVALID;
        for (enum viommu_region_type t = 0; t < VIOMMU_REGION_UNKNOWN; t++)
                if (streq(s, viommu_region_type_to_string(t)))
                        return t;
        return VIOMMU_REGION_UNKNOWN;
}

/* "0x00000000fee00000 0x00000000feefffff msi" a line, in the kernel's order. */
static int regions_parse(struct viommu_topology_group *g, char *text) {
        _cleanup_free_ struct viommu_reserved_region *regions = NULL;
        size_t n = 0, allocated = 0;
        unsigned line = 0;
        char *eol;
        int r;

        /* The kernel writes at most a page and drops the rest, the last line
         * cut anywhere ("direct-relaxable" to "direct"); the newline the
         * text lost may be the page's last byte. */
        if (strlen(text) >= (size_t) sysconf(_SC_PAGESIZE) - 1) {
                g->regions_known = false;
                return issue_add(&g->issues, &g->n_issues, "reserved_regions: a page long, so cut short by the kernel");
        }

        for (char *p = text; p && *p; p = eol ? eol + 1 : NULL) {
                char *fields[4], *save = NULL;
                struct viommu_reserved_region *region;
                size_t nf = 0;

                eol = strchr(p, '\n');
                if (eol)
                        *eol = 0;
                line++;

                for (char *f = strtok_r(p, " \t", &save); f && nf < ELEMENTSOF(fields); f = strtok_r(NULL, " \t", &save))
                        fields[nf++] = f;
                if (nf == 0)
                        continue; /* a blank line */

                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 4;
                        struct viommu_reserved_region *q = reallocarray(regions, a, sizeof(*q));
                        if (!q)
                                return -ENOMEM;
                        regions = q;
                        allocated = a;
                }
                region = &regions[n];

                if (nf != 3 ||
                    !startswith(fields[0], "0x") || safe_atox64(fields[0], &region->start) < 0 ||
                    !startswith(fields[1], "0x") || safe_atox64(fields[1], &region->end) < 0 ||
                    region->start > region->end) {
                        g->regions_known = false;
                        return issue_add(&g->issues, &g->n_issues,
                                         "reserved_regions: line %u: cannot parse", line);
                }

                region->type = viommu_region_type_from_string(fields[2]);
                if (region->type == VIOMMU_REGION_UNKNOWN) {
                        r = issue_add(&g->issues, &g->n_issues,
                                      "reserved_regions: line %u: unknown type \"%s\"", line, fields[2]);
                        if (r < 0)
                                return r;
                }
                n++;
        }

        g->regions = TAKE_PTR(regions);
        g->n_regions = n;
        g->regions_known = true;
        return 0;
}

static struct viommu_topology_group *group_free(struct viommu_topology_group *g) {
        if (!g)
                return NULL;
        free(g->type);
        free(g->name);
        strv_free(g->devices);
        free(g->regions);
        strv_free(g->issues);
        return mfree(g);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct viommu_topology_group *, group_free)

/*
 * Reads group id, whose directory udev opens like a device's; the devices it
 * links to go to paths, unless NULL. -ENOENT when it is gone.
 */
static int group_read(struct scan *s, struct viommu_topology *t, unsigned id, struct device_paths *paths,
                      struct viommu_topology_group **ret) {
        _cleanup_(udev_device_unrefp) struct udev_device *ud = NULL;
        _cleanup_(group_freep) struct viommu_topology_group *g = NULL;
        _cleanup_(list_free_strings) struct list names = {};
        _cleanup_free_ char *syspath = NULL, *regions = NULL;
        const char *v;
        int r;

        syspath = strprintf(SYSFS "/kernel/iommu_groups/%u", id);
        if (!syspath)
                return -ENOMEM;
        ud = udev_device_new_from_syspath(s->udev, syspath);
        if (!ud)
                return udev_errno();

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->id = id;

        v = udev_device_get_sysattr_value(ud, "type");
        if (!v)
                r = issue_attr(&g->issues, &g->n_issues, "", "type", udev_errno());
        else
                r = strdup_or_null(v, &g->type);
        if (r < 0)
                return r;

        /* Only some drivers name their groups. */
        v = udev_device_get_sysattr_value(ud, "name");
        if (!v) {
                r = udev_errno();
                if (r != -ENOENT) {
                        r = issue_attr(&g->issues, &g->n_issues, "", "name", r);
                        if (r < 0)
                                return r;
                }
        } else if (!(g->name = strdup(v)))
                return -ENOMEM;

        v = udev_device_get_sysattr_value(ud, "reserved_regions");
        if (!v)
                r = issue_attr(&g->issues, &g->n_issues, "", "reserved_regions", udev_errno());
        else if (!(regions = strdup(v)))
                r = -ENOMEM;
        else
                r = regions_parse(g, regions);
        if (r < 0)
                return r;

        r = members_list(syspath, "devices", &names, paths, &t->issues, &t->n_issues);
        if (r < 0) {
                r = issue_attr(&g->issues, &g->n_issues, "", "devices", r);
                if (r < 0)
                        return r;
        }
        sort_names((char **) names.items, names.n);
        g->devices = (char **) TAKE_PTR(names.items);
        g->n_devices = names.n;

        *ret = TAKE_PTR(g);
        return 0;
}

static int group_compare_qsort(const void *a, const void *b) {
        const struct viommu_topology_group *x = *(const struct viommu_topology_group * const *) a,
                                           *y = *(const struct viommu_topology_group * const *) b;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* ----------------------------------------------------------------- iommus */

_public_ const char *viommu_iommu_kind_to_string(enum viommu_iommu_kind k) {
        static const char * const table[_VIOMMU_IOMMU_KIND_MAX] = {
                [VIOMMU_IOMMU_KIND_UNKNOWN]      = "unknown",
                [VIOMMU_IOMMU_KIND_INTEL_VTD]    = "intel-vtd",
                [VIOMMU_IOMMU_KIND_AMD_VI]       = "amd-vi",
                [VIOMMU_IOMMU_KIND_ARM_SMMU_V3]  = "arm-smmu-v3",
                [VIOMMU_IOMMU_KIND_ARM_SMMU]     = "arm-smmu",
                [VIOMMU_IOMMU_KIND_VIRTIO]       = "virtio-iommu",
                [VIOMMU_IOMMU_KIND_IOMMUFD_TEST] = "iommufd-test",
        };

        if (k < 0 || k >= _VIOMMU_IOMMU_KIND_MAX)
                return NULL;
        return table[k];
}

static void vtd_decode(struct viommu_vtd_info *v) {
        uint64_t cap = v->cap, ecap = v->ecap;

        /* Bit positions from the VT-d specification's CAP_REG and ECAP_REG. */
        v->mgaw = ((cap >> 16) & 0x3f) + 1;
        v->caching_mode = (cap >> 7) & 1;
        v->interrupt_remapping = (ecap >> 3) & 1;
        v->device_iotlb = (ecap >> 2) & 1;
        v->pass_through = (ecap >> 6) & 1;
        v->nested = (ecap >> 26) & 1;
        v->page_request = (ecap >> 29) & 1;
        v->pasid = (ecap >> 40) & 1;
        v->pasid_bits = v->pasid ? ((ecap >> 35) & 0x1f) + 1 : 0;
        v->scalable_mode = (ecap >> 43) & 1;
        v->dirty_tracking = (ecap >> 45) & 1;
        v->second_level = (ecap >> 46) & 1;
        v->first_level = (ecap >> 47) & 1;
}

/* The value of attribute prefix/attr, or NULL and an issue. */
static int read_attr(struct udev_device *ud, const char *prefix, const char *attr, const char **ret,
                     char ***issues, size_t *n_issues) {
        _cleanup_free_ char *name = strprintf("%s%s", prefix, attr);

        if (!name)
                return -ENOMEM;
        *ret = udev_device_get_sysattr_value(ud, name);
        return *ret ? 0 : issue_attr(issues, n_issues, prefix, attr, udev_errno());
}

/* 1 when the unit has register directory name, 0 when not. */
static int unit_has_registers(struct udev_device *ud, const char *name, struct viommu_topology_iommu *u) {
        _cleanup_free_ char *p = strprintf("%s/%s", udev_device_get_syspath(ud), name);
        struct stat st;

        if (!p)
                return -ENOMEM;
        if (stat(p, &st) < 0)
                return errno == ENOENT ? 0 : issue_attr(&u->issues, &u->n_issues, "", name, -errno);
        return S_ISDIR(st.st_mode);
}

static int vtd_read(struct udev_device *ud, struct viommu_topology_iommu *u) {
        struct viommu_vtd_info *v = &u->vtd;
        const char *s;
        int64_t x;
        int r;

        r = unit_has_registers(ud, "intel-iommu", u);
        if (r <= 0)
                return r;
        u->has_vtd = true;

        r = read_attr(ud, "intel-iommu/", "version", &s, &u->issues, &u->n_issues);
        if (r >= 0 && s && sscanf(s, "%u:%u", &v->version_major, &v->version_minor) != 2)
                r = issue_add(&u->issues, &u->n_issues, "intel-iommu/version: cannot parse \"%s\"", s);
        if (r < 0)
                return r;

        r = read_hex_attr(ud, "intel-iommu/", "address", INT64_MAX, &x, &u->issues, &u->n_issues);
        if (r < 0)
                return r;
        if (x >= 0) {
                u->has_address = true;
                u->address = (uint64_t) x;
        }

        /* cap and ecap use all 64 bits: int64_t's -1 cannot mark them unknown. */
        const struct {
                const char *attr;
                uint64_t *field;
        } regs[] = {
                { "cap", &v->cap },
                { "ecap", &v->ecap },
        };
        for (size_t i = 0; i < ELEMENTSOF(regs); i++) {
                r = read_attr(ud, "intel-iommu/", regs[i].attr, &s, &u->issues, &u->n_issues);
                if (r >= 0 && s && safe_atox64(s, regs[i].field) < 0)
                        r = issue_add(&u->issues, &u->n_issues, "intel-iommu/%s: cannot parse \"%s\"",
                                      regs[i].attr, s);
                if (r < 0)
                        return r;
        }

        const struct {
                const char *attr;
                int64_t *field;
        } counts[] = {
                { "domains_supported", &v->domains_supported },
                { "domains_used", &v->domains_used },
        };
        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                unsigned n;

                *counts[i].field = -1;
                r = read_attr(ud, "intel-iommu/", counts[i].attr, &s, &u->issues, &u->n_issues);
                if (r >= 0 && s) {
                        if (safe_atou(s, &n) < 0)
                                r = issue_add(&u->issues, &u->n_issues, "intel-iommu/%s: cannot parse \"%s\"",
                                              counts[i].attr, s);
                        else
                                *counts[i].field = n;
                }
                if (r < 0)
                        return r;
        }

        vtd_decode(v);
        return 0;
}

static int amd_vi_read(struct udev_device *ud, struct viommu_topology_iommu *u) {
        _cleanup_free_ char *features = NULL;
        const char *s;
        char *colon;
        int64_t cap;
        int r;

        r = unit_has_registers(ud, "amd-iommu", u);
        if (r <= 0)
                return r;
        u->has_amd_vi = true;

        r = read_hex_attr(ud, "amd-iommu/", "cap", UINT32_MAX, &cap, &u->issues, &u->n_issues);
        if (r < 0)
                return r;
        u->amd_vi.cap = cap >= 0 ? (uint32_t) cap : 0;

        /* "efr" from older kernels, "efr:efr2" from newer ones. */
        r = read_attr(ud, "amd-iommu/", "features", &s, &u->issues, &u->n_issues);
        if (r < 0 || !s)
                return r;
        features = strdup(s);
        if (!features)
                return -ENOMEM;
        colon = strchr(features, ':');
        if (colon)
                *colon = 0;
        if (safe_atox64(features, &u->amd_vi.efr) < 0 ||
            (colon && safe_atox64(colon + 1, &u->amd_vi.efr2) < 0))
                return issue_add(&u->issues, &u->n_issues, "amd-iommu/features: cannot parse \"%s\"", s);
        return 0;
}

static struct viommu_topology_iommu *iommu_free(struct viommu_topology_iommu *u) {
        if (!u)
                return NULL;
        free(u->name);
        free(u->devpath);
        free(u->parent);
        free(u->parent_driver);
        strv_free(u->devices);
        strv_free(u->issues);
        return mfree(u);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct viommu_topology_iommu *, iommu_free)

/*
 * Reads a unit of subsystem "iommu", with the names of its devices when
 * members is true; the devices it links to go to paths, unless NULL.
 */
static int iommu_read(struct udev_device *ud, struct viommu_topology *t, bool members, struct device_paths *paths,
                      struct viommu_topology_iommu **ret) {
        _cleanup_(iommu_freep) struct viommu_topology_iommu *u = NULL;
        _cleanup_(list_free_strings) struct list names = {};
        struct udev_device *parent;
        const char *addr = NULL;
        int r;

        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        if (strdup_or_null(udev_device_get_sysname(ud), &u->name) < 0 ||
            strdup_or_null(udev_device_get_devpath(ud), &u->devpath) < 0)
                return -ENOMEM;
        if (!u->name || !u->devpath)
                return -EINVAL;

        parent = udev_device_get_parent(ud);
        if (parent && (strdup_or_null(udev_device_get_sysname(parent), &u->parent) < 0 ||
                       strdup_or_null(udev_device_get_driver(parent), &u->parent_driver) < 0))
                return -ENOMEM;

        if (members) {
                r = members_list(udev_device_get_syspath(ud), "devices", &names, paths, &t->issues, &t->n_issues);
                if (r < 0) {
                        r = issue_attr(&u->issues, &u->n_issues, "", "devices", r);
                        if (r < 0)
                                return r;
                }
                sort_names((char **) names.items, names.n);
                u->devices = (char **) TAKE_PTR(names.items);
                u->n_devices = names.n;
        }

        r = vtd_read(ud, u);
        if (r < 0)
                return r;
        r = amd_vi_read(ud, u);
        if (r < 0)
                return r;

        if (u->has_vtd)
                u->kind = VIOMMU_IOMMU_KIND_INTEL_VTD;
        else if (u->has_amd_vi)
                u->kind = VIOMMU_IOMMU_KIND_AMD_VI;
        else if ((addr = startswith(u->name, "smmu3.")))
                u->kind = VIOMMU_IOMMU_KIND_ARM_SMMU_V3;
        else if ((addr = startswith(u->name, "smmu.")))
                u->kind = VIOMMU_IOMMU_KIND_ARM_SMMU;
        else if (u->parent_driver && streq(u->parent_driver, "virtio_iommu"))
                u->kind = VIOMMU_IOMMU_KIND_VIRTIO;
        else if (startswith(u->name, "iommufd_selftest_iommu"))
                u->kind = VIOMMU_IOMMU_KIND_IOMMUFD_TEST;

        /* The Arm SMMU drivers name a unit after its register base. */
        if (addr && safe_atox64(addr, &u->address) >= 0)
                u->has_address = true;

        *ret = TAKE_PTR(u);
        return 0;
}

static int iommu_compare_qsort(const void *a, const void *b) {
        return strverscmp((*(const struct viommu_topology_iommu * const *) a)->name,
                          (*(const struct viommu_topology_iommu * const *) b)->name);
}

/* --------------------------------------------------------------- topology */

_public_ struct viommu_topology *viommu_topology_free(struct viommu_topology *t) {
        if (!t)
                return NULL;

        for (size_t i = 0; i < t->n_iommus; i++)
                iommu_free(t->iommus[i]);
        free(t->iommus);
        for (size_t i = 0; i < t->n_groups; i++)
                group_free(t->groups[i]);
        free(t->groups);
        for (size_t i = 0; i < t->n_devices; i++)
                viommu_topology_device_free(t->devices[i]);
        free(t->devices);
        strv_free(t->issues);
        return mfree(t);
}

static int topology_issue_errno(struct viommu_topology *t, const char *what, int error) {
        char e[64];

        if (error == -ENOMEM)
                return error;
        return issue_add(&t->issues, &t->n_issues, "%s: %s", what, errno_name(error, e, sizeof(e)));
}

/* Scans the devices of the given subsystems. */
static int enumerate_subsystems(struct scan *s, const char * const *subsystems, size_t n,
                                struct udev_enumerate **ret) {
        _cleanup_(udev_enumerate_unrefp) struct udev_enumerate *e = NULL;
        int r;

        e = udev_enumerate_new(s->udev);
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = udev_enumerate_add_match_subsystem(e, subsystems[i]);
                if (r < 0)
                        return r;
        }
        r = udev_enumerate_scan_devices(e);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(e);
        return 0;
}

/* The units; the devices they link to go to paths. */
static int iommus_read(struct scan *s, struct viommu_topology *t, struct device_paths *paths) {
        static const char * const subsystems[] = { "iommu" };
        _cleanup_(udev_enumerate_unrefp) struct udev_enumerate *e = NULL;
        struct udev_list_entry *i;
        struct list units = {};
        int r;

        r = enumerate_subsystems(s, subsystems, ELEMENTSOF(subsystems), &e);
        if (r < 0)
                return topology_issue_errno(t, "/class/iommu", r);

        udev_list_entry_foreach(i, udev_enumerate_get_list_entry(e)) {
                _cleanup_(udev_device_unrefp) struct udev_device *ud = NULL;
                struct viommu_topology_iommu *u = NULL;

                ud = udev_device_new_from_syspath(s->udev, udev_list_entry_get_name(i));
                if (!ud)
                        continue; /* gone since */

                r = iommu_read(ud, t, true, paths, &u);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0) {
                        r = topology_issue_errno(t, udev_device_get_devpath(ud), r);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                r = list_push(&units, u);
                if (r < 0) {
                        iommu_free(u);
                        goto fail;
                }
        }

        if (units.n > 1)
                qsort(units.items, units.n, sizeof(void *), iommu_compare_qsort);
        t->iommus = (struct viommu_topology_iommu **) units.items;
        t->n_iommus = units.n;
        return 0;

fail:
        for (size_t k = 0; k < units.n; k++)
                iommu_free(units.items[k]);
        free(units.items);
        return r;
}

/* The buses whose every device matters, even one without IOMMU. */
static const char * const buses[] = {
        "pci",
        "iommufd_mock",         /* the iommufd test driver's mock devices */
};

/*
 * The syspaths of those buses' devices, sorted. udev's enumeration would make
 * a udev device of each, only for devices_read() to make another: the bus's
 * directory of links says the same for a fraction of the cost. Whether a link
 * leads to a device is left to devices_read(), which must look anyway.
 */
static int buses_read(struct viommu_topology *t, struct list *listed) {
        for (size_t i = 0; i < ELEMENTSOF(buses); i++) {
                _cleanup_free_ char *dir = NULL;
                _cleanup_closedir_ DIR *d = NULL;
                int r;

                dir = strprintf(SYSFS "/bus/%s/devices", buses[i]);
                if (!dir)
                        return -ENOMEM;
                d = opendir(dir);
                if (!d) {
                        if (errno == ENOENT)
                                continue;
                        return topology_issue_errno(t, "/bus", -errno);
                }

                for (;;) {
                        _cleanup_free_ char *target = NULL;
                        struct dirent *de;

                        r = readdir_visible(d, &de);
                        if (r < 0)
                                return topology_issue_errno(t, "/bus", r);
                        if (r == 0)
                                break;

                        r = link_read(dirfd(d), dir, de->d_name, &target, NULL);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0 || !devpath_of(target))
                                continue;

                        r = list_push(listed, target);
                        if (r < 0)
                                return r;
                        TAKE_PTR(target);
                }
        }

        if (listed->n > 1)
                qsort(listed->items, listed->n, sizeof(void *), str_compare_qsort);
        return 0;
}

/* IOMMU groups are no devices: udev cannot enumerate them. */
static int groups_read(struct scan *s, struct viommu_topology *t, struct device_paths *paths) {
        _cleanup_closedir_ DIR *d = NULL;
        struct list groups = {};
        int r;

        d = opendir(SYSFS "/kernel/iommu_groups");
        if (!d)
                return errno == ENOENT ? 0 : topology_issue_errno(t, "/kernel/iommu_groups", -errno);

        for (;;) {
                struct viommu_topology_group *g = NULL;
                struct dirent *de;
                unsigned id;

                r = readdir_visible(d, &de);
                if (r < 0) {
                        r = topology_issue_errno(t, "/kernel/iommu_groups", r);
                        if (r < 0)
                                goto fail;
                        break;
                }
                if (r == 0)
                        break;
                if (safe_atou(de->d_name, &id) < 0)
                        continue;

                r = group_read(s, t, id, paths, &g);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0) {
                        char e[64];

                        r = issue_add(&t->issues, &t->n_issues, "/kernel/iommu_groups/%u: %s", id,
                                      errno_name(r, e, sizeof(e)));
                        if (r < 0)
                                goto fail;
                        continue;
                }
                r = list_push(&groups, g);
                if (r < 0) {
                        group_free(g);
                        goto fail;
                }
        }

        if (groups.n > 1)
                qsort(groups.items, groups.n, sizeof(void *), group_compare_qsort);
        t->groups = (struct viommu_topology_group **) groups.items;
        t->n_groups = groups.n;
        return 0;

fail:
        for (size_t i = 0; i < groups.n; i++)
                group_free(groups.items[i]);
        free(groups.items);
        return r;
}

static int scan_init(struct udev *udev, struct scan *ret) {
        struct scan s = {};

        s.udev = udev ? udev_ref(udev) : udev_new();
        if (!s.udev)
                return -ENOMEM;

        *ret = s;
        return 0;
}

/*
 * A share of the devices, read by a thread of its own, with a udev context of
 * its own: libudev's objects must not cross threads. The topology read so far
 * is only looked at; what goes wrong goes to the worker's own issues.
 */
struct worker {
        struct scan scan;
        char * const *paths;
        size_t n_paths;
        size_t n_listed;                /* the first so many paths a bus listed */
        struct list devices;
        char **issues;
        size_t n_issues;
        int r;
        pthread_t thread;
        bool started;
};

static void *worker_run(void *userdata) {
        struct worker *w = userdata;
        int r;

        for (size_t i = 0; i < w->n_paths; i++) {
                _cleanup_(udev_device_unrefp) struct udev_device *ud = NULL;
                struct viommu_topology_device *d = NULL;
                char e[64];

                ud = udev_device_new_from_syspath(w->scan.udev, w->paths[i]);
                r = ud ? device_read(&w->scan, ud, &d) : udev_errno();
                if (r == -ENOMEM)
                        goto fail;
                /* A bus's link to no device (one gone since) is passed over, as udev does. */
                if (!ud && i < w->n_listed)
                        continue;
                if (r < 0) {
                        r = issue_add(&w->issues, &w->n_issues, "%s: linked to, but not a device: %s",
                                      devpath_of(w->paths[i]), errno_name(r, e, sizeof(e)));
                        if (r < 0)
                                goto fail;
                        continue;
                }
                r = list_push(&w->devices, d);
                if (r < 0) {
                        viommu_topology_device_free(d);
                        goto fail;
                }
        }
        return NULL;

fail:
        w->r = r;
        return NULL;
}

static void worker_done(struct worker *w) {
        for (size_t i = 0; i < w->devices.n; i++)
                viommu_topology_device_free(w->devices.items[i]);
        free(w->devices.items);
        strv_free(w->issues);
        scan_done(&w->scan);
}

/* Moves a thread's issues to the end of t's. */
static int issues_take(struct viommu_topology *t, char ***issues, size_t *n_issues) {
        char **l;

        if (*n_issues == 0)
                return 0;
        l = reallocarray(t->issues, t->n_issues + *n_issues + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        memcpy(l + t->n_issues, *issues, *n_issues * sizeof(char *));
        t->n_issues += *n_issues;
        l[t->n_issues] = NULL;
        t->issues = l;
        *issues = mfree(*issues);
        *n_issues = 0;
        return 0;
}

/*
 * Each device costs some forty system calls, which is where a large host's
 * enumeration spends its time: above a few hundred devices, a thread per CPU
 * reads a share, up to a few threads.
 */
#define DEVICES_PER_WORKER_MIN 256
#define WORKERS_MAX 4

static size_t workers_wanted(size_t n_devices) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        size_t n = MIN(n_devices / DEVICES_PER_WORKER_MIN, (size_t) WORKERS_MAX);

        /*
         * umockdev's preload, which tests run the library under, resolves
         * paths in static buffers that threads would share.
         */
        if (getenv("UMOCKDEV_DIR"))
                return 1;

        if (cpus > 0)
                n = MIN(n, (size_t) cpus);
        return MAX(n, (size_t) 1);
}

/* Reads the devices at the syspaths of the buses' list l and of extra, which joins l. */
static int devices_read(struct scan *s, struct viommu_topology *t, struct list *l, struct list *extra) {
        struct worker workers[WORKERS_MAX] = {};
        size_t n = 0, n_listed = l->n, n_workers, n_devices = 0;
        struct viommu_topology_device **devices;
        int r;

        /* A group and a unit may name the same device outside the buses. */
        if (extra->n > 1)
                qsort(extra->items, extra->n, sizeof(void *), str_compare_qsort);
        for (size_t i = 0; i < extra->n; i++) {
                if (n > 0 && streq(extra->items[i], extra->items[n - 1]))
                        free(extra->items[i]);
                else
                        extra->items[n++] = extra->items[i];
        }
        extra->n = n;
        r = list_take(l, extra);
        if (r < 0)
                return r;
        n = l->n;

        n_workers = workers_wanted(n);
        for (size_t k = 0; k < n_workers && r >= 0; k++) {
                struct worker *w = &workers[k];
                size_t first = n * k / n_workers;

                w->paths = (char * const *) l->items + first;
                w->n_paths = n * (k + 1) / n_workers - first;
                w->n_listed = n_listed > first ? MIN(n_listed - first, w->n_paths) : 0;
                /* The first share is read here, with the caller's context. */
                r = scan_init(k == 0 ? s->udev : NULL, &w->scan);
                w->scan.topology = s->topology;
                /* A thread that cannot start leaves its share to this one. */
                if (r >= 0 && k > 0)
                        w->started = pthread_create(&w->thread, NULL, worker_run, w) == 0;
        }
        for (size_t k = 0; k < n_workers && r >= 0; k++)
                if (!workers[k].started)
                        worker_run(&workers[k]);

        for (size_t k = 0; k < n_workers; k++) {
                if (workers[k].started)
                        (void) pthread_join(workers[k].thread, NULL);
                if (r >= 0)
                        r = workers[k].r;
                if (r >= 0)
                        r = issues_take(t, &workers[k].issues, &workers[k].n_issues);
                n_devices += workers[k].devices.n;
        }
        if (r < 0)
                goto finish;

        devices = calloc(n_devices + 1, sizeof(*devices));
        if (!devices) {
                r = -ENOMEM;
                goto finish;
        }
        n_devices = 0;
        for (size_t k = 0; k < n_workers; k++) {
                if (workers[k].devices.n == 0)
                        continue;
                memcpy(devices + n_devices, workers[k].devices.items,
                       workers[k].devices.n * sizeof(*devices));
                n_devices += workers[k].devices.n;
                workers[k].devices.n = 0;
        }
        if (n_devices > 1)
                qsort(devices, n_devices, sizeof(*devices), device_compare_qsort);
        t->devices = devices;
        t->n_devices = n_devices;

finish:
        for (size_t k = 0; k < n_workers; k++)
                worker_done(&workers[k]);
        return r;
}

/*
 * The units, read by a thread of their own while the calling one reads the
 * groups, on a host large enough for the devices to be read in shares: each
 * lists its devices' links, a few thousand between them.
 */
struct units_reader {
        struct scan scan;
        struct viommu_topology *topology;       /* its units and its issues */
        struct device_paths paths;
        int r;
        pthread_t thread;
        bool started;
};

static void *units_reader_run(void *userdata) {
        struct units_reader *u = userdata;

        u->r = iommus_read(&u->scan, u->topology, &u->paths);
        return NULL;
}

static void units_reader_done(struct units_reader *u) {
        viommu_topology_free(u->topology);
        device_paths_done(&u->paths);
        scan_done(&u->scan);
}

/* The units and groups of t; the devices they link to, outside the buses, go to paths->extra. */
static int units_and_groups_read(struct scan *s, struct viommu_topology *t, struct device_paths *paths) {
        _cleanup_(units_reader_done) struct units_reader u = {
                .paths.listed = paths->listed,
                .paths.n_listed = paths->n_listed,
        };
        int r;

        if (workers_wanted(paths->n_listed) < 2) {
                r = iommus_read(s, t, paths);
                return r < 0 ? r : groups_read(s, t, paths);
        }

        r = scan_init(NULL, &u.scan);
        if (r < 0)
                return r;
        u.topology = calloc(1, sizeof(*u.topology));
        if (!u.topology)
                return -ENOMEM;
        /* A thread that cannot start leaves the units to this one. */
        u.started = pthread_create(&u.thread, NULL, units_reader_run, &u) == 0;
        if (!u.started)
                units_reader_run(&u);

        r = groups_read(s, t, paths);
        if (u.started)
                (void) pthread_join(u.thread, NULL);
        if (r < 0)
                return r;
        if (u.r < 0)
                return u.r;

        t->iommus = TAKE_PTR(u.topology->iommus);
        t->n_iommus = u.topology->n_iommus;
        u.topology->n_iommus = 0;
        r = list_take(&paths->extra, &u.paths.extra);
        if (r < 0)
                return r;
        return issues_take(t, &u.topology->issues, &u.topology->n_issues);
}

_public_ int viommu_topology_new(struct viommu_topology **ret) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        _cleanup_(list_free_strings) struct list listed = {};
        _cleanup_(device_paths_done) struct device_paths paths = {};
        _cleanup_(scan_done) struct scan s = {};
        int r;

        if (!ret)
                return -EINVAL;

        r = scan_init(NULL, &s);
        if (r < 0)
                return r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;

        r = buses_read(t, &listed);
        if (r < 0)
                return r;
        paths.listed = (char * const *) listed.items;
        paths.n_listed = listed.n;
        r = units_and_groups_read(&s, t, &paths);
        if (r < 0)
                return r;

        s.topology = t;
        r = devices_read(&s, t, &listed, &paths.extra);
        if (r < 0)
                return r;

        if (t->n_issues > 1)
                qsort(t->issues, t->n_issues, sizeof(char *), str_compare_qsort);

        *ret = TAKE_PTR(t);
        return 0;
}

_public_ int viommu_topology_device_new_from_udev(struct udev_device *ud, struct viommu_topology_device **ret) {
        _cleanup_(scan_done) struct scan s = {};
        int r;

        if (!ud || !ret)
                return -EINVAL;

        /* A "remove" event's device is no longer there to read. */
        if (access(udev_device_get_syspath(ud), F_OK) < 0)
                return -errno;

        r = scan_init(udev_device_get_udev(ud), &s);
        if (r < 0)
                return r;

        return device_read(&s, ud, ret);
}

/* ----------------------------------------------------------------- update */

/* Where item belongs in the sorted array items: the index of its equal, or of the first one after it. */
static size_t sorted_index(void * const *items, size_t n, const void *item,
                           int (*compare)(const void *, const void *)) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (compare(&items[mid], &item) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Puts item into the array at index i, keeping it NULL-terminated. */
static int array_insert(void ***items, size_t *n, size_t i, void *item) {
        void **q = reallocarray(*items, *n + 2, sizeof(void *));

        if (!q)
                return -ENOMEM;
        memmove(q + i + 1, q + i, (*n - i) * sizeof(void *));
        q[i] = item;
        q[++*n] = NULL;
        *items = q;
        return 0;
}

static void array_remove(void ***items, size_t *n, size_t i) {
        memmove(*items + i, *items + i + 1, (*n - i - 1) * sizeof(void *));
        (*items)[--*n] = NULL;
}

/* Reads group id afresh, or drops it when it is gone. */
static int group_refresh(struct scan *s, struct viommu_topology *t, unsigned id) {
        struct viommu_topology_group key = { .id = id }, *g = NULL;
        struct viommu_topology scratch = {};
        size_t i;
        int r;

        i = sorted_index((void **) t->groups, t->n_groups, &key, group_compare_qsort);
        /* Its members' links were followed when they were read; what fails now is the group's own. */
        r = group_read(s, &scratch, id, NULL, &g);
        strv_free(scratch.issues);
        if (r == -ENOMEM)
                return r;

        if (i < t->n_groups && t->groups[i]->id == id) {
                group_free(t->groups[i]);
                if (r < 0)
                        array_remove((void ***) &t->groups, &t->n_groups, i);
                else
                        t->groups[i] = g;
                return 0;
        }
        if (r < 0)
                return 0;
        r = array_insert((void ***) &t->groups, &t->n_groups, i, g);
        if (r < 0)
                group_free(g);
        return r;
}

static bool has_issue_about(char * const *issues, size_t n, const char *what) {
        for (size_t i = 0; i < n; i++)
                if (startswith(issues[i], what))
                        return true;
        return false;
}

/* Brings unit u's list of devices up to date about device name alone. */
static int iommu_member_update(struct viommu_topology_iommu *u, const char *name, bool member) {
        size_t i = sorted_index((void **) u->devices, u->n_devices, name, name_compare_qsort);
        bool listed = i < u->n_devices && streq(u->devices[i], name);
        char *c;
        int r;

        if (listed && !member) {
                free(u->devices[i]);
                array_remove((void ***) &u->devices, &u->n_devices, i);
        } else if (!listed && member) {
                c = strdup(name);
                if (!c)
                        return -ENOMEM;
                r = array_insert((void ***) &u->devices, &u->n_devices, i, c);
                if (r < 0) {
                        free(c);
                        return r;
                }
        }
        return 0;
}

/*
 * Reads unit name afresh, or drops it when it is gone. Of its devices only
 * device_name is looked at, unless they could not be listed before: a unit
 * has thousands.
 */
static int iommu_refresh(struct scan *s, struct viommu_topology *t, const char *name, const char *device_name) {
        _cleanup_(udev_device_unrefp) struct udev_device *ud = NULL;
        struct viommu_topology scratch = {};
        struct viommu_topology_iommu *old, *u = NULL;
        _cleanup_free_ char *syspath = NULL, *link = NULL;
        bool incremental, member;
        struct stat st;
        size_t i;
        int r;

        for (i = 0; i < t->n_iommus && !streq(t->iommus[i]->name, name); i++)
                ;
        if (i == t->n_iommus)
                return 0; /* units come with their driver, not with a device */
        old = t->iommus[i];
        syspath = strprintf(SYSFS "%s", old->devpath);
        link = strprintf(SYSFS "%s/devices/%s", old->devpath, device_name);
        if (!syspath || !link)
                return -ENOMEM;

        r = lstat(link, &st) < 0 ? -errno : 0;
        member = r >= 0;
        incremental = IN_SET(r, 0, -ENOENT) && !has_issue_about(old->issues, old->n_issues, "devices: ");

        ud = udev_device_new_from_syspath(s->udev, syspath);
        r = ud ? iommu_read(ud, &scratch, !incremental, NULL, &u) : udev_errno();
        strv_free(scratch.issues);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && incremental) {
                u->devices = TAKE_PTR(old->devices);
                u->n_devices = old->n_devices;
                r = iommu_member_update(u, device_name, member);
                if (r < 0) {
                        old->devices = TAKE_PTR(u->devices);
                        iommu_free(u);
                        return r;
                }
        }

        iommu_free(old);
        if (r < 0) {
                array_remove((void ***) &t->iommus, &t->n_iommus, i);
                return 0;
        }
        t->iommus[i] = u;
        return 0;
}

/* Whether a topology lists ud: every device of those buses, any other one behind an IOMMU. */
static bool device_wanted(struct udev_device *ud) {
        _cleanup_free_ char *p = NULL;
        const char *subsystem = udev_device_get_subsystem(ud);

        for (size_t i = 0; subsystem && i < ELEMENTSOF(buses); i++)
                if (streq(subsystem, buses[i]))
                        return true;
        p = strprintf("%s/iommu_group", udev_device_get_syspath(ud));
        return p && faccessat(AT_FDCWD, p, F_OK, AT_SYMLINK_NOFOLLOW) >= 0;
}

/* The index of the device at devpath in t, or t->n_devices. */
static size_t device_index(const struct viommu_topology *t, struct udev_device *ud, const char *devpath) {
        struct viommu_topology_device key = {
                .bus = (char *) udev_device_get_subsystem(ud),
                .name = (char *) udev_device_get_sysname(ud),
        };
        size_t i;

        /*
         * Sorted by bus and name, which a device keeps all its life, unless
         * its bus could not be told when it was read (those go last). A
         * monitor's device tells its bus; one made from a syspath that is gone
         * may not.
         */
        if (!key.bus || !key.name) {
                for (i = 0; i < t->n_devices && !streq(t->devices[i]->devpath, devpath); i++)
                        ;
                return i;
        }
        i = sorted_index((void **) t->devices, t->n_devices, &key, device_compare_qsort);
        if (i < t->n_devices && streq(t->devices[i]->devpath, devpath))
                return i;
        for (i = t->n_devices; i > 0 && !t->devices[i - 1]->bus; i--)
                if (streq(t->devices[i - 1]->devpath, devpath))
                        return i - 1;
        return t->n_devices;
}

_public_ int viommu_topology_update_device(struct viommu_topology *t, struct udev_device *ud) {
        _cleanup_(viommu_topology_device_freep) struct viommu_topology_device *old = NULL;
        _cleanup_(scan_done) struct scan s = {};
        struct viommu_topology_device *d = NULL;
        const char *subsystem, *devpath;
        bool gone;
        size_t i;
        int r;

        if (!t || !ud)
                return -EINVAL;

        /* The kernel sends "remove" before it deletes the device's
         * directory, and the device's uevent file before that. */
        gone = streq_ptr(udev_device_get_action(ud), "remove");
        /* A VFIO cdev is part of the device it belongs to, which stays. */
        subsystem = udev_device_get_subsystem(ud);
        if (subsystem && streq(subsystem, "vfio-dev")) {
                ud = udev_device_get_parent(ud);
                if (!ud)
                        return 0;
                gone = false;
        }
        devpath = udev_device_get_devpath(ud);
        if (!devpath)
                return -EINVAL;

        r = scan_init(udev_device_get_udev(ud), &s);
        if (r < 0)
                return r;
        s.topology = t;

        i = device_index(t, ud, devpath);
        if (i < t->n_devices) {
                old = t->devices[i];
                array_remove((void ***) &t->devices, &t->n_devices, i);
        }

        if (!gone) {
                _cleanup_free_ char *uevent = strprintf("%s/uevent", udev_device_get_syspath(ud));

                if (!uevent)
                        return -ENOMEM;
                gone = !path_exists(uevent);
        }
        if (!gone && (old || device_wanted(ud))) {
                _cleanup_free_ char *target = NULL;
                unsigned id;

                /* A device that came brings its group along. */
                if (link_read(AT_FDCWD, udev_device_get_syspath(ud), "iommu_group", &target, NULL) >= 0 &&
                    startswith(target, SYSFS "/kernel/iommu_groups/") &&
                    safe_atou(last_component(target), &id) >= 0) {
                        r = group_refresh(&s, t, id);
                        if (r < 0)
                                return r;
                }

                r = device_read(&s, ud, &d);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        i = sorted_index((void **) t->devices, t->n_devices, d, device_compare_qsort);
                        r = array_insert((void ***) &t->devices, &t->n_devices, i, d);
                        if (r < 0) {
                                viommu_topology_device_free(d);
                                return r;
                        }
                        if (d->iommu) {
                                r = iommu_refresh(&s, t, d->iommu, d->name);
                                if (r < 0)
                                        return r;
                        }
                }
        }

        /* The group and unit it leaves lose it. */
        if (old && old->iommu_group >= 0 && (!d || d->iommu_group != old->iommu_group)) {
                r = group_refresh(&s, t, (unsigned) old->iommu_group);
                if (r < 0)
                        return r;
        }
        if (old && old->iommu && (!d || !streq_ptr(d->iommu, old->iommu))) {
                r = iommu_refresh(&s, t, old->iommu, old->name);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------- lookups */

_public_ int viommu_topology_find_iommu(const struct viommu_topology *t, const char *name,
                                        const struct viommu_topology_iommu **ret) {
        if (!t || !name)
                return -EINVAL;

        for (size_t i = 0; i < t->n_iommus; i++)
                if (streq(t->iommus[i]->name, name)) {
                        if (ret)
                                *ret = t->iommus[i];
                        return 0;
                }
        return -ENOENT;
}

_public_ int viommu_topology_find_group(const struct viommu_topology *t, unsigned id,
                                        const struct viommu_topology_group **ret) {
        size_t lo = 0, hi;

        if (!t)
                return -EINVAL;

        hi = t->n_groups;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (t->groups[mid]->id == id) {
                        if (ret)
                                *ret = t->groups[mid];
                        return 0;
                }
                if (t->groups[mid]->id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -ENOENT;
}

_public_ int viommu_topology_find_device(const struct viommu_topology *t, const char *bus, const char *name,
                                         const struct viommu_topology_device **ret) {
        if (!t || !name)
                return -EINVAL;

        for (size_t i = 0; i < t->n_devices; i++) {
                const struct viommu_topology_device *d = t->devices[i];

                if (bus && (!d->bus || !streq(d->bus, bus)))
                        continue;
                if (streq(d->name, name)) {
                        if (ret)
                                *ret = d;
                        return 0;
                }
        }
        return -ENOENT;
}

_public_ int viommu_topology_find_pci_device(const struct viommu_topology *t, const char *bdf,
                                             const struct viommu_topology_device **ret) {
        uint32_t domain;
        uint8_t bus, slot, function;
        uint64_t key;

        if (!t || !bdf)
                return -EINVAL;
        if (pci_address_parse(bdf, &domain, &bus, &slot, &function) < 0)
                return -EINVAL;
        key = pci_address_key(domain, bus, slot, function);

        for (size_t i = 0; i < t->n_devices; i++) {
                const struct viommu_topology_device *d = t->devices[i];

                /* The parsed address is meaningless when the name was not one. */
                if (!d->is_pci || pci_address_parse(d->name, &domain, &bus, &slot, &function) < 0)
                        continue;
                if (pci_address_key(domain, bus, slot, function) == key) {
                        if (ret)
                                *ret = d;
                        return 0;
                }
        }
        return -ENOENT;
}
