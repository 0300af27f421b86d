/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.IOAS: an I/O address space and the guest memory mapped into it,
 * /org/viommu1/session/N/ioas/ID. Guest memory comes as a file descriptor
 * (a memfd): IOMMU_IOAS_MAP takes an address in the caller, and the caller
 * here is another process.
 */

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "bus-errors.h"
#include "bus-util.h"
#include "log.h"
#include "mapping-index.h"
#include "session.h"
#include "util.h"
#include "viommu-iommufd.h"
#include "viommu-topology.h"

#define MAP_FLAGS (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)
#define PAGE_MASK_4K UINT64_C(0xfff)

static void emit_mapped_bytes(Object *ioas) {
        sd_bus *bus = ioas->session->daemon->bus;

        (void) sd_bus_emit_properties_changed(bus, ioas->path, "org.viommu1.IOAS", "MappedBytes", "Mappings", NULL);
        (void) sd_bus_emit_properties_changed(bus, ioas->session->path, "org.viommu1.Session", "MappedBytes", NULL);
}

/* The memfd must be able to back [offset, offset+length) with the access
 * asked for. */
static int check_memory_fd(int fd, uint64_t offset, uint64_t length, uint32_t flags, sd_bus_error *error) {
        struct stat st;
        int fl;

        if (fstat(fd, &st) < 0)
                return sd_bus_error_set_errnof(error, errno, "Cannot inspect the memory fd: %m");
        if (!S_ISREG(st.st_mode))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Guest memory must be a memfd or another regular file");
        if ((uint64_t) st.st_size < offset + length)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The range 0x%llx+0x%llx is past the end of the memory fd (0x%llx bytes)",
                                         (unsigned long long) offset, (unsigned long long) length,
                                         (unsigned long long) st.st_size);
        fl = fcntl(fd, F_GETFL);
        if (fl < 0)
                return -errno;
        if (fl & O_PATH)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The memory fd was opened with O_PATH and gives no access to the memory");
        if ((flags & IOMMU_IOAS_MAP_WRITEABLE) && (fl & O_ACCMODE) != O_RDWR)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A writeable mapping needs a memory fd opened read-write");
        return 0;
}

static int method_map(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Object *ioas = userdata;
        Session *s = ioas->session;
        uint64_t offset, length, iova;
        uint32_t flags, backing = VIOMMU_MAPPING_NO_BACKING;
        void *addr = NULL;
        int fd, r;

        r = sd_bus_message_read(m, "htttu", &fd, &offset, &length, &iova, &flags);
        if (r < 0)
                return r;

        if (flags & ~(uint32_t) MAP_FLAGS)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Unknown map flags 0x%x (known: 1 fixed IOVA, 2 writeable, 4 readable)", flags);
        if (!(flags & (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "A mapping must be readable, writeable or both");
        if (length == 0 || ((offset | length) & PAGE_MASK_4K) || offset + length < offset ||
            ((flags & IOMMU_IOAS_MAP_FIXED_IOVA) && ((iova & PAGE_MASK_4K) || iova + length - 1 < iova)))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "Offset, length and a fixed IOVA must be 4 KiB aligned, the length "
                                         "not zero and the ranges within 64 bits");
        r = check_memory_fd(fd, offset, length, flags, error);
        if (r < 0)
                return r;

        r = session_check_owner(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, AUTH_LIMIT_PINNED_BYTES, length, error);
        if (r < 0)
                return r;

        if (!(flags & IOMMU_IOAS_MAP_FIXED_IOVA))
                iova = 0;
        if (viommu_features_has(s->daemon->features, VIOMMU_FEATURE_IOAS_MAP_FILE))
                r = viommu_ioas_map_file(s->iommufd, ioas->id, flags, fd, offset, length, &iova);
        else {
                /* Before Linux 6.13 the kernel maps only addresses of the
                 * caller: map the memfd into the daemon, shared, and keep it
                 * mapped as long as the IOAS uses it. */
                int prot = (flags & IOMMU_IOAS_MAP_WRITEABLE ? PROT_WRITE : 0) | PROT_READ;

                addr = mmap(NULL, length, prot, MAP_SHARED, fd, offset);
                if (addr == MAP_FAILED)
                        return bus_error_kernel(error, -errno, "Mapping the memory fd into viommud");
                r = viommu_ioas_map(s->iommufd, ioas->id, flags, addr, length, &iova);
        }
        if (r < 0) {
                if (addr)
                        munmap(addr, length);
                if (r == -EEXIST || r == -EADDRINUSE || r == -ENOSPC)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                                 "IOVA range 0x%llx+0x%llx is taken, reserved or not available",
                                                 (unsigned long long) iova, (unsigned long long) length);
                return bus_error_kernel(error, r, addr ? "IOMMU_IOAS_MAP" : "IOMMU_IOAS_MAP_FILE");
        }

        if (addr) {
                r = session_backing_add(s, addr, length, &backing);
                if (r < 0)
                        goto undo;
        }
        r = viommu_mapping_index_insert(ioas->ioas.mappings, &(struct viommu_mapping) {
                .iova = iova,
                .length = length,
                .offset = offset,
                .flags = flags,
                .backing = backing,
        });
        if (r < 0)
                goto undo;
        s->mapped_bytes += length;

        log_debug("session %u: mapped 0x%llx+0x%llx at IOVA 0x%llx in %s", s->id, (unsigned long long) offset,
                  (unsigned long long) length, (unsigned long long) iova, ioas->path);
        emit_mapped_bytes(ioas);
        return sd_bus_reply_method_return(m, "t", iova);

undo:
        (void) viommu_ioas_unmap(s->iommufd, ioas->id, iova, length, NULL);
        if (backing != VIOMMU_MAPPING_NO_BACKING)
                session_backing_unref(s, backing);
        else if (addr)
                munmap(addr, length);
        return r;
}

