/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vIOMMUs, vDEVICEs, vEVENTQs (and a queue's overflow) and PASIDs, with
 * their refusals; NotSupported, naming the version, before Linux 6.13 and
 * 6.15. Mock devices, any uid.
 *
 *   test-viommu [viommu]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- AllocVIOMMU, AllocVDevice, AllocVEventQ ---------------------------- */

static void test_alloc_viommu_vdevice_veventq(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        const uint32_t depth = 2, burst = 5;     /* vEVENTQ depth, and events raised at once */
        struct iommu_viommu_selftest data = { .in_data = 0xbeef };
        _cleanup_free_ char *parent = NULL, *viommu = NULL, *vdev = NULL, *nested = NULL, *q = NULL,
                            *err = NULL, *s = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct iommu_viommu_invalidate_selftest inv[3];
        struct {
                struct iommufd_vevent_header hdr;
                struct iommu_viommu_event_selftest ev;
        } ev = {};
        sd_bus_message *reply;
        const void *out;
        const char *p;
        uint32_t id;
        size_t size;

        assert_int_equal(map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);

        m = new_call(f->bus, f->session, I_SESSION, "AllocVIOMMU");
        assert_true(sd_bus_message_append(m, "oou", f->dev, parent, (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST) >= 0);
        assert_true(sd_bus_message_append_array(m, 'y', &data, sizeof(data)) >= 0);
        if (!kernel_at_least(6, 13)) {
                _cleanup_free_ char *before = describe(f->bus), *after = NULL;

                SEND_FAILS(E_NOT_SUPPORTED, f->bus, m);
                assert_error_mentions("Linux 6.13");
                alloc_hwpt_fails(E_NOT_SUPPORTED, f->bus, f->session, f->dev, f->ioas, NULL,
                                 IOMMU_HWPT_ALLOC_PASID, IOMMU_HWPT_DATA_NONE, NULL, 0);
                assert_error_mentions("Linux 6.15");
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", f->dev, 100,
                           parent);
                assert_error_mentions("Linux 6.15");
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "DetachPasid", "ou", f->dev, 100);
                assert_error_mentions("Linux 6.15");
                /* vDEVICEs and vEVENTQs hang off a vIOMMU, which cannot exist
                 * here: the answer names the kernel, not the argument. */
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "AllocVEventQ", "ouu", parent,
                           (uint32_t) IOMMU_VEVENTQ_TYPE_SELFTEST, 2);
                assert_error_mentions("Linux 6.15");
                CALL_FAILS(E_NOT_SUPPORTED, f->bus, f->session, I_SESSION, "AllocVDevice", "oot", parent,
                           f->dev, UINT64_C(0x99));
                assert_error_mentions("Linux 6.13");
                after = describe(f->bus);
                assert_string_equal(before, after);
                return;
        }
        reply = SEND(f->bus, m);
        assert_true(sd_bus_message_read(reply, "ou", &p, &id) > 0);
        viommu = strdup(p);
        assert_non_null(viommu);
        assert_true(sd_bus_message_read_array(reply, 'y', &out, &size) >= 0);
        assert_int_equal(size, sizeof(data));
        /* The mock writes its output into the same data; a message's array
         * is only 4-byte aligned. */
        memcpy(&data, out, sizeof(data));
        assert_int_equal(data.out_data, 0xbeef);
        sd_bus_message_unref(reply);
        assert_int_equal(get_u32(f->bus, viommu, I_VIOMMU, "Type"), IOMMU_VIOMMU_TYPE_SELFTEST);

        /* The kernel knows no vIOMMU of type 0x1234 for the mock. */
        sd_bus_message_unref(TAKE_PTR(m));
        m = new_call(f->bus, f->session, I_SESSION, "AllocVIOMMU");
        assert_true(sd_bus_message_append(m, "oouay", f->dev, parent, 0x1234, 0) >= 0);
        SEND_FAILS(E_NOT_SUPPORTED, f->bus, m);

        vdev = reply_object(CALL(f->bus, f->session, I_SESSION, "AllocVDevice", "oot", viommu, f->dev,
                                 UINT64_C(0x99)), NULL);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "AllocVDevice", "oot", viommu, f->dev, UINT64_C(0x98));

        /* A nested HWPT on the vIOMMU: the device's events go to its queue. */
        nested = alloc_nested(f->bus, f->session, f->dev, viommu, NULL, 0, NULL);
        s = get_string(f->bus, nested, I_HWPT, "Parent", "o");
        assert_string_equal(s, viommu);
        attach(f->bus, f->session, f->dev, nested);
        check_mapping(f->bus, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);

        q = reply_object_fd(CALL(f->bus, f->session, I_SESSION, "AllocVEventQ", "ouu", viommu,
                                 (uint32_t) IOMMU_VEVENTQ_TYPE_SELFTEST, depth), &id, &fd);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "AllocVEventQ", "ouu", viommu,
                   (uint32_t) IOMMU_VEVENTQ_TYPE_SELFTEST, 2);

        /* An event raised in the kernel arrives on the VMM's fd. */
        CALL_OK(f->bus, f->session, I_TESTING, "TriggerEvent", "o", f->dev);
        assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 5000), 1);
        assert_int_equal(read(fd, &ev, sizeof(ev)), sizeof(ev));
        assert_int_equal(ev.ev.virt_id, 0x99);
        assert_false(ev.hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS);

        /* Overflow: more events than the depth. The queue keeps the first
         * depth; the kernel drops the rest and says so in the queue itself,
         * with a header flagged LOST_EVENTS after the events kept. The VMM's
         * fd is the only place that tells: the daemon never reads it. */
        for (uint32_t i = 0; i < burst; i++)
                CALL_OK(f->bus, f->session, I_TESTING, "TriggerEvent", "o", f->dev);
        assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 5000), 1);
        {
                uint8_t buf[256];
                struct iommufd_vevent_header hdr;
                struct iommu_viommu_event_selftest one;
                uint32_t kept = 0, lost = 0, lost_sequence = 0, last = ev.hdr.sequence;
                ssize_t l = read(fd, buf, sizeof(buf));

                assert_true(l > 0);
                for (size_t off = 0; off < (size_t) l;) {
                        assert_true((size_t) l - off >= sizeof(hdr));
                        memcpy(&hdr, buf + off, sizeof(hdr));
                        off += sizeof(hdr);
                        if (hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS) {
                                /* A header without an event. */
                                lost++;
                                lost_sequence = hdr.sequence;
                                continue;
                        }
                        assert_int_equal(lost, 0);      /* the events kept come first */
                        assert_true((size_t) l - off >= sizeof(one));
                        memcpy(&one, buf + off, sizeof(one));
                        off += sizeof(one);
                        assert_int_equal(one.virt_id, 0x99);
                        /* One sequence number per event. */
                        assert_int_equal(hdr.sequence, last + 1);
                        last = hdr.sequence;
                        kept++;
                }
                assert_int_equal(kept, depth);
                assert_int_equal(lost, 1);
                /* It carries the sequence of a dropped event. */
                assert_true(lost_sequence > last && lost_sequence <= ev.hdr.sequence + burst);

                /* Drained: nothing more to read, and the queue takes events
                 * again. The gap in the sequence counts the events dropped. */
                assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 0), 0);
                CALL_OK(f->bus, f->session, I_TESTING, "TriggerEvent", "o", f->dev);
                assert_int_equal(poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 5000), 1);
                assert_int_equal(read(fd, buf, sizeof(buf)), sizeof(hdr) + sizeof(one));
                memcpy(&hdr, buf, sizeof(hdr));
                memcpy(&one, buf + sizeof(hdr), sizeof(one));
                assert_false(hdr.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
                assert_int_equal(one.virt_id, 0x99);
                assert_int_equal(hdr.sequence - last - 1, burst - depth);
        }

        /* Invalidation through the vIOMMU: the kernel stops at the entry
         * with a cache index the mock lacks, then at an unknown vDEVICE. */
        inv[0] = (struct iommu_viommu_invalidate_selftest) { .vdev_id = 0x99, .cache_id = 0 };
        inv[1] = (struct iommu_viommu_invalidate_selftest) { .vdev_id = 0x99, .cache_id = MOCK_DEV_CACHE_NUM };
        inv[2] = (struct iommu_viommu_invalidate_selftest) { .vdev_id = 0x99, .cache_id = 1 };
        assert_int_equal(invalidate(f->bus, viommu, I_VIOMMU, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
                                    sizeof(inv[0]), inv, sizeof(inv), &err), 1);
        assert_string_equal(err, "EINVAL");
        free(TAKE_PTR(err));
        inv[0] = (struct iommu_viommu_invalidate_selftest) { .vdev_id = 0x77, .cache_id = 0 };
        assert_int_equal(invalidate(f->bus, viommu, I_VIOMMU, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
                                    sizeof(inv[0]), inv, sizeof(inv[0]), &err), 0);
        assert_string_equal(err, "EINVAL");
        free(TAKE_PTR(err));
        assert_int_equal(invalidate(f->bus, viommu, I_VIOMMU, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
                                    sizeof(inv[0]), &inv[2], sizeof(inv[2]), &err), 1);
        assert_string_equal(err, "");
        free(TAKE_PTR(err));

        /* SMMUv3 data is checked before the kernel, whatever the vIOMMU:
         * a stage-2 STE and a CMD_SYNC are the daemon's to refuse, by name. */
        {
                const struct iommu_hwpt_arm_smmuv3 ste = { .ste = { htole64(1 | 6 << 1), 0 } };
                const struct iommu_viommu_arm_smmuv3_invalidate cmds[2] = {
                        { .cmd = { htole64(0x46), 0 } }, { .cmd = { htole64(0x10), 0 } },
                };

                alloc_hwpt_fails(E_INVALID_ARGUMENT, f->bus, f->session, f->dev, viommu, NULL, 0,
                                 IOMMU_HWPT_DATA_ARM_SMMUV3, &ste, sizeof(ste));
                assert_error_mentions("STE word 0 Config 0x6 (stage 2) is not allowed in a guest STE");
                assert_int_equal(invalidate(f->bus, viommu, I_VIOMMU, IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
                                            sizeof(cmds[0]), cmds, sizeof(cmds), &err), 0);
                assert_true(startswith(err, "EINVAL: Entry 0: CMD_SYNC (opcode 0x46) is no command a vIOMMU takes"));
        }

        /* Dependency order. */
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", viommu);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", parent);
        CALL_OK(f->bus, f->session, I_SESSION, "Detach", "o", f->dev);
        destroy(f->bus, f->session, nested);
        destroy(f->bus, f->session, vdev);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", q);  /* its fd is open */
        fd = (close(fd), -EBADF);
        destroy(f->bus, f->session, q);
        destroy(f->bus, f->session, viommu);
        destroy(f->bus, f->session, parent);
        assert_int_equal(get_u32(f->bus, f->session, I_SESSION, "NObjects"), 2);
}

