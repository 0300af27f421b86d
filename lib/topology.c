/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The host's IOMMU topology, read from sysfs by directory walks alone, so that
 * a recorded tree below $VIOMMU_SYSFS_ROOT goes through exactly the code that
 * reads the live /sys. libudev only adds to that on the live /sys (hardware
 * database names), since it cannot be pointed at another root.
 *
 * Every path below is relative to the root directory fd and has no leading
 * slash. sysfs symlinks are relative and their directories are real ones, so
 * a link target is resolved by joining it to the path of the directory that
 * holds the link, without asking the file system.
 */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libudev.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util.h"
#include "viommu-topology.h"

/* Larger than any reserved_regions file a kernel writes (one page). */
#define REGIONS_FILE_MAX (1024 * 1024)

#define PCI_EXT_CAP_START 0x100
#define PCI_EXT_CAP_ID_ATS 0x0f
#define PCI_EXT_CAP_ID_PRI 0x13
#define PCI_EXT_CAP_ID_PASID 0x1b

struct sysfs {
        int root_fd;
        struct udev *udev;              /* only on the live /sys */
        struct udev_hwdb *hwdb;         /* likewise, when the system has one */
        /* The units and groups read so far, so that devices need not look again. */
        const struct viommu_topology *topology;
};

static void sysfs_done(struct sysfs *s) {
        closep(&s->root_fd);
        if (s->hwdb)
                udev_hwdb_unref(s->hwdb);
        if (s->udev)
                udev_unref(s->udev);
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
        /* Only path_resolve() gives EXDEV here; the generic text would mislead. */
        if (abs(error) == EXDEV)
                return "link leads out of the sysfs root";
        return strerror_r(abs(error), buf, size);
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

static char *path_join(const char *a, const char *b) {
        return isempty(a) ? strdup(b) : strprintf("%s/%s", a, b);
}

/*
 * Joins a relative symlink target to the directory holding the link, folding
 * "." and "..". A target that would leave the root gives -EXDEV.
 */
static int path_resolve(const char *dir, const char *target, char **ret) {
        size_t len = strlen(dir);
        const char *p = target;
        char *buf;

        if (target[0] == '/')
                return -EXDEV;

        buf = malloc(len + 1 + strlen(target) + 1);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, dir, len);

        while (*p) {
                size_t n = strcspn(p, "/");

                if (n == 0 || (n == 1 && p[0] == '.'))
                        ;
                else if (n == 2 && p[0] == '.' && p[1] == '.') {
                        char *slash;

                        if (len == 0) {
                                free(buf);
                                return -EXDEV;
                        }
                        buf[len] = 0;
                        slash = strrchr(buf, '/');
                        len = slash ? (size_t) (slash - buf) : 0;
                } else {
                        if (len > 0)
                                buf[len++] = '/';
                        memcpy(buf + len, p, n);
                        len += n;
                }

                p += n;
                if (*p == '/')
                        p++;
        }

        buf[len] = 0;
        *ret = buf;
        return 0;
}

/* Reads link "name" in directory fd (at path dir) and resolves it below the root. */
static int link_resolve_at(int fd, const char *dir, const char *name, char **ret) {
        char target[PATH_MAX];
        ssize_t n;

        n = readlinkat(fd, name, target, sizeof(target));
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof(target))
                return -ENAMETOOLONG;
        target[n] = 0;

        return path_resolve(dir, target, ret);
}