/* Calls f for each mapping intersecting [iova, iova+length). */
static void foreach_in(struct viommu_mapping_index *idx, uint64_t iova, uint64_t length,
                       void (*f)(const struct viommu_mapping *mp, void *userdata), void *userdata) {
        const struct viommu_mapping *mp;
        struct viommu_mapping_iter it;
        uint64_t last = iova + length - 1;

        viommu_mapping_index_iter_init(idx, iova, &it);
        while ((mp = viommu_mapping_iter_next(&it)) && mp->iova <= last)
                f(mp, userdata);
}

static void release_backing(const struct viommu_mapping *mp, void *userdata) {
        session_backing_unref(userdata, mp->backing);
}

static int method_unmap(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Object *ioas = userdata;
        Session *s = ioas->session;
        uint64_t iova, length, unmapped = 0, removed = 0;
        bool all;
        int r;

        r = sd_bus_message_read(m, "tt", &iova, &length);
        if (r < 0)
                return r;
        all = iova == 0 && length == UINT64_MAX;
        if (length == 0 || (!all && iova + length - 1 < iova))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The range must not be empty nor wrap (0, 2^64-1 unmaps all)");
        r = session_check_owner(s, m, error);
        if (r < 0)
                return r;

        r = viommu_ioas_unmap(s->iommufd, ioas->id, iova, length, &unmapped);
        /* The kernel says ENOENT both for nothing there and for a range that
         * cuts through a mapping; the record tells which. */
        if (r == -ENOENT && viommu_mapping_index_find_first(ioas->ioas.mappings, iova, length))
                r = -EINVAL;
        if (r == -ENOENT)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT,
                                         "Nothing is mapped at 0x%llx+0x%llx", (unsigned long long) iova,
                                         (unsigned long long) length);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "0x%llx+0x%llx cuts through a mapping; unmap whole mappings",
                                         (unsigned long long) iova, (unsigned long long) length);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_UNMAP");

        /* The kernel took the same areas off that the index holds. */
        foreach_in(ioas->ioas.mappings, iova, length, release_backing, s);
        r = viommu_mapping_index_remove(ioas->ioas.mappings, iova, length, &removed);
        if ((r < 0 && r != -ENOENT) || removed != unmapped)
                log_warning("session %u: %s: record and kernel disagree on unmapping 0x%llx+0x%llx "
                            "(%llu vs %llu bytes)", s->id, ioas->path, (unsigned long long) iova,
                            (unsigned long long) length, (unsigned long long) removed,
                            (unsigned long long) unmapped);
        s->mapped_bytes -= removed;

        emit_mapped_bytes(ioas);
        return sd_bus_reply_method_return(m, "t", unmapped);
}