/* Given what is not a nesting parent. */
static void test_alloc_viommu_refuses_non_parent(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AllocVIOMMU", "oouay", f->dev, s->plain,
                   (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST, 0);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AllocVIOMMU", "oouay", f->dev, f->ioas,
                   (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST, 0);
        scene_untouched(s);
}

/* Given what is not a vIOMMU (before 6.13 and 6.15 the kernel's lack is the
 * answer). */
static void test_alloc_vdevice_refuses_non_viommu(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(kernel_at_least(6, 13) ? E_INVALID_ARGUMENT : E_NOT_SUPPORTED, f->bus, f->session, I_SESSION,
                   "AllocVDevice", "oot", s->parent, f->dev, UINT64_C(1));
        scene_untouched(s);
}

static void test_alloc_veventq_refuses_non_viommu(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(kernel_at_least(6, 15) ? E_INVALID_ARGUMENT : E_NOT_SUPPORTED, f->bus, f->session, I_SESSION,
                   "AllocVEventQ", "ouu", f->ioas, 0, 2);
        scene_untouched(s);
}

/* ---- AttachPasid, DetachPasid ------------------------------------------- */

/* The HWPT that Describe records a PASID of dev attached to; NULL if none. */
static char *describe_pasid(sd_bus *bus, const char *dev, uint32_t pasid) {
        _cleanup_free_ char *text = describe(bus);
        struct json_object *j = json_tokener_parse(text), *sessions, *device = NULL, *pasids;
        char *hwpt = NULL;

        assert_non_null(j);
        sessions = json_array(j, "sessions");
        for (size_t i = 0; !device && i < json_object_array_length(sessions); i++) {
                struct json_object *objects = json_array(json_object_array_get_idx(sessions, i), "objects");

                for (size_t k = 0; !device && k < json_object_array_length(objects); k++)
                        if (streq_ptr(json_string(json_object_array_get_idx(objects, k), "path"), dev))
                                device = json_object_array_get_idx(objects, k);
        }
        if (!device)
                fail_msg("Describe has no device %s", dev);
        pasids = json_array(device, "pasids");
        for (size_t i = 0; i < json_object_array_length(pasids); i++) {
                struct json_object *a = json_object_array_get_idx(pasids, i), *v = NULL;

                assert_true(json_object_object_get_ex(a, "pasid", &v));
                if (json_object_get_int64(v) != pasid)
                        continue;
                assert_null(hwpt);      /* one entry per PASID */
                assert_non_null(json_string(a, "hwpt"));
                hwpt = strdup(json_string(a, "hwpt"));
                assert_non_null(hwpt);
        }
        json_object_put(j);
        return hwpt;
}

