/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The session record (daemon/record.c): a recorded session comes back whole
 * (objects, who uses whom, attachments) and writes out as it was read, a detached device too; a record that does
 * not hold together is refused with -EBADMSG and leaves nothing behind. The
 * sessions here have no iommufd, so nothing reaches the kernel. In a build
 * without test hooks, a record with a mock device is refused.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "device.h"
#include "ioas.h"
#include "json-util.h"
#include "mapping-index.h"
#include "record.h"
#include "session.h"
#include "util.h"

#ifndef TOP_SRCDIR
#  define TOP_SRCDIR "."
#endif

#define S "/org/viommu1/session/_37/"

static struct json_object *sample(void) {
        struct json_object *j = json_object_from_file(TOP_SRCDIR "/tests/data/record-sample.json");

        assert_non_null(j);
        return j;
}

/* The sample's device is a mock device, which only a build with test hooks
 * takes back: without them the tests below cannot run, and the record must
 * be refused whole. */
#if ENABLE_TEST_HOOKS
static struct json_object *object_at(struct json_object *rec, size_t i) {
        struct json_object *objects;

        assert_true(json_object_object_get_ex(rec, "objects", &objects));
        return json_object_array_get_idx(objects, i);
}

static void test_round_trip(void **state) {
        _cleanup_(json_object_putp) struct json_object *rec = sample(), *again = NULL;
        Daemon d = {};
        Session *s = NULL;
        Object *dev, *ioas, *parent, *pasid_pt, *nested;

        assert_int_equal(session_record_from_json(&d, rec, -EBADF, &s), 0);
        assert_ptr_equal(d.sessions, s);
        assert_int_equal(d.next_session_id, 7);
        assert_string_equal(s->path, "/org/viommu1/session/_37");
        assert_int_equal(s->uid, 1000);
        assert_true(s->persistent);
        assert_int_equal(s->n_objects, 10);
        assert_int_equal(s->n_devices, 1);

        /* Who uses whom, and so the order of destruction. */
        dev = object_find(s, S "device/_33");
        ioas = object_find(s, S "ioas/_32");
        parent = object_find(s, S "hwpt/_36");
        pasid_pt = object_find(s, S "hwpt/_37");
        nested = object_find(s, S "hwpt/_39");
        assert_non_null(dev);
        assert_non_null(nested);
        assert_ptr_equal(dev->device.attached, nested);
        assert_int_equal(dev->device.attached_pt, 9);
        assert_int_equal(dev->device.fd, -EBADF);
        assert_int_equal(dev->device.ops->parked_ioas(dev), 1);
        assert_int_equal(dev->device.n_pasids, 1);
        assert_ptr_equal(device_pasid_hwpt(dev, 100), pasid_pt);
        assert_int_equal(ioas->n_users, 2);
        assert_int_equal(parent->n_users, 2);           /* the nested HWPT and the vIOMMU */
        assert_int_equal(pasid_pt->n_users, 1);         /* the PASID */
        assert_int_equal(nested->n_users, 1);           /* the device */
        assert_int_equal(dev->n_users, 5);              /* three HWPTs, the vIOMMU, the vDEVICE */
        assert_int_equal(object_destroy(parent), -EBUSY);
        /* Mappings are the journal's (test-journal). */
        assert_int_equal(viommu_mapping_index_count(ioas->ioas.mappings), 0);

        assert_int_equal(session_record_to_json(s, &again), 0);
        if (!json_object_equal(rec, again))
                fail_msg("the record read back writes out differently:\n%s",
                         json_object_to_json_string_ext(again, JSON_C_TO_STRING_PRETTY));

        session_free(s);
        assert_null(d.sessions);
}

/* A detached device records its attachment as null. */
static void test_detached(void **state) {
        _cleanup_(json_object_putp) struct json_object *rec = sample(), *again = NULL;
        Daemon d = {};
        Session *s = NULL;
        Object *dev;

        assert_int_equal(json_object_object_add(object_at(rec, 0), "attached", NULL), 0);
        assert_int_equal(json_object_object_add(object_at(rec, 0), "attached-pt", json_object_new_int(0)), 0);
        assert_int_equal(session_record_from_json(&d, rec, -EBADF, &s), 0);
        dev = object_find(s, S "device/_33");
        assert_null(dev->device.attached);
        assert_int_equal(object_find(s, S "hwpt/_39")->n_users, 0);

        assert_int_equal(session_record_to_json(s, &again), 0);
        assert_true(json_object_equal(rec, again));
        session_free(s);
}

static void test_id_taken(void **state) {
        _cleanup_(json_object_putp) struct json_object *rec = sample();
        Daemon d = {};
        Session *s = NULL, *t = NULL;

        assert_int_equal(session_record_from_json(&d, rec, -EBADF, &s), 0);
        assert_int_equal(session_record_from_json(&d, rec, -EBADF, &t), -EEXIST);
        assert_null(t);
        assert_ptr_equal(d.sessions, s);
        assert_null(s->sessions_next);
        session_free(s);
}

