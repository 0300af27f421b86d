/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session.OpenDirectChannel: the same calls on the peer-to-peer connection,
 * without the bus daemon, and what it cannot reach. Mock devices, any uid.
 *
 *   test-channel [channel]
 *
 * The environment is described in itest.h.
 */

#include "itest.h"

#include <stdlib.h>
#include <string.h>

static void test_open_direct_channel(void **state) {
        Fixture *f = *state;
        const uint64_t iova = MOCK_APERTURE_START;
        _cleanup_free_ char *other = NULL, *other_ioas = NULL, *parent = NULL, *nested = NULL, *err = NULL,
                            *xml = NULL, *json = NULL, *id_node = NULL;
        struct iommu_hwpt_invalidate_selftest inv[3] = {
                { .iotlb_id = 2 }, { .iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_NUM }, { .iotlb_id = 0 },
        };
        sd_bus_message *reply;
        const char *text;
        sd_bus *ch;

        ch = channel_open(f->bus, f->session);
        assert_int_equal(sd_bus_is_bus_client(ch), 0);
        assert_int_equal(get_u32(ch, f->session, I_SESSION, "NObjects"), 2);

        /* The hot paths, without the bus daemon. */
        assert_int_equal(map(ch, f->ioas, f->memfd, 0, BUF_SIZE, iova, MAP_FIXED_RW), iova);
        parent = alloc_hwpt(ch, f->session, f->dev, f->ioas, NULL, IOMMU_HWPT_ALLOC_NEST_PARENT,
                            IOMMU_HWPT_DATA_NONE, NULL, 0, NULL);
        nested = alloc_nested(ch, f->session, f->dev, parent, NULL, 0, NULL);
        attach(ch, f->session, f->dev, nested);
        check_mapping(ch, f->session, f->dev, iova, BUF_SIZE, f->memfd, 0);
        assert_int_equal(invalidate(ch, nested, I_HWPT, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, sizeof(inv[0]),
                                    inv, sizeof(inv), &err), 1);
        assert_string_equal(err, "EINVAL");
        check_iotlb(ch, f->session, nested, 2, 0);
        check_iotlb(ch, f->session, nested, 0, IOMMU_TEST_IOTLB_DEFAULT);
        /* The bus sees what was done over the channel. */
        check_iotlb(f->bus, f->session, nested, 2, 0);
        json = describe(f->bus);
        assert_true(describe_mentions(json, nested));

        /* Another session of the same client is out of the channel's reach. */
        other = open_session(f->bus, false);
        other_ioas = create_ioas(f->bus, other, NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, ch, other, I_SESSION, "CreateIOAS", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, ch, other, I_SESSION, "Close", NULL);
        CALL_FAILS(E_UNKNOWN_OBJECT, ch, other_ioas, I_IOAS, "Map", "htttu", f->memfd, UINT64_C(0),
                   (uint64_t) PAGE, iova, MAP_FIXED_RW);
        /* and objects of another session are not arguments in this one */
        CALL_FAILS(E_NO_SUCH_OBJECT, ch, f->session, I_SESSION, "Attach", "oo", f->dev, other_ioas);
        reply = CALL(ch, "/org/viommu1/session", "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        assert_true(sd_bus_message_read(reply, "s", &text) > 0);
        xml = strdup(text);
        sd_bus_message_unref(reply);
        assert_true(asprintf(&id_node, "<node name=\"%s\"", strrchr(f->session, '/') + 1) > 0);
        assert_non_null(strstr(xml, id_node));
        free(TAKE_PTR(id_node));
        assert_true(asprintf(&id_node, "<node name=\"%s\"", strrchr(other, '/') + 1) > 0);
        assert_null(strstr(xml, id_node));
        assert_int_equal(get_u32(f->bus, other, I_SESSION, "NObjects"), 1);
        close_session(f->bus, other);

        /* Closing the channel leaves the session; a second channel works. */
        sd_bus_flush_close_unref(ch);
        ch = channel_open(f->bus, f->session);
        check_iotlb(ch, f->session, nested, 2, 0);
        assert_true(session_listed(f->bus, f->session));

        /* Closing the session closes its channels. */
        close_session(f->bus, f->session);
        reply = NULL;
        assert_true(sd_bus_call_method(ch, NULL, f->session, I_SESSION, "CreateIOAS", NULL, &reply, NULL) < 0);
        sd_bus_flush_close_unref(ch);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest channel[] = { T(test_open_direct_channel) };
        const Group groups[] = { GROUP("channel", channel) };

        return itest_main(argc, argv, groups, ELEMENTSOF(groups));
}