/* The same from the device's Pasids property. */
static char *property_pasid(sd_bus *bus, const char *dev, uint32_t pasid) {
        sd_bus_message *reply = get_property(bus, dev, I_DEVICE, "Pasids", "a(uo)");
        const char *path;
        char *hwpt = NULL;
        uint32_t p;
        int r;

        assert_true(sd_bus_message_enter_container(reply, 'a', "(uo)") > 0);
        while ((r = sd_bus_message_read(reply, "(uo)", &p, &path)) > 0)
                if (p == pasid) {
                        assert_null(hwpt);
                        hwpt = strdup(path);
                        assert_non_null(hwpt);
                }
        assert_int_equal(r, 0);
        sd_bus_message_unref(reply);
        return hwpt;
}

/* A PASID of dev is attached to hwpt (NULL: to nothing) in the daemon's
 * record, in the device's property and in the mock driver. */
static void check_pasid(sd_bus *bus, const char *session, const char *dev, uint32_t pasid, const char *hwpt) {
        _cleanup_free_ char *recorded = describe_pasid(bus, dev, pasid), *property = property_pasid(bus, dev, pasid);

        if (!streq_ptr(recorded, hwpt) || !streq_ptr(property, hwpt))
                fail_msg("PASID %u of %s: expected %s, Describe has %s, Pasids has %s", pasid, dev, hwpt ?: "none",
                         recorded ?: "none", property ?: "none");
        CALL_OK(bus, session, I_TESTING, "CheckPasid", "ouo", dev, pasid, hwpt ?: "/");
}

