/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A unique name is never reused while the bus lives, so credentials kept
 * under it can never speak for another connection; NameOwnerChanged says
 * when to drop them. A call whose sender is not known yet is put aside
 * before it reaches any object (a filter) while the bus is asked
 * (GetConnectionCredentials: uid, pid and groups in one answer) and then,
 * for any caller but root, the user database (its groups, in a thread),
 * every other client being served meanwhile, and dispatched again with the
 * answers in the table.
 */

#include <errno.h>
#include <json-c/linkhash.h>
#include <stdlib.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "caller-uid.h"
#include "json-util.h"
#include "log.h"
#include "user-groups.h"
#include "util.h"

typedef struct CallerUid {
        Daemon *daemon;
        char *name;
        CallerCreds creds;
        bool known;
        sd_bus_slot *slot;              /* the question to the bus in flight */
        UserGroups *lookup;             /* the one to the user database */
        sd_bus_message **waiting;       /* calls put aside until it is answered */
        size_t n_waiting;
} CallerUid;

static void caller_free(struct lh_entry *e) {
        CallerUid *c = (CallerUid *) lh_entry_v(e);

        sd_bus_slot_unref(c->slot);
        user_groups_abandon(c->lookup);
        for (size_t i = 0; i < c->n_waiting; i++)
                sd_bus_message_unref(c->waiting[i]);
        free(c->waiting);
        free(c->creds.gids);
        free(c->name);
        free(c);
}

static CallerUid *caller_get(Daemon *d, const char *name) {
        void *v;

        return d->caller_uids && lh_table_lookup_ex(d->caller_uids, name, &v) ? v : NULL;
}

static int caller_add(Daemon *d, const char *name, CallerUid **ret) {
        CallerUid *c;

        if (!d->caller_uids) {
                d->caller_uids = lh_kchar_table_new(64, caller_free);
                if (!d->caller_uids)
                        return -ENOMEM;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->daemon = d;
        c->name = strdup(name);
        if (!c->name || lh_table_insert(d->caller_uids, c->name, c) < 0) {
                free(c->name);
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

static void caller_drop(CallerUid *c) {
        (void) lh_table_delete(c->daemon->caller_uids, c->name);       /* frees c */
}

_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "UnixGroupIDs are gid_t");

/* GetConnectionCredentials' a{sv}: UnixUserID is required; ProcessID and
 * UnixGroupIDs (primary and supplementary) when the bus knows them. */
static int read_creds(sd_bus_message *reply, CallerCreds *ret) {
        _cleanup_free_ gid_t *gids = NULL;
        CallerCreds creds = {};
        bool have_uid = false;
        const char *key;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "UnixUserID")) {
                        r = sd_bus_message_read(reply, "v", "u", &creds.uid);
                        have_uid = r >= 0;
                } else if (streq(key, "ProcessID"))
                        r = sd_bus_message_read(reply, "v", "u", &creds.pid);
                else if (streq(key, "UnixGroupIDs")) {
                        const uint32_t *ids;
                        size_t size;

                        r = sd_bus_message_enter_container(reply, 'v', "au");
                        if (r >= 0)
                                r = sd_bus_message_read_array(reply, 'u', (const void **) &ids, &size);
                        if (r >= 0) {
                                free(gids);
                                gids = memdup(ids, MAX(size, 1u));
                                if (!gids)
                                        return -ENOMEM;
                                creds.n_gids = size / sizeof(uint32_t);
                                r = sd_bus_message_exit_container(reply);
                        }
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (!have_uid)
                return -EBADMSG;
        creds.gids = TAKE_PTR(gids);
        *ret = creds;
        return 0;
}

/* Its calls go on: to their handlers, or with error set to an error reply. */
static void caller_resume(CallerUid *c, const sd_bus_error *error) {
        for (size_t i = 0; i < c->n_waiting; i++) {
                if (error)
                        (void) sd_bus_reply_method_error(c->waiting[i], error);
                else
                        bus_call_resume(c->waiting[i]);
                sd_bus_message_unref(c->waiting[i]);
        }
        c->waiting = mfree(c->waiting);
        c->n_waiting = 0;
}

static void on_groups(int r, gid_t *gids, size_t n_gids, void *userdata) {
        CallerUid *c = userdata;

        c->lookup = NULL;
        if (r < 0)
                log_warning("Cannot read the groups of uid %u from the user database: %s; only those the bus "
                            "reports count", (unsigned) c->creds.uid, strerror(-r));
        free(c->creds.gids);
        c->creds.gids = gids;
        c->creds.n_gids = n_gids;
        c->known = true;
        caller_resume(c, NULL);
}

static int on_uid_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error denied = SD_BUS_ERROR_NULL;
        CallerUid *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r = e ? -sd_bus_error_get_errno(e) : read_creds(reply, &c->creds);

        c->slot = sd_bus_slot_unref(c->slot);
        if (r < 0) {
                log_debug("The bus does not say who %s is: %s", c->name, e ? e->message : strerror(-r));
                (void) sd_bus_error_setf(&denied, VIOMMU_ERROR_PERMISSION_DENIED,
                                         "Cannot determine who the caller is: %s", e ? e->message : strerror(-r));
                caller_resume(c, &denied);
                caller_drop(c);
                return 0;
        }
        if (c->creds.uid != 0) {
                r = user_groups_lookup(c->daemon, c->creds.uid, c->creds.gids, c->creds.n_gids, on_groups, c,
                                       &c->lookup);
                if (r >= 0)
                        return 0;
                log_warning("Cannot look up the groups of uid %u: %s; only those the bus reports count",
                            (unsigned) c->creds.uid, strerror(-r));
        }
        c->known = true;
        caller_resume(c, NULL);
        return 0;
}