/* The last component of what link "name" points to: a driver's or bus's name. */
static int link_basename_at(int fd, const char *name, char **ret) {
        char target[PATH_MAX], *s;
        ssize_t n;

        n = readlinkat(fd, name, target, sizeof(target));
        if (n < 0)
                return -errno;
        if ((size_t) n >= sizeof(target))
                return -ENAMETOOLONG;
        target[n] = 0;

        s = strdup(last_component(target));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
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

/*
 * Lists the entries of directory "sub" of fd (at path dir): their names, and
 * when links is not NULL, where each one leads below the root; a link that
 * cannot be followed is an issue. A missing directory is an empty one.
 */
static int dir_list(int fd, const char *dir, const char *sub, struct list *names, struct list *links,
                    char ***issues, size_t *n_issues) {
        _cleanup_free_ char *path = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        int dfd, r;

        dfd = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }

        if (links) {
                path = path_join(dir, sub);
                if (!path)
                        return -ENOMEM;
        }

        for (;;) {
                struct dirent *de;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno > 0)
                                return -errno;
                        break;
                }
                if (de->d_name[0] == '.')
                        continue;

                if (names) {
                        r = list_push_strdup(names, de->d_name);
                        if (r < 0)
                                return r;
                }
                if (links) {
                        char *target, e[64];

                        r = link_resolve_at(dirfd(d), path, de->d_name, &target);
                        if (r == -ENOMEM)
                                return r;
                        if (r == -EINVAL)
                                continue; /* not a link: nothing to follow */
                        if (r < 0) {
                                r = issue_add(issues, n_issues, "/%s/%s: cannot follow: %s",
                                              path, de->d_name, errno_name(r, e, sizeof(e)));
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        r = list_push(links, target);
                        if (r < 0) {
                                free(target);
                                return r;
                        }
                }
        }

        return 0;
}

/*
 * Reads a hex attribute ("0x8086", "fed90000") of at most max; -1 and an issue
 * when it cannot. prefix names fd's directory in the issue.
 */
static int read_hex_attr(int fd, const char *prefix, const char *attr, uint64_t max, int64_t *ret,
                         char ***issues, size_t *n_issues) {
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        char e[64];
        int r;

        *ret = -1;
        r = read_one_line_file_at(fd, attr, &s);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return issue_add(issues, n_issues, "%s%s: %s", prefix, attr, errno_name(r, e, sizeof(e)));

        r = safe_atox64(s, &v);
        if (r < 0 || v > max)
                return issue_add(issues, n_issues, "%s%s: cannot parse \"%s\"", prefix, attr, s);

        *ret = (int64_t) v;
        return 0;
}

/* ---------------------------------------------------------------- devices */