static void set(struct json_object *o, const char *key, struct json_object *v) {
        assert_non_null(v);
        assert_int_equal(json_object_object_add(o, key, v), 0);
}

/* Each breaks the sample in one place. */
static void break_version(struct json_object *r) { set(r, "record-version", json_object_new_int(1)); }
static void break_id(struct json_object *r) { set(r, "id", json_object_new_int(0)); }
static void break_owner(struct json_object *r) { set(r, "owner", json_object_new_int(1)); }
static void break_type(struct json_object *r) { set(object_at(r, 5), "type", json_object_new_string("queue")); }
static void break_path_outside(struct json_object *r) {
        set(object_at(r, 1), "path", json_object_new_string("/org/viommu1/session/_38/ioas/_32"));
}
static void break_path_twice(struct json_object *r) {
        set(object_at(r, 2), "path", json_object_new_string(S "ioas/_32"));
}
static void break_path_invalid(struct json_object *r) {
        set(object_at(r, 2), "path", json_object_new_string(S "ioas//5"));
}
static void break_uses_unknown(struct json_object *r) {
        json_object_array_put_idx(json_object_object_get(object_at(r, 3), "uses"), 0,
                                  json_object_new_string(S "ioas/_399"));
}
static void break_uses_younger(struct json_object *r) {
        /* The parent HWPT cannot use the nested one made on it. */
        json_object_array_put_idx(json_object_object_get(object_at(r, 3), "uses"), 0,
                                  json_object_new_string(S "hwpt/_39"));
}
static void break_uses_itself(struct json_object *r) {
        json_object_array_put_idx(json_object_object_get(object_at(r, 3), "uses"), 0,
                                  json_object_new_string(S "hwpt/_36"));
}
static void break_uses_one_too_many(struct json_object *r) {
        /* The nested HWPT uses three objects, as many as an object may. */
        json_object_array_add(json_object_object_get(object_at(r, 6), "uses"), json_object_new_string(S "ioas/_35"));
}
static void break_attached_to_queue(struct json_object *r) {
        set(object_at(r, 0), "attached", json_object_new_string(S "fault_2dqueue/_38"));
}
static void break_pasid_on_ioas(struct json_object *r) {
        struct json_object *p = json_object_array_get_idx(json_object_object_get(object_at(r, 0), "pasids"), 0);

        set(p, "hwpt", json_object_new_string(S "ioas/_32"));
}
static void break_pasid_twice(struct json_object *r) {
        struct json_object *pasids = json_object_object_get(object_at(r, 0), "pasids");

        json_object_array_add(pasids, json_object_get(json_object_array_get_idx(pasids, 0)));
}
static void break_hwpt_flags(struct json_object *r) { set(object_at(r, 3), "flags", json_object_new_int(-1)); }
static void break_virt_id(struct json_object *r) { set(object_at(r, 8), "virt-id", json_object_new_int(9)); }
static void break_parking(struct json_object *r) { json_object_object_del(object_at(r, 0), "parking-ioas"); }

static void test_malformed(void **state) {
        static const struct {
                const char *what;
                void (*breaks)(struct json_object *r);
        } cases[] = {
                { "record-version 1",                   break_version },
                { "session id 0",                       break_id },
                { "owner not a string",                 break_owner },
                { "unknown object type",                break_type },
                { "path in another session",            break_path_outside },
                { "path twice",                         break_path_twice },
                { "path not an object path",            break_path_invalid },
                { "uses an unknown object",             break_uses_unknown },
                { "uses a younger object",              break_uses_younger },
                { "uses itself",                        break_uses_itself },
                { "uses one object too many",           break_uses_one_too_many },
                { "device attached to a fault queue",   break_attached_to_queue },
                { "PASID on an IOAS",                   break_pasid_on_ioas },
                { "PASID recorded twice",               break_pasid_twice },
                { "HWPT flags out of range",            break_hwpt_flags },
                { "virt-id not hex",                    break_virt_id },
                { "mock device without its parking IOAS", break_parking },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(json_object_putp) struct json_object *rec = sample();
                Daemon d = {};
                Session *s = NULL;

                cases[i].breaks(rec);
                if (session_record_from_json(&d, rec, -EBADF, &s) != -EBADMSG)
                        fail_msg("a record with %s was not refused as malformed", cases[i].what);
                assert_null(s);
                assert_null(d.sessions);
        }
}

#else
static void test_mock_refused(void **state) {
        _cleanup_(json_object_putp) struct json_object *rec = sample();
        Daemon d = {};
        Session *s = NULL;

        assert_int_equal(session_record_from_json(&d, rec, -EBADF, &s), -EBADMSG);
        assert_null(s);
        assert_null(d.sessions);
}
#endif

int main(void) {
        const struct CMUnitTest tests[] = {
#if ENABLE_TEST_HOOKS
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_detached),
                cmocka_unit_test(test_id_taken),
                cmocka_unit_test(test_malformed),
#else
                cmocka_unit_test(test_mock_refused),
#endif
        };

        return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