/* On any other connection than the system bus (a direct channel) the peer
 * writes the sender field itself, and whatever was asked about it would be
 * answered by that peer. */
const char *caller_sender(Daemon *d, sd_bus_message *m) {
        return sd_bus_message_get_bus(m) == d->bus ? sd_bus_message_get_sender(m) : NULL;
}

int caller_uid(Daemon *d, sd_bus_message *m, uid_t *ret, sd_bus_error *error) {
        const char *sender = caller_sender(d, m);
        sd_bus_message **w;
        CallerUid *c;
        int r;

        if (!sender)
                return bus_error_caller(error, -ENXIO);
        c = caller_get(d, sender);
        if (c && c->known) {
                *ret = c->creds.uid;
                return 0;
        }
        if (!c) {
                r = caller_add(d, sender, &c);
                if (r < 0)
                        return bus_error_caller(error, r);
                r = sd_bus_call_method_async(d->bus, &c->slot, "org.freedesktop.DBus",
                                             "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                             "GetConnectionCredentials", on_uid_reply, c, "s", sender);
                if (r < 0) {
                        caller_drop(c);
                        return bus_error_caller(error, r);
                }
        }
        w = reallocarray(c->waiting, c->n_waiting + 1, sizeof(*w));
        if (!w)
                return bus_error_caller(error, -ENOMEM);
        c->waiting = w;
        c->waiting[c->n_waiting++] = sd_bus_message_ref(m);
        return bus_put_aside(error);
}

int name_uid_now(Daemon *d, const char *name, uid_t *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        CallerCreds creds;
        CallerUid *c;
        int r;

        c = caller_get(d, name);
        if (c && c->known) {
                *ret = c->creds.uid;
                return 0;
        }
        /* Not kept: a caller is known with its groups, which are not
         * looked up here. */
        r = sd_bus_call_method(d->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionCredentials", NULL, &reply, "s", name);
        if (r >= 0)
                r = read_creds(reply, &creds);
        if (r < 0)
                return r;
        free(creds.gids);
        *ret = creds.uid;
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        const char *name, *old_owner, *new_owner;
        CallerUid *c;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !isempty(new_owner))
                return 0;
        c = caller_get(d, name);
        if (c)
                caller_drop(c);         /* calls still waiting have nobody to answer to */
        return 0;
}

const CallerCreds *caller_creds(Daemon *d, sd_bus_message *m) {
        const char *sender = caller_sender(d, m);
        CallerUid *c = sender ? caller_get(d, sender) : NULL;

        return c && c->known ? &c->creds : NULL;
}

/* Every call waits, put aside, until its sender's uid is known: the find
 * callbacks and property reads that decide who sees what then never wait
 * for the bus, and a stranger's call on a session finds no object, as one on
 * a path that names none. */
static int on_call(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uid_t uid;
        int r;

        if (sd_bus_message_is_method_call(m, NULL, NULL) <= 0)
                return 0;
        r = caller_uid(userdata, m, &uid, &error);
        if (r >= 0)
                return 0;       /* on to its handler */
        if (r != -EINPROGRESS)
                (void) sd_bus_reply_method_error(m, &error);
        return 1;
}

int caller_uids_start(Daemon *d) {
        int r;

        r = sd_bus_match_signal(d->bus, &d->name_owner_changed, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, d);
        if (r < 0)
                return r;
        return sd_bus_add_filter(d->bus, &d->caller_filter, on_call, d);
}

void caller_uids_free(Daemon *d) {
        d->caller_filter = sd_bus_slot_unref(d->caller_filter);
        d->name_owner_changed = sd_bus_slot_unref(d->name_owner_changed);
        d->caller_uids = lh_table_free_safe(d->caller_uids);
        user_groups_free_all(d);
}
