/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state that the integration tests' refused calls must leave alone, and
 * calls of every method with arguments of the wrong types (itest.h).
 */

#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- refusals ----------------------------------------------------------- */

int scene_setup(void **state) {
        const uint64_t iova = MOCK_APERTURE_START;
        Scene *s = calloc(1, sizeof(*s));
        Fixture *f;

        assert_non_null(s);
        fixture_setup(state);
        f = s->f = *state;
        map(f->bus, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW);
        attach(f->bus, f->session, f->dev, f->ioas);
        s->parent = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                               IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        s->nested = alloc_nested(f->bus, f->session, f->dev, s->parent, NULL, 0, NULL);
        s->plain = alloc_hwpt(f->bus, f->session, f->dev, f->ioas, NULL, 0, IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        s->idle = create_mock(f->bus, f->session, 0, NULL);
        s->fq = reply_object(CALL(f->bus, f->session, I_SESSION, "AllocFaultQueue", NULL), NULL);
        s->other = open_session(f->bus, false);
        s->other_ioas = create_ioas(f->bus, s->other, NULL);
        s->other_dev = create_mock(f->bus, s->other, 0, NULL);
        assert_true(asprintf(&s->fake, "%s/ioas/_3999", f->session) > 0);
        s->before = describe(f->bus);
        *state = s;
        return 0;
}

int scene_teardown(void **state) {
        Scene *s = *state;

        *state = s->f;
        if (session_listed(s->f->bus, s->other))
                close_session(s->f->bus, s->other);
        free(s->parent);
        free(s->nested);
        free(s->plain);
        free(s->idle);
        free(s->fq);
        free(s->fake);
        free(s->other);
        free(s->other_ioas);
        free(s->other_dev);
        free(s->before);
        free(s);
        return fixture_teardown(state);
}

void scene_untouched(Scene *s) {
        Fixture *f = s->f;
        _cleanup_free_ char *after = describe(f->bus);

        assert_string_equal(s->before, after);
        assert_int_equal(get_u32(f->bus, s->other, I_SESSION, "NObjects"), 2);
        /* The kernel's side is untouched too. */
        check_mapping(f->bus, f->session, f->dev, MOCK_APERTURE_START, BUF_SIZE, f->memfd, 0);
        for (uint32_t i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
                check_iotlb(f->bus, f->session, s->nested, i, IOMMU_TEST_IOTLB_DEFAULT);
}

/* Every method of every org.viommu1 interface at path, called with
 * arguments of the wrong types (and, when it takes any, with none): each
 * refused with InvalidArgs. Returns how many methods there were. */
static size_t call_every_method_wrongly(sd_bus *bus, const char *path, char ***seen) {
        sd_bus_message *reply = CALL(bus, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        const char *xml, *iface, *p;
        size_t n = 0;

        assert_true(sd_bus_message_read(reply, "s", &xml) > 0);
        for (iface = strstr(xml, "<interface name=\"org.viommu1."); iface;
             iface = strstr(iface + 1, "<interface name=\"org.viommu1.")) {
                const char *iface_end = strstr(iface, "</interface>");
                char iface_name[128];

                assert_non_null(iface_end);
                assert_int_equal(sscanf(iface, "<interface name=\"%127[^\"]\"", iface_name), 1);
                for (p = strstr(iface, "<method name=\""); p && p < iface_end; p = strstr(p + 1, "<method name=\"")) {
                        const char *tag_end = strchr(p, '>'), *method_end, *a;
                        char member[128], signature[256] = "", *key = NULL;
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                        assert_int_equal(sscanf(p, "<method name=\"%127[^\"]\"", member), 1);
                        assert_non_null(tag_end);
                        /* <method name="X"/> takes and returns nothing */
                        method_end = tag_end[-1] == '/' ? tag_end : strstr(p, "</method>");
                        assert_non_null(method_end);
                        for (a = strstr(p, "<arg "); a && a < method_end; a = strstr(a + 1, "<arg ")) {
                                const char *arg_end = strstr(a, "/>"), *t = strstr(a, "type=\""),
                                           *d = strstr(a, "direction=\"");
                                char type[64];

                                assert_true(arg_end && t && t < arg_end);
                                assert_int_equal(sscanf(t, "type=\"%63[^\"]\"", type), 1);
                                if (d && d < arg_end && startswith(d, "direction=\"out\""))
                                        continue;
                                assert_true(strlen(signature) + strlen(type) < sizeof(signature));
                                strcat(signature, type);
                        }

                        m = new_call(bus, path, iface_name, member);
                        assert_true(sd_bus_message_append(m, "ds", 2.5, "not what it takes") >= 0);
                        SEND_FAILS(E_INVALID_ARGS, bus, m);
                        if (signature[0]) {
                                sd_bus_message_unref(TAKE_PTR(m));
                                m = new_call(bus, path, iface_name, member);
                                SEND_FAILS(E_INVALID_ARGS, bus, m);
                        }
                        assert_true(asprintf(&key, "%s.%s", iface_name, member) > 0);
                        if (!strv_contains(*seen, key)) {
                                size_t k = strv_length(*seen);

                                *seen = realloc(*seen, (k + 2) * sizeof(char *));
                                assert_non_null(*seen);
                                (*seen)[k] = TAKE_PTR(key);
                                (*seen)[k + 1] = NULL;
                        }
                        free(key);
                        n++;
                }
        }
        sd_bus_message_unref(reply);
        return n;
}

void refuse_wrong_types(sd_bus *bus, const char *const *paths, size_t n_paths, const char *const *must_see,
                        size_t n_must_see) {
        char **seen = NULL;
        size_t n = 0;

        for (size_t i = 0; i < n_paths; i++)
                if (paths[i])
                        n += call_every_method_wrongly(bus, paths[i], &seen);
        for (size_t i = 0; i < n_must_see; i++)
                if (!strv_contains(seen, must_see[i]))
                        fail_msg("%s was not among the methods introspected", must_see[i]);
        print_message("%zu methods (%zu calls on objects) refused wrong arguments\n", strv_length(seen), n);
        strv_free(seen);
}
