/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The integration tests' watcher of the daemon's signals (itest.h).
 */

#include "itest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- signals, as a program watching the bus gets them ------------------- */

static int on_daemon_signal(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watcher *w = userdata;
        sd_bus_message **a = reallocarray(w->signals, w->n + 1, sizeof(*a));

        assert_non_null(a);
        w->signals = a;
        w->signals[w->n++] = sd_bus_message_ref(m);
        return 0;
}

Watcher *watcher_on(sd_bus *bus, bool subscribe) {
        Watcher *w = calloc(1, sizeof(*w));

        assert_non_null(w);
        w->bus = bus;
        /* Synchronous: the bus has the match when this returns. */
        assert_true(sd_bus_match_signal(w->bus, NULL, BUS_NAME, NULL, NULL, NULL, on_daemon_signal, w) >= 0);
        if (subscribe)
                sd_bus_message_unref(CALL(w->bus, MANAGER_PATH, I_MANAGER, "Subscribe", NULL));
        return w;
}

Watcher *watcher_new(void) {
        return watcher_on(bus_open(), true);
}

static void watcher_clear(Watcher *w) {
        for (size_t i = 0; i < w->n; i++)
                sd_bus_message_unref(w->signals[i]);
        w->n = 0;
}

void watcher_free(Watcher *w) {
        watcher_clear(w);
        free(w->signals);
        sd_bus_flush_close_unref(w->bus);
        free(w);
}

void watcher_sync(Watcher *w) {
        free(get_string(w->bus, MANAGER_PATH, I_MANAGER, "Version", "s"));
        while (sd_bus_process(w->bus, NULL) > 0)
                ;
}

void watcher_reset(Watcher *w) {
        watcher_sync(w);
        watcher_clear(w);
}

/* A property's value in a PropertiesChanged signal as text: numbers in
 * decimal, strings and paths as they are. */
static char *variant_text(sd_bus_message *m) {
        const char *contents, *str;
        char type, *text = NULL;
        uint64_t u64;
        uint32_t u32;
        int32_t i32;
        int b;

        assert_true(sd_bus_message_peek_type(m, &type, &contents) > 0);
        assert_int_equal(type, 'v');
        assert_true(sd_bus_message_enter_container(m, 'v', contents) > 0);
        switch (contents[0]) {
        case 'u':
                assert_true(sd_bus_message_read_basic(m, 'u', &u32) > 0);
                assert_true(asprintf(&text, "%" PRIu32, u32) > 0);
                break;
        case 't':
                assert_true(sd_bus_message_read_basic(m, 't', &u64) > 0);
                assert_true(asprintf(&text, "%" PRIu64, u64) > 0);
                break;
        case 'i':
                assert_true(sd_bus_message_read_basic(m, 'i', &i32) > 0);
                assert_true(asprintf(&text, "%" PRIi32, i32) > 0);
                break;
        case 'b':
                assert_true(sd_bus_message_read_basic(m, 'b', &b) > 0);
                text = strdup(b ? "true" : "false");
                break;
        case 's':
        case 'o':
                assert_true(sd_bus_message_read_basic(m, contents[0], &str) > 0);
                text = strdup(str);
                break;
        default:
                assert_true(sd_bus_message_skip(m, contents) >= 0);
                assert_true(asprintf(&text, "(%s)", contents) > 0);
        }
        assert_non_null(text);
        assert_true(sd_bus_message_exit_container(m) >= 0);
        return text;
}

void assert_changed_at(const char *file, int line, Watcher *w, const char *path, const char *interface,
                       const char *property, const char *value) {
        _cleanup_free_ char *seen = NULL;
        size_t seen_size = 0;
        FILE *f = open_memstream(&seen, &seen_size);
        bool found = false;

        assert_non_null(f);
        watcher_sync(w);
        for (size_t i = 0; i < w->n && !found; i++) {
                sd_bus_message *m = w->signals[i];
                const char *iface, *name;
                char **invalidated = NULL;

                if (!sd_bus_message_is_signal(m, "org.freedesktop.DBus.Properties", "PropertiesChanged") ||
                    !streq_ptr(sd_bus_message_get_path(m), path))
                        continue;
                assert_true(sd_bus_message_rewind(m, true) >= 0);
                assert_true(sd_bus_message_read(m, "s", &iface) > 0);
                if (!streq(iface, interface))
                        continue;
                assert_true(sd_bus_message_enter_container(m, 'a', "{sv}") > 0);
                while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        assert_true(sd_bus_message_read(m, "s", &name) > 0);
                        if (streq(name, property)) {
                                _cleanup_free_ char *text = variant_text(m);

                                found = found || streq(text, value);
                                fprintf(f, " %s", text);
                        } else
                                assert_true(sd_bus_message_skip(m, "v") >= 0);
                        assert_true(sd_bus_message_exit_container(m) >= 0);
                }
                assert_true(sd_bus_message_exit_container(m) >= 0);
                assert_true(sd_bus_message_read_strv(m, &invalidated) >= 0);
                if (strv_contains(invalidated, property))
                        fputs(" (invalidated, without its value)", f);
                strv_free(invalidated);
        }
        assert_int_equal(fclose(f), 0);
        if (!found)
                fail_msg("%s:%d: no PropertiesChanged of %s.%s on %s to %s; announced:%s", file, line, interface,
                         property, path, value, seen_size > 0 ? seen : " nothing");
}