struct copy_ctx {
        Session *session;
        struct viommu_mapping_index *dst;
        uint64_t src_iova, length, dst_iova;
        uint32_t flags;
        uint64_t copied;
        int error;
};

/* Records the part of one source mapping that the copy covers. */
static void copy_one(const struct viommu_mapping *mp, void *userdata) {
        struct copy_ctx *c = userdata;
        uint64_t start = MAX(mp->iova, c->src_iova);
        uint64_t end = MIN(mp->iova + mp->length - 1, c->src_iova + c->length - 1);
        int r;

        r = viommu_mapping_index_insert(c->dst, &(struct viommu_mapping) {
                .iova = c->dst_iova + (start - c->src_iova),
                .length = end - start + 1,
                .offset = mp->offset + (start - mp->iova),
                .flags = c->flags | IOMMU_IOAS_MAP_FIXED_IOVA,
                .backing = mp->backing,
        });
        if (r < 0) {
                c->error = r;
                return;
        }
        session_backing_ref(c->session, mp->backing);
        c->copied += end - start + 1;
}

static int method_copy(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Object *dst = userdata, *src;
        Session *s = dst->session;
        const char *src_path;
        uint64_t src_iova, length, dst_iova;
        uint32_t flags;
        int r;

        r = sd_bus_message_read(m, "otttu", &src_path, &src_iova, &length, &dst_iova, &flags);
        if (r < 0)
                return r;
        r = session_object_arg(s, src_path, OBJECT_IOAS, &src, error);
        if (r < 0)
                return r;
        if (flags & ~(uint32_t) MAP_FLAGS)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Unknown map flags 0x%x", flags);
        if (length == 0 || ((src_iova | length) & PAGE_MASK_4K) || src_iova + length - 1 < src_iova)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The source range must be 4 KiB aligned, not empty, within 64 bits");
        r = session_check_owner(s, m, error);
        if (r < 0)
                return r;
        r = auth_check_limit(s->daemon, s, AUTH_LIMIT_PINNED_BYTES, length, error);
        if (r < 0)
                return r;

        if (!(flags & IOMMU_IOAS_MAP_FIXED_IOVA))
                dst_iova = 0;
        r = viommu_ioas_copy(s->iommufd, dst->id, src->id, flags, src_iova, length, &dst_iova);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT,
                                         "0x%llx+0x%llx is not wholly mapped in %s", (unsigned long long) src_iova,
                                         (unsigned long long) length, src_path);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_COPY");

        struct copy_ctx c = {
                .session = s,
                .dst = dst->ioas.mappings,
                .src_iova = src_iova,
                .length = length,
                .dst_iova = dst_iova,
                .flags = flags,
        };
        foreach_in(src->ioas.mappings, src_iova, length, copy_one, &c);
        s->mapped_bytes += c.copied;
        if (c.error < 0 || c.copied != length)
                log_warning("session %u: copy into %s recorded %llu of %llu bytes", s->id, dst->path,
                            (unsigned long long) c.copied, (unsigned long long) length);
        emit_mapped_bytes(dst);
        return sd_bus_reply_method_return(m, "t", dst_iova);
}

static int method_get_iova_ranges(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Object *ioas = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ struct iommu_iova_range *ranges = NULL;
        size_t n = 0;
        uint64_t alignment = 0;
        int r;

        r = session_check_owner(ioas->session, m, error);
        if (r < 0)
                return r;
        r = viommu_ioas_iova_ranges(ioas->session->iommufd, ioas->id, &ranges, &n, &alignment);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_IOVA_RANGES");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(tt)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "(tt)", (uint64_t) ranges[i].start, (uint64_t) ranges[i].last);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "t", alignment);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_allow_iovas(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Object *ioas = userdata;
        _cleanup_free_ struct iommu_iova_range *ranges = NULL;
        size_t n = 0;
        uint64_t start, last;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(tt)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(tt)", &start, &last)) > 0) {
                if (start > last)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                                 "Range 0x%llx-0x%llx ends before it starts",
                                                 (unsigned long long) start, (unsigned long long) last);
                if (n >= 4096)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "At most 4096 ranges");
                struct iommu_iova_range *a = reallocarray(ranges, n + 1, sizeof(*ranges));
                if (!a)
                        return -ENOMEM;
                ranges = a;
                ranges[n++] = (struct iommu_iova_range) { .start = start, .last = last };
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        r = session_check_owner(ioas->session, m, error);
        if (r < 0)
                return r;
        r = viommu_ioas_allow_iovas(ioas->session->iommufd, ioas->id, ranges, n);
        if (r == -EADDRINUSE)
                return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                         "The ranges overlap IOVAs reserved by an attached device");
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_IOAS_ALLOW_IOVAS");
        return sd_bus_reply_method_return(m, NULL);
}