static int on_pasids_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        unsigned *n = userdata;
        const char *name;

        if (sd_bus_message_skip(m, "s") < 0 || sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &name) > 0 && streq(name, "Pasids"))
                        (*n)++;
                if (sd_bus_message_skip(m, "v") < 0 || sd_bus_message_exit_container(m) < 0)
                        break;
        }
        return 0;
}

static void wait_pasids_changed(sd_bus *bus, unsigned *n, unsigned want) {
        uint64_t end = now_usec() + TIMEOUT_USEC;

        while (*n < want && now_usec() < end)
                if (sd_bus_process(bus, NULL) == 0)
                        (void) sd_bus_wait(bus, 100000);
        assert_int_equal(*n, want);
}

static void test_attach_pasid_flow(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *pdev = NULL, *qdev = NULL, *parent = NULL, *s2 = NULL, *nested = NULL,
                            *nested2 = NULL, *nested3 = NULL, *nested4 = NULL, *before = NULL, *after = NULL,
                            *json = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        uint32_t id, nested_id, nested2_id;
        unsigned changed = 0;

        if (!kernel_at_least(6, 15)) {
                /* Older mock drivers do not know the flag. */
                CALL_FAILS(E_KERNEL, f->bus, f->session, I_SESSION, "CreateMockDevice", "u",
                           (uint32_t) MOCK_FLAGS_DEVICE_PASID);
                return;
        }
        pdev = create_mock(f->bus, f->session, MOCK_FLAGS_DEVICE_PASID, NULL);
        parent = alloc_hwpt(f->bus, f->session, pdev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        s2 = alloc_hwpt(f->bus, f->session, pdev, f->ioas, NULL, IOMMU_HWPT_ALLOC_PASID, IOMMU_HWPT_DATA_NONE,
                        NULL, 0, NULL);
        nested = alloc_nested(f->bus, f->session, pdev, parent, NULL, IOMMU_HWPT_ALLOC_PASID, &nested_id);
        assert_true(sd_bus_match_signal(f->bus, &slot, BUS_NAME, pdev, "org.freedesktop.DBus.Properties",
                                        "PropertiesChanged", on_pasids_changed, &changed) >= 0);
        sd_bus_message_unref(CALL(f->bus, MANAGER_PATH, I_MANAGER, "Subscribe", NULL));

        before = describe(f->bus);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 0, nested);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 1u << 20,
                   nested);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, f->ioas);
        after = describe(f->bus);
        assert_string_equal(before, after);
        check_pasid(f->bus, f->session, pdev, 100, NULL);

        /* The kernel wants the whole device on a PASID-capable domain first. */
        attach(f->bus, f->session, pdev, parent);
        CALL_FAILS(E_KERNEL, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, nested);
        check_pasid(f->bus, f->session, pdev, 100, NULL);
        attach(f->bus, f->session, pdev, s2);
        /* Neither can a domain made without ALLOC_PASID go on a PASID. */
        CALL_FAILS(E_KERNEL, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, parent);
        check_pasid(f->bus, f->session, pdev, 100, NULL);
        reply_take(CALL(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, nested), "u", &id);
        assert_int_equal(id, nested_id);
        check_pasid(f->bus, f->session, pdev, 100, nested);
        wait_pasids_changed(f->bus, &changed, 1);
        /* The mock driver's check tells HWPTs apart. */
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_TESTING, "CheckPasid", "ouo", pdev, 100, s2);

        /* The record answers Busy before the kernel is asked (the kernel's
         * Busy says "The kernel still uses"), and nothing changes. */
        free(before);
        before = describe(f->bus);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", nested);
        assert_error_mentions("still used by 1 object(s), device(s) or PASID(s)");
        free(after);
        after = describe(f->bus);
        assert_string_equal(before, after);
        check_pasid(f->bus, f->session, pdev, 100, nested);

        /* Attaching an attached PASID replaces its HWPT, which lets the old one go. */
        nested2 = alloc_nested(f->bus, f->session, pdev, parent, NULL, IOMMU_HWPT_ALLOC_PASID, &nested2_id);
        reply_take(CALL(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, nested2), "u", &id);
        assert_int_equal(id, nested2_id);
        check_pasid(f->bus, f->session, pdev, 100, nested2);
        wait_pasids_changed(f->bus, &changed, 2);
        destroy(f->bus, f->session, nested);
        /* Again onto the same HWPT: nothing moves. */
        CALL_OK(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 100, nested2);
        check_pasid(f->bus, f->session, pdev, 100, nested2);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", nested2);

        /* A PASID that is not attached cannot be detached. */
        free(before);
        before = describe(f->bus);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "DetachPasid", "ou", pdev, 200);
        free(after);
        after = describe(f->bus);
        assert_string_equal(before, after);
        CALL_OK(f->bus, f->session, I_SESSION, "DetachPasid", "ou", pdev, 100);
        check_pasid(f->bus, f->session, pdev, 100, NULL);
        wait_pasids_changed(f->bus, &changed, 4);
        destroy(f->bus, f->session, nested2);

        /* Releasing a device detaches its PASIDs first. Its PASID sits on a
         * HWPT made through pdev, which outlives it. */
        qdev = create_mock(f->bus, f->session, MOCK_FLAGS_DEVICE_PASID, NULL);
        nested3 = alloc_nested(f->bus, f->session, pdev, parent, NULL, IOMMU_HWPT_ALLOC_PASID, NULL);
        attach(f->bus, f->session, qdev, s2);
        CALL_OK(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", qdev, 200, nested3);
        check_pasid(f->bus, f->session, qdev, 200, nested3);
        check_pasid(f->bus, f->session, pdev, 200, NULL);
        CALL_FAILS(E_BUSY, f->bus, f->session, I_SESSION, "Destroy", "o", nested3);
        CALL_OK(f->bus, f->session, I_SESSION, "ReleaseDevice", "o", qdev);
        json = describe(f->bus);
        assert_false(describe_mentions(json, qdev));
        /* The kernel let go too: it would answer Busy otherwise. */
        destroy(f->bus, f->session, nested3);

        /* A PASID still attached when the session closes (in the teardown)
         * goes before its device and its HWPT. */
        nested4 = alloc_nested(f->bus, f->session, pdev, parent, NULL, IOMMU_HWPT_ALLOC_PASID, NULL);
        CALL_OK(f->bus, f->session, I_SESSION, "AttachPasid", "ouo", pdev, 300, nested4);
        check_pasid(f->bus, f->session, pdev, 300, nested4);
}