const char *num_text(char *buf, uint64_t n) {
        snprintf(buf, 24, "%" PRIu64, n);
        return buf;
}

/* Whether m, an InterfacesAdded (a{sa{sv}}) or InterfacesRemoved (as) read
 * up to its list, names interface; with property, whether that property's
 * value in it is value. */
static bool interfaces_name(sd_bus_message *m, bool added, const char *interface, const char *property,
                            const char *value) {
        const char *name;
        bool found = false;

        if (!added) {
                _cleanup_strv_free_ char **names = NULL;

                assert_true(sd_bus_message_read_strv(m, &names) >= 0);
                return strv_contains(names, interface);
        }
        assert_true(sd_bus_message_enter_container(m, 'a', "{sa{sv}}") > 0);
        while (!found && sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
                assert_true(sd_bus_message_read(m, "s", &name) > 0);
                if (!streq(name, interface)) {
                        assert_true(sd_bus_message_skip(m, "a{sv}") >= 0);
                        assert_true(sd_bus_message_exit_container(m) >= 0);
                        continue;
                }
                found = !property;
                assert_true(sd_bus_message_enter_container(m, 'a', "{sv}") > 0);
                while (!found && sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                        assert_true(sd_bus_message_read(m, "s", &name) > 0);
                        if (streq(name, property)) {
                                _cleanup_free_ char *text = variant_text(m);

                                found = streq(text, value);
                        } else
                                assert_true(sd_bus_message_skip(m, "v") >= 0);
                        assert_true(sd_bus_message_exit_container(m) >= 0);
                }
                return found;
        }
        return found;
}

void assert_interfaces_at(const char *file, int line, Watcher *w, const char *member, const char *path,
                          const char *interface, const char *property, const char *value) {
        bool added = streq(member, "InterfacesAdded");

        watcher_sync(w);
        for (size_t i = 0; i < w->n; i++) {
                sd_bus_message *m = w->signals[i];
                const char *p;

                if (!sd_bus_message_is_signal(m, I_OBJECT_MANAGER, member))
                        continue;
                assert_true(sd_bus_message_rewind(m, true) >= 0);
                assert_true(sd_bus_message_read(m, "o", &p) > 0);
                if (streq(p, path) && interfaces_name(m, added, interface, property, value))
                        return;
        }
        fail_msg("%s:%d: no %s of %s naming %s%s%s%s%s", file, line, member, path, interface,
                 property ? " with " : "", property ?: "", property ? " " : "", value ?: "");
}

/* Whether text is path or a path below it. */
static bool names(const char *text, const char *path) {
        const char *rest = startswith(text, path);

        return rest && (*rest == '\0' || *rest == '/');
}

void assert_nothing_about_at(const char *file, int line, Watcher *w, const char *path) {
        watcher_sync(w);
        for (size_t i = 0; i < w->n; i++) {
                sd_bus_message *m = w->signals[i];
                const char *contents, *v;
                char type;

                assert_true(sd_bus_message_rewind(m, true) >= 0);
                if (names(sd_bus_message_get_path(m), path) ||
                    (sd_bus_message_peek_type(m, &type, &contents) > 0 && IN_SET(type, 's', 'o') &&
                     sd_bus_message_read_basic(m, type, &v) > 0 && names(v, path)))
                        fail_msg("%s:%d: %s.%s on %s told of %s", file, line, sd_bus_message_get_interface(m),
                                 sd_bus_message_get_member(m), sd_bus_message_get_path(m), path);
        }
}

void assert_signal_at(const char *file, int line, Watcher *w, const char *path, const char *interface,
                      const char *member, const char *arg) {
        watcher_sync(w);
        for (size_t i = 0; i < w->n; i++) {
                sd_bus_message *m = w->signals[i];
                const char *contents, *v;
                char type;

                if (!sd_bus_message_is_signal(m, interface, member) || !streq_ptr(sd_bus_message_get_path(m), path))
                        continue;
                assert_true(sd_bus_message_rewind(m, true) >= 0);
                if (sd_bus_message_peek_type(m, &type, &contents) > 0 && IN_SET(type, 's', 'o') &&
                    sd_bus_message_read_basic(m, type, &v) > 0 && streq(v, arg))
                        return;
        }
        fail_msg("%s:%d: no %s.%s on %s about %s", file, line, interface, member, path, arg);
}