/* A device whose DMA goes through this IOAS, directly or under a HWPT. */
static bool device_uses_ioas(Object *dev, Object *ioas) {
        for (Object *pt = dev->device.attached; pt;
             pt = IN_SET(pt->type, OBJECT_HWPT, OBJECT_VIOMMU) ? pt->uses[0] : NULL)
                if (pt == ioas)
                        return true;
        return false;
}

static int method_get_reserved_regions(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Object *ioas = userdata;
        Session *s = ioas->session;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const struct viommu_topology *t;
        int r;

        r = session_check_owner(s, m, error);
        if (r < 0)
                return r;
        r = daemon_topology(s->daemon, &t);
        if (r < 0)
                return bus_error_kernel(error, r, "Reading the IOMMU topology");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ttss)");
        if (r < 0)
                return r;
        for (Object *o = s->objects; o; o = o->objects_next) {
                const struct viommu_topology_device *dev;
                const struct viommu_topology_group *g;

                if (o->type != OBJECT_DEVICE || o->device.mock || !device_uses_ioas(o, ioas))
                        continue;
                if (viommu_topology_find_device(t, NULL, o->device.name, &dev) < 0 || dev->iommu_group < 0 ||
                    viommu_topology_find_group(t, dev->iommu_group, &g) < 0)
                        continue;
                for (size_t i = 0; i < g->n_regions; i++) {
                        r = sd_bus_message_append(reply, "(ttss)", g->regions[i].start, g->regions[i].end,
                                                  viommu_region_type_to_string(g->regions[i].type), o->device.name);
                        if (r < 0)
                                return r;
                }
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_lookup_iova(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Object *ioas = userdata;
        const struct viommu_mapping *mp;
        uint64_t iova;
        int r;

        r = sd_bus_message_read(m, "t", &iova);
        if (r < 0)
                return r;
        r = session_check_owner(ioas->session, m, error);
        if (r < 0)
                return r;
        mp = viommu_mapping_index_lookup(ioas->ioas.mappings, iova);
        if (!mp)
                return sd_bus_error_setf(error, VIOMMU_ERROR_NO_SUCH_OBJECT, "Nothing is mapped at IOVA 0x%llx",
                                         (unsigned long long) iova);
        return sd_bus_reply_method_return(m, "tttu", mp->iova, mp->length, mp->offset, mp->flags);
}

static int property_get_mapped(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Object *ioas = userdata;

        if (streq(property, "Mappings"))
                return sd_bus_message_append(reply, "u", (uint32_t) viommu_mapping_index_count(ioas->ioas.mappings));
        return sd_bus_message_append(reply, "t", viommu_mapping_index_bytes(ioas->ioas.mappings));
}

const sd_bus_vtable ioas_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("MappedBytes", "t", property_get_mapped, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Mappings", "u", property_get_mapped, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Map",
                                SD_BUS_ARGS("h", memfd, "t", offset, "t", length, "t", iova, "u", flags),
                                SD_BUS_RESULT("t", iova),
                                method_map, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unmap",
                                SD_BUS_ARGS("t", iova, "t", length),
                                SD_BUS_RESULT("t", unmapped),
                                method_unmap, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Copy",
                                SD_BUS_ARGS("o", source, "t", source_iova, "t", length, "t", iova, "u", flags),
                                SD_BUS_RESULT("t", iova),
                                method_copy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetIOVARanges",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(tt)", ranges, "t", alignment),
                                method_get_iova_ranges, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AllowIOVAs",
                                SD_BUS_ARGS("a(tt)", ranges),
                                SD_BUS_NO_RESULT,
                                method_allow_iovas, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetReservedRegions",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(ttss)", regions),
                                method_get_reserved_regions, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LookupIOVA",
                                SD_BUS_ARGS("t", iova),
                                SD_BUS_RESULT("t", iova, "t", length, "t", offset, "u", flags),
                                method_lookup_iova, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