/* PASID 0 and one past the range, and what is no HWPT; checked before the
 * kernel is asked, so on every kernel. */
static void test_attach_pasid_refuses_bad_arguments(void **state) {
        Scene *s = *state;
        Fixture *f = s->f;

        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", f->dev, 0, s->nested);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", f->dev, UINT32_MAX,
                   s->nested);
        CALL_FAILS(E_INVALID_ARGUMENT, f->bus, f->session, I_SESSION, "AttachPasid", "ouo", f->dev, 5, f->ioas);
        scene_untouched(s);
}

/* ---- wrong types -------------------------------------------------------- */

static void test_viommu_refuses_wrong_types(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *parent = NULL, *viommu = NULL, *before = NULL, *after = NULL;
        static const char *const must_see[] = { I_VIOMMU ".Invalidate" };

        if (!kernel_at_least(6, 13)) {
                print_message("vIOMMU objects need Linux 6.13\n");
                skip();
        }
        parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        viommu = reply_object(CALL(f->bus, f->session, I_SESSION, "AllocVIOMMU", "oouay", f->dev, parent,
                                   (uint32_t) IOMMU_VIOMMU_TYPE_SELFTEST, 0), NULL);

        before = describe(f->bus);
        const char *paths[] = { viommu };
        refuse_wrong_types(f->bus, paths, ELEMENTSOF(paths), must_see, ELEMENTSOF(must_see));
        after = describe(f->bus);
        assert_string_equal(before, after);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest viommu[] = {
                T(test_alloc_viommu_vdevice_veventq),
                R(test_alloc_viommu_refuses_non_parent),
                R(test_alloc_vdevice_refuses_non_viommu),
                R(test_alloc_veventq_refuses_non_viommu),
                T(test_attach_pasid_flow),
                R(test_attach_pasid_refuses_bad_arguments),
                T(test_viommu_refuses_wrong_types),
        };
        const Group groups[] = { GROUP("viommu", viommu) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