static void pcie_caps_read(int dev_fd, struct viommu_pcie_caps *caps) {
        _cleanup_close_ int fd = -EBADF;
        struct viommu_pcie_caps c = {};
        unsigned off = PCI_EXT_CAP_START;
        struct stat st;

        *caps = (struct viommu_pcie_caps) {};

        /*
         * Only PCIe devices have extended config space, and only a privileged
         * reader sees past the first 64 bytes: anything short is "unknown".
         * Registers are read one by one, since each read of the file is a
         * config cycle on real hardware.
         */
        fd = openat(dev_fd, "config", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return;
        if (fstat(fd, &st) < 0 || st.st_size < 4096)
                return;

        for (unsigned i = 0; i < (4096 - PCI_EXT_CAP_START) / 4; i++) {
                uint8_t b[12];
                uint32_t hdr;
                unsigned next;

                if (pread(fd, b, 4, off) != 4)
                        return;
                hdr = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t) b[3] << 24;
                /* No extended capabilities at all, or a device that answers with all ones. */
                if (hdr == 0 || hdr == UINT32_MAX)
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

static int pci_read(int fd, struct viommu_topology_device *d) {
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
        int r;

        d->is_pci = true;

        r = pci_address_parse(d->name, &d->pci.domain, &d->pci.bus, &d->pci.slot, &d->pci.function);
        if (r < 0) {
                r = issue_add(&d->issues, &d->n_issues, "\"%s\" is not a PCI address", d->name);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                int32_t *field = (int32_t *) ((uint8_t *) &d->pci + ids[i].offset);
                int64_t v;

                r = read_hex_attr(fd, "", ids[i].attr, ids[i].max, &v, &d->issues, &d->n_issues);
                if (r < 0)
                        return r;
                *field = (int32_t) v;
        }

        pcie_caps_read(fd, &d->pci.caps);
        return 0;
}

static int device_read_group(struct sysfs *s, int fd, const char *path, struct viommu_topology_device *d) {
        _cleanup_free_ char *target = NULL;
        const char *num;
        unsigned id;
        char e[64];
        int r;

        r = link_resolve_at(fd, path, "iommu_group", &target);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return r;

        d->iommu_group = VIOMMU_TOPOLOGY_GROUP_UNKNOWN;
        if (r < 0)
                return issue_add(&d->issues, &d->n_issues, "iommu_group: %s", errno_name(r, e, sizeof(e)));

        num = startswith(target, "kernel/iommu_groups/");
        if (!num || safe_atou(num, &id) < 0 || id > INT_MAX)
                return issue_add(&d->issues, &d->n_issues,
                                 "iommu_group: links to /%s, not to an IOMMU group", target);
        if (s->topology ? viommu_topology_find_group(s->topology, id, NULL) < 0 :
                          faccessat(s->root_fd, target, F_OK, 0) < 0)
                return issue_add(&d->issues, &d->n_issues,
                                 "iommu_group: links to group %u, which does not exist", id);

        d->iommu_group = (int) id;
        return 0;
}

static bool iommu_known(const struct viommu_topology *t, const char *path) {
        const struct viommu_topology_iommu *u;

        return viommu_topology_find_iommu(t, last_component(path), &u) >= 0 && streq(u->devpath + 1, path);
}

static int device_read_iommu(struct sysfs *s, int fd, const char *path, struct viommu_topology_device *d) {
        _cleanup_free_ char *target = NULL;
        char e[64];
        int r;

        r = link_resolve_at(fd, path, "iommu", &target);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return issue_add(&d->issues, &d->n_issues, "iommu: %s", errno_name(r, e, sizeof(e)));
        if (s->topology ? !iommu_known(s->topology, target) : faccessat(s->root_fd, target, F_OK, 0) < 0)
                return issue_add(&d->issues, &d->n_issues,
                                 "iommu: links to /%s, which does not exist", target);

        d->iommu = strdup(last_component(target));
        return d->iommu ? 0 : -ENOMEM;
}

/* A VFIO driver (vfio-pci and its variants, vfio-platform) gives the device a vfio-dev/vfioN. */
static int device_read_vfio(int fd, struct viommu_topology_device *d) {
        _cleanup_free_ char *dev = NULL, *attr = NULL;
        _cleanup_(list_free_strings) struct list names = {};
        const char *node = NULL;
        unsigned maj, min;
        char e[64], tail;
        int r;

        r = dir_list(fd, "", "vfio-dev", &names, NULL, NULL, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return issue_add(&d->issues, &d->n_issues, "vfio-dev: %s", errno_name(r, e, sizeof(e)));

        /* The kernel makes one; take the first should there be more. */
        sort_names((char **) names.items, names.n);
        for (size_t i = 0; i < names.n; i++)
                if (startswith(names.items[i], "vfio")) {
                        node = names.items[i];
                        break;
                }
        if (!node)
                return 0;

        d->vfio_cdev = strprintf("/dev/vfio/devices/%s", node);
        attr = strprintf("vfio-dev/%s/dev", node);
        if (!d->vfio_cdev || !attr)
                return -ENOMEM;
        r = read_one_line_file_at(fd, attr, &dev);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return issue_add(&d->issues, &d->n_issues, "%s: %s", attr, errno_name(r, e, sizeof(e)));
        if (sscanf(dev, "%u:%u%c", &maj, &min, &tail) != 2)
                return issue_add(&d->issues, &d->n_issues, "%s: cannot parse \"%s\"", attr, dev);

        d->vfio_devnum = makedev(maj, min);
        return 0;
}

static int device_take_udev(struct sysfs *s, int fd, struct udev_device *ud, struct viommu_topology_device *d) {
        const char *vendor = NULL, *model = NULL;

        if (!d->is_pci)
                return 0;

        if (ud) {
                vendor = udev_device_get_property_value(ud, "ID_VENDOR_FROM_DATABASE");
                model = udev_device_get_property_value(ud, "ID_MODEL_FROM_DATABASE");
        }

        /* Without udevd (a container, early boot) the database is still there to ask. */
        if ((!vendor || !model) && s->hwdb) {
                _cleanup_free_ char *modalias = NULL;
                struct udev_list_entry *e;
                int r;

                r = read_one_line_file_at(fd, "modalias", &modalias);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        udev_list_entry_foreach(e, udev_hwdb_get_properties_list_entry(s->hwdb, modalias, 0)) {
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

/*
 * Reads the device at path (below the root). ud, when given, is the same
 * device as udev sees it. -ENOENT when the device is not there.
 */
static int device_read(struct sysfs *s, const char *path, struct udev_device *ud,
                       struct viommu_topology_device **ret) {
        _cleanup_(viommu_topology_device_freep) struct viommu_topology_device *d = NULL;
        _cleanup_close_ int fd = -EBADF;
        char e[64];
        int r;

        fd = openat(s->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->iommu_group = VIOMMU_TOPOLOGY_NO_GROUP;
        d->name = strdup(last_component(path));
        d->devpath = strprintf("/%s", path);
        if (!d->name || !d->devpath)
                return -ENOMEM;

        r = link_basename_at(fd, "subsystem", &d->bus);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                r = issue_add(&d->issues, &d->n_issues, "subsystem: %s", errno_name(r, e, sizeof(e)));
                if (r < 0)
                        return r;
        }

        r = link_basename_at(fd, "driver", &d->driver);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && r != -ENOENT) {
                r = issue_add(&d->issues, &d->n_issues, "driver: %s", errno_name(r, e, sizeof(e)));
                if (r < 0)
                        return r;
        }

        r = device_read_group(s, fd, path, d);
        if (r < 0)
                return r;
        r = device_read_iommu(s, fd, path, d);
        if (r < 0)
                return r;
        r = device_read_vfio(fd, d);
        if (r < 0)
                return r;

        if (d->bus && streq(d->bus, "pci")) {
                r = pci_read(fd, d);
                if (r < 0)
                        return r;
        }

        if (s->udev) {
                struct udev_device *own = NULL;

                if (!ud) {
                        _cleanup_free_ char *syspath = strprintf("/sys/%s", path);

                        if (!syspath)
                                return -ENOMEM;
                        ud = own = udev_device_new_from_syspath(s->udev, syspath);
                }
                r = device_take_udev(s, fd, ud, d);
                if (own)
                        udev_device_unref(own);
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

/* Reads group id; the devices it links to go to paths. -ENOENT when it is gone. */
static int group_read(struct sysfs *s, unsigned id, struct list *paths, struct viommu_topology_group **ret) {
        _cleanup_(group_freep) struct viommu_topology_group *g = NULL;
        _cleanup_(list_free_strings) struct list names = {};
        _cleanup_free_ char *path = NULL, *regions = NULL;
        _cleanup_close_ int fd = -EBADF;
        char e[64];
        int r;

        path = strprintf("kernel/iommu_groups/%u", id);
        if (!path)
                return -ENOMEM;
        fd = openat(s->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->id = id;

        r = read_one_line_file_at(fd, "type", &g->type);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                g->type = NULL;
                r = issue_add(&g->issues, &g->n_issues, "type: %s", errno_name(r, e, sizeof(e)));
                if (r < 0)
                        return r;
        }

        /* Only some drivers name their groups. */
        r = read_one_line_file_at(fd, "name", &g->name);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                g->name = NULL;
                if (r != -ENOENT) {
                        r = issue_add(&g->issues, &g->n_issues, "name: %s", errno_name(r, e, sizeof(e)));
                        if (r < 0)
                                return r;
                }
        }

        r = read_full_file_at(fd, "reserved_regions", REGIONS_FILE_MAX, &regions, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                r = issue_add(&g->issues, &g->n_issues, "reserved_regions: %s", errno_name(r, e, sizeof(e)));
        else
                r = regions_parse(g, regions);
        if (r < 0)
                return r;

        r = dir_list(fd, path, "devices", &names, paths, &g->issues, &g->n_issues);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                r = issue_add(&g->issues, &g->n_issues, "devices: %s", errno_name(r, e, sizeof(e)));
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

static int vtd_read(int fd, struct viommu_topology_iommu *u) {
        _cleanup_free_ char *version = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct viommu_vtd_info *v = &u->vtd;
        int64_t x;
        char e[64];
        int r;

        dfd = openat(fd, "intel-iommu", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : issue_add(&u->issues, &u->n_issues, "intel-iommu: %s",
                                                        errno_name(-errno, e, sizeof(e)));
        u->has_vtd = true;

        r = read_one_line_file_at(dfd, "version", &version);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                r = issue_add(&u->issues, &u->n_issues, "intel-iommu/version: %s", errno_name(r, e, sizeof(e)));
        else if (sscanf(version, "%u:%u", &v->version_major, &v->version_minor) != 2)
                r = issue_add(&u->issues, &u->n_issues, "intel-iommu/version: cannot parse \"%s\"", version);
        if (r < 0)
                return r;

        r = read_hex_attr(dfd, "intel-iommu/", "address", INT64_MAX, &x, &u->issues, &u->n_issues);
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
                _cleanup_free_ char *s = NULL;

                r = read_one_line_file_at(dfd, regs[i].attr, &s);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        r = issue_add(&u->issues, &u->n_issues, "intel-iommu/%s: %s",
                                      regs[i].attr, errno_name(r, e, sizeof(e)));
                else if (safe_atox64(s, regs[i].field) < 0)
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
                _cleanup_free_ char *s = NULL;
                unsigned n;

                *counts[i].field = -1;
                r = read_one_line_file_at(dfd, counts[i].attr, &s);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        r = issue_add(&u->issues, &u->n_issues, "intel-iommu/%s: %s",
                                      counts[i].attr, errno_name(r, e, sizeof(e)));
                else if (safe_atou(s, &n) < 0)
                        r = issue_add(&u->issues, &u->n_issues, "intel-iommu/%s: cannot parse \"%s\"",
                                      counts[i].attr, s);
                else
                        *counts[i].field = n;
                if (r < 0)
                        return r;
        }

        vtd_decode(v);
        return 0;
}

static int amd_vi_read(int fd, struct viommu_topology_iommu *u) {
        _cleanup_free_ char *features = NULL;
        _cleanup_close_ int dfd = -EBADF;
        char e[64], *colon;
        int64_t cap;
        int r;

        dfd = openat(fd, "amd-iommu", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : issue_add(&u->issues, &u->n_issues, "amd-iommu: %s",
                                                        errno_name(-errno, e, sizeof(e)));
        u->has_amd_vi = true;

        r = read_hex_attr(dfd, "amd-iommu/", "cap", UINT32_MAX, &cap, &u->issues, &u->n_issues);
        if (r < 0)
                return r;
        u->amd_vi.cap = cap >= 0 ? (uint32_t) cap : 0;

        /* "efr" from older kernels, "efr:efr2" from newer ones. */
        r = read_one_line_file_at(dfd, "features", &features);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return issue_add(&u->issues, &u->n_issues, "amd-iommu/features: %s", errno_name(r, e, sizeof(e)));
        colon = strchr(features, ':');
        if (colon)
                *colon = 0;
        if (safe_atox64(features, &u->amd_vi.efr) < 0 ||
            (colon && safe_atox64(colon + 1, &u->amd_vi.efr2) < 0)) {
                if (colon)
                        *colon = ':';
                return issue_add(&u->issues, &u->n_issues, "amd-iommu/features: cannot parse \"%s\"", features);
        }
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

/* Reads unit "name" of class/iommu; the devices it links to go to paths. -ENOENT when it is gone. */
static int iommu_read(struct sysfs *s, const char *name, struct list *paths,
                      struct viommu_topology_iommu **ret) {
        _cleanup_(iommu_freep) struct viommu_topology_iommu *u = NULL;
        _cleanup_(list_free_strings) struct list names = {};
        _cleanup_free_ char *link = NULL, *path = NULL, *parent = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *addr = NULL;
        char e[64];
        int r;

        link = path_join("class/iommu", name);
        if (!link)
                return -ENOMEM;
        r = link_resolve_at(s->root_fd, "class/iommu", link, &path);
        if (r == -EINVAL) {
                /* A directory rather than a link: hand-made trees. */
                path = TAKE_PTR(link);
                r = 0;
        }
        if (r < 0)
                return r;

        fd = openat(s->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->name = strdup(name);
        u->devpath = strprintf("/%s", path);
        if (!u->name || !u->devpath)
                return -ENOMEM;

        r = link_resolve_at(fd, path, "device", &parent);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                _cleanup_close_ int pfd = -EBADF;

                u->parent = strdup(last_component(parent));
                if (!u->parent)
                        return -ENOMEM;

                pfd = openat(s->root_fd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd >= 0) {
                        r = link_basename_at(pfd, "driver", &u->parent_driver);
                        if (r == -ENOMEM)
                                return r;
                }
        }

        r = dir_list(fd, path, "devices", &names, paths, &u->issues, &u->n_issues);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                r = issue_add(&u->issues, &u->n_issues, "devices: %s", errno_name(r, e, sizeof(e)));
                if (r < 0)
                        return r;
        }
        sort_names((char **) names.items, names.n);
        u->devices = (char **) TAKE_PTR(names.items);
        u->n_devices = names.n;

        r = vtd_read(fd, u);
        if (r < 0)
                return r;
        r = amd_vi_read(fd, u);
        if (r < 0)
                return r;

        if (u->has_vtd)
                u->kind = VIOMMU_IOMMU_KIND_INTEL_VTD;
        else if (u->has_amd_vi)
                u->kind = VIOMMU_IOMMU_KIND_AMD_VI;
        else if ((addr = startswith(name, "smmu3.")))
                u->kind = VIOMMU_IOMMU_KIND_ARM_SMMU_V3;
        else if ((addr = startswith(name, "smmu.")))
                u->kind = VIOMMU_IOMMU_KIND_ARM_SMMU;
        else if (u->parent_driver && streq(u->parent_driver, "virtio_iommu"))
                u->kind = VIOMMU_IOMMU_KIND_VIRTIO;
        else if (startswith(name, "iommufd_selftest_iommu"))
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

        return issue_add(&t->issues, &t->n_issues, "%s: %s", what, errno_name(error, e, sizeof(e)));
}

static int iommus_read(struct sysfs *s, struct viommu_topology *t, struct list *paths) {
        _cleanup_(list_free_strings) struct list names = {};
        struct list units = {};
        int r;

        r = dir_list(s->root_fd, "", "class/iommu", &names, NULL, NULL, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return topology_issue_errno(t, "/class/iommu", r);

        for (size_t i = 0; i < names.n; i++) {
                struct viommu_topology_iommu *u = NULL;

                r = iommu_read(s, names.items[i], paths, &u);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0) {
                        char e[64];

                        r = issue_add(&t->issues, &t->n_issues, "/class/iommu/%s: %s",
                                      (const char *) names.items[i], errno_name(r, e, sizeof(e)));
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
        for (size_t i = 0; i < units.n; i++)
                iommu_free(units.items[i]);
        free(units.items);
        return r;
}

static int groups_read(struct sysfs *s, struct viommu_topology *t, struct list *paths) {
        _cleanup_(list_free_strings) struct list names = {};
        struct list groups = {};
        int r;

        r = dir_list(s->root_fd, "", "kernel/iommu_groups", &names, NULL, NULL, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return topology_issue_errno(t, "/kernel/iommu_groups", r);

        for (size_t i = 0; i < names.n; i++) {
                struct viommu_topology_group *g = NULL;
                unsigned id;

                if (safe_atou(names.items[i], &id) < 0)
                        continue;

                r = group_read(s, id, paths, &g);
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

static int devices_read(struct sysfs *s, struct viommu_topology *t, struct list *paths) {
        /* The buses whose every device matters, even one without IOMMU. */
        static const char * const buses[] = {
                "bus/pci/devices",
                "bus/iommufd_mock/devices",     /* the iommufd test driver's mock devices */
        };
        struct list devices = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(buses); i++) {
                r = dir_list(s->root_fd, "", buses[i], NULL, paths, &t->issues, &t->n_issues);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        char e[64];

                        r = issue_add(&t->issues, &t->n_issues, "/%s: %s", buses[i], errno_name(r, e, sizeof(e)));
                        if (r < 0)
                                return r;
                }
        }

        /* Groups, units and buses name the same devices many times. */
        if (paths->n > 1)
                qsort(paths->items, paths->n, sizeof(void *), str_compare_qsort);

        for (size_t i = 0; i < paths->n; i++) {
                struct viommu_topology_device *d = NULL;

                if (i > 0 && streq(paths->items[i], paths->items[i - 1]))
                        continue;

                r = device_read(s, paths->items[i], NULL, &d);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0) {
                        char e[64];

                        if (r == -ENOENT)
                                r = issue_add(&t->issues, &t->n_issues, "/%s: linked to, but missing",
                                              (const char *) paths->items[i]);
                        else
                                r = issue_add(&t->issues, &t->n_issues, "/%s: linked to, but unreadable: %s",
                                              (const char *) paths->items[i], errno_name(r, e, sizeof(e)));
                        if (r < 0)
                                goto fail;
                        continue;
                }
                r = list_push(&devices, d);
                if (r < 0) {
                        viommu_topology_device_free(d);
                        goto fail;
                }
        }

        if (devices.n > 1)
                qsort(devices.items, devices.n, sizeof(void *), device_compare_qsort);
        t->devices = (struct viommu_topology_device **) devices.items;
        t->n_devices = devices.n;
        return 0;

fail:
        for (size_t i = 0; i < devices.n; i++)
                viommu_topology_device_free(devices.items[i]);
        free(devices.items);
        return r;
}

static bool is_live_sysfs(int root_fd) {
        struct stat a, b;

        return fstat(root_fd, &a) >= 0 && stat("/sys", &b) >= 0 &&
                a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int sysfs_open(const char *root, struct sysfs *ret) {
        struct sysfs s = { .root_fd = -EBADF };

        s.root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s.root_fd < 0)
                return -errno;

        /* libudev only knows the real /sys; without it the names are merely missing. */
        if (is_live_sysfs(s.root_fd)) {
                s.udev = udev_new();
                if (s.udev)
                        s.hwdb = udev_hwdb_new(s.udev);
        }

        *ret = s;
        return 0;
}

_public_ int viommu_topology_new_at(const char *sysfs_root, struct viommu_topology **ret) {
        _cleanup_(viommu_topology_freep) struct viommu_topology *t = NULL;
        _cleanup_(list_free_strings) struct list paths = {};
        _cleanup_(sysfs_done) struct sysfs s = { .root_fd = -EBADF };
        int r;

        if (!ret)
                return -EINVAL;

        if (!sysfs_root) {
                sysfs_root = secure_getenv("VIOMMU_SYSFS_ROOT");
                if (isempty(sysfs_root))
                        sysfs_root = "/sys";
        }

        r = sysfs_open(sysfs_root, &s);
        if (r < 0)
                return r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;

        r = iommus_read(&s, t, &paths);
        if (r < 0)
                return r;
        r = groups_read(&s, t, &paths);
        if (r < 0)
                return r;
        s.topology = t;
        r = devices_read(&s, t, &paths);
        if (r < 0)
                return r;

        if (t->n_issues > 1)
                qsort(t->issues, t->n_issues, sizeof(char *), str_compare_qsort);

        *ret = TAKE_PTR(t);
        return 0;
}

_public_ int viommu_topology_new(struct viommu_topology **ret) {
        return viommu_topology_new_at(NULL, ret);
}

_public_ int viommu_topology_device_new_from_udev(struct udev_device *ud, struct viommu_topology_device **ret) {
        _cleanup_(sysfs_done) struct sysfs s = { .root_fd = -EBADF };
        const char *devpath;
        int r;

        if (!ud || !ret)
                return -EINVAL;

        devpath = udev_device_get_devpath(ud);
        if (!devpath || devpath[0] != '/' || !devpath[1])
                return -EINVAL;

        r = sysfs_open("/sys", &s);
        if (r < 0)
                return r;

        return device_read(&s, devpath + 1, ud, ret);
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
