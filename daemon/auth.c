/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may claim or bind (to vfio-pci) which device, how much a session may
 * hold, and how many sessions a user may have.
 *
 * Root may claim anything. Anyone else may claim what viommud.conf(5) allows
 * to their uid, groups or systemd unit; everything else is asked of polkit,
 * asynchronously, as sd-bus daemons do: the first run of the method handler
 * sends CheckAuthorization and returns 0 without replying; when polkit
 * answers, the original call is put back into the bus's read queue, the
 * handler runs again from the top (so every object it looks up is looked up
 * afresh) and this time gets the stored answer.
 */

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "bus-errors.h"
#include "bus-util.h"
#include "caller-uid.h"
#include "caller-unit.h"
#include "channel.h"
#include "config.h"
#include "log.h"
#include "util.h"
#include "viommu-topology.h"

#define POLKIT_BUS_NAME  "org.freedesktop.PolicyKit1"
#define POLKIT_PATH      "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_CHECK_ALLOW_USER_INTERACTION 1u

/* An interactive query waits for a person to type a password. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5ULL * 60 * 1000 * 1000)

/* What polkit is asked about. */
#define POLKIT_ACTION_CLAIM "org.viommu1.claim-device"
#define POLKIT_ACTION_BIND  "org.viommu1.bind-device"

struct AuthQuery {
        Daemon *daemon;
        /* The method call, re-run once polkit answered; and its key. */
        sd_bus_message *request;
        uint64_t cookie;
        char *sender;

        char *action;
        char *device;
        const char *verb;               /* "claim" or "bind", for messages */
        uid_t uid;

        sd_bus_slot *slot;              /* CheckAuthorization in flight */
        sd_event_source *defer;         /* drops an answer the re-run never collected */
        bool answered;
        bool allowed;
        sd_bus_error denial;

        AuthQuery *prev, *next;
};

static AuthQuery *auth_query_free(AuthQuery *q) {
        if (!q)
                return NULL;

        if (q->prev)
                q->prev->next = q->next;
        else if (q->daemon->auth_queries == q)
                q->daemon->auth_queries = q->next;
        if (q->next)
                q->next->prev = q->prev;

        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->defer);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->denial);
        free(q->sender);
        free(q->action);
        free(q->device);
        free(q);
        return NULL;
}

void auth_queries_free(Daemon *d) {
        while (d->auth_queries)
                auth_query_free(d->auth_queries);
}

/* A message comes back as the same object; cookie and sender identify it
 * all the same, should sd-bus ever hand over a copy. */
static AuthQuery *auth_query_find(Daemon *d, sd_bus_message *m) {
        const char *sender = sd_bus_message_get_sender(m);
        uint64_t cookie;

        if (sd_bus_message_get_cookie(m, &cookie) < 0)
                return NULL;
        for (AuthQuery *q = d->auth_queries; q; q = q->next)
                if (q->request == m || (q->cookie == cookie && sender && streq(q->sender, sender)))
                        return q;
        return NULL;
}

static int polkit_reply_evaluate(AuthQuery *q, sd_bus_message *reply) {
        int authorized, challenge, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                    sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        return sd_bus_error_setf(&q->denial, VIOMMU_ERROR_PERMISSION_DENIED,
                                                 "uid %u may not %s %s: viommud.conf does not allow it, and polkit, "
                                                 "which could (action %s), is not running on this bus",
                                                 (unsigned) q->uid, q->verb, q->device, q->action);
                if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) ||
                    sd_bus_error_has_name(e, SD_BUS_ERROR_TIMEOUT))
                        return sd_bus_error_setf(&q->denial, VIOMMU_ERROR_PERMISSION_DENIED,
                                                 "uid %u may not %s %s: polkit did not answer in time (action %s)",
                                                 (unsigned) q->uid, q->verb, q->device, q->action);
                return sd_bus_error_setf(&q->denial, VIOMMU_ERROR_PERMISSION_DENIED,
                                         "uid %u may not %s %s: polkit failed to decide on action %s: %s: %s",
                                         (unsigned) q->uid, q->verb, q->device, q->action, e->name, e->message ?: "");
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return sd_bus_error_setf(&q->denial, VIOMMU_ERROR_PERMISSION_DENIED,
                                         "uid %u may not %s %s: polkit's answer on action %s is malformed",
                                         (unsigned) q->uid, q->verb, q->device, q->action);
        if (authorized) {
                q->allowed = true;
                return 0;
        }
        if (challenge)
                return sd_bus_error_setf(&q->denial, VIOMMU_ERROR_PERMISSION_DENIED,
                                         "uid %u may %s %s only after authenticating (polkit action %s): "
                                         "call again allowing interactive authorization",
                                         (unsigned) q->uid, q->verb, q->device, q->action);
        return sd_bus_error_setf(&q->denial, VIOMMU_ERROR_PERMISSION_DENIED,
                                 "uid %u may not %s %s: neither viommud.conf nor polkit (action %s) allows it",
                                 (unsigned) q->uid, q->verb, q->device, q->action);
}

static int on_answer_uncollected(sd_event_source *s, void *userdata) {
        AuthQuery *q = userdata;

        /* The re-run ended before asking (the device went, the session
         * closed, the caller left): nobody will collect the answer. */
        log_debug("polkit answer for %s on %s uncollected, dropped", q->sender, q->device);
        auth_query_free(q);
        return 0;
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthQuery *q = userdata;
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        (void) polkit_reply_evaluate(q, reply);
        q->answered = true;
        if (q->allowed)
                log_info("uid %u (%s) may %s %s: polkit allowed %s",
                         (unsigned) q->uid, q->sender, q->verb, q->device, q->action);
        else
                log_notice("%s (caller %s)", q->denial.message, q->sender);

        r = bus_call_resume_watched(q->request, q->daemon->event, &q->defer, on_answer_uncollected, q);
        if (r < 0) {
                log_error_errno(r, "Cannot resume %s's call after polkit answered: %m", q->sender);
                (void) sd_bus_reply_method_errorf(q->request, VIOMMU_ERROR_FAILED,
                                                  "Cannot resume the call after polkit answered: %s", strerror(-r));
                auth_query_free(q);
        }
        return 0;
}

static int polkit_ask(Daemon *d, sd_bus_message *m, const char *action, const char *verb, const char *device,
                      uid_t uid, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(m);
        const char *sender = sd_bus_message_get_sender(m);
        bool interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
        AuthQuery *q;
        int r;

        if (!sender)
                return sd_bus_error_setf(error, VIOMMU_ERROR_PERMISSION_DENIED,
                                         "uid %u may not %s %s: the call has no sender to ask polkit about",
                                         (unsigned) uid, verb, device);

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->daemon = d;
        q->uid = uid;
        q->verb = verb;
        q->request = sd_bus_message_ref(m);
        q->denial = SD_BUS_ERROR_NULL;
        (void) sd_bus_message_get_cookie(m, &q->cookie);
        q->sender = strdup(sender);
        q->action = strdup(action);
        q->device = strdup(device);
        q->next = d->auth_queries;
        if (d->auth_queries)
                d->auth_queries->prev = q;
        d->auth_queries = q;
        if (!q->sender || !q->action || !q->device) {
                auth_query_free(q);
                return -ENOMEM;
        }

        r = sd_bus_message_new_method_call(bus, &call, POLKIT_BUS_NAME, POLKIT_PATH, POLKIT_INTERFACE,
                                           "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r >= 0)
                r = sd_bus_message_append(call, "a{ss}us", 1, "device", device,
                                          interactive ? POLKIT_CHECK_ALLOW_USER_INTERACTION : 0u, "");
        if (r >= 0)
                r = sd_bus_call_async(bus, &q->slot, call, on_polkit_reply, q,
                                      interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0);
        if (r < 0) {
                auth_query_free(q);
                return bus_error_errno(error, r == -ENOMEM ? r : -EACCES,
                                       "uid %u may not %s %s: polkit cannot be asked: %s", (unsigned) uid,
                                       verb, device, strerror(-r));
        }

        log_debug("asked polkit whether uid %u (%s) may %s %s (%s%s)", (unsigned) uid, sender, verb, device, action,
                  interactive ? ", interactive" : "");
        return 0;
}

/* The stored answer, once; the query goes. */
static int auth_query_collect(AuthQuery *q, sd_bus_error *error) {
        int r;

        if (q->allowed) {
                auth_query_free(q);
                return 1;
        }
        r = sd_bus_error_copy(error, &q->denial);
        auth_query_free(q);
        return r < 0 ? r : -EACCES;
}

static int auth_device(Daemon *d, sd_bus_message *m, const struct viommu_topology_device *dev, bool bind,
                       sd_bus_error *error) {
        const char *verb = bind ? "bind" : "claim", *action = bind ? POLKIT_ACTION_BIND : POLKIT_ACTION_CLAIM;
        _cleanup_free_ char *unit = NULL;
        AuthQuery *q;
        uid_t uid;
        int r;

        /* A channel's peer has no credentials to check (both ends are the
         * daemon's socketpair), and claims are rare: they take the bus. */
        if (channel_session(d, sd_bus_message_get_bus(m)))
                return sd_bus_error_setf(error, VIOMMU_ERROR_PERMISSION_DENIED,
                                         "Devices are claimed and bound over the system bus, not over a direct channel");

        q = auth_query_find(d, m);
        if (q) {
                if (!q->answered)
                        return 0;       /* still with polkit */
                if (streq(q->device, dev->name) && streq(q->action, action))
                        return auth_query_collect(q, error);
                /* The name now means another device: ask afresh. */
                auth_query_free(q);
        }

        r = caller_uid(d, m, &uid, error);
        if (r < 0)
                return r;
        if (uid == 0)
                return 1;

        if (d->config && d->config->n_allow > 0) {
                /* Known with the uid: the groups the bus vouched for and
                 * those of the user database. Never what /proc says, which
                 * may be another process's by now. */
                const CallerCreds *creds = caller_creds(d, m);

                r = caller_unit(creds->pid, uid, &unit);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        log_warning_errno(r, "Cannot tell the systemd unit of uid %u (%s): %m; unit rules skipped",
                                          (unsigned) uid, sd_bus_message_get_sender(m) ?: "?");

                if ((bind ? config_device_bind_allowed : config_device_allowed)(d->config, dev, uid, creds->gids,
                                                                                creds->n_gids, unit) > 0) {
                        log_debug("uid %u may %s %s: allowed by %s", (unsigned) uid, verb, dev->name,
                                  d->config_path ?: CONFIG_DEFAULT_PATH);
                        return 1;
                }
        }

        return polkit_ask(d, m, action, verb, dev->name, uid, error);
}

int auth_claim_device(Daemon *d, sd_bus_message *m, Session *s, const struct viommu_topology_device *dev,
                      sd_bus_error *error) {
        return auth_device(d, m, dev, false, error);
}

int auth_bind_device(Daemon *d, sd_bus_message *m, const struct viommu_topology_device *dev, sd_bus_error *error) {
        return auth_device(d, m, dev, true, error);
}

int auth_check_limit(Daemon *d, Session *s, ConfigLimit what, uint64_t more, sd_bus_error *error) {
        char used_buf[CONFIG_FORMAT_BYTES_MAX], more_buf[CONFIG_FORMAT_BYTES_MAX], limit_buf[CONFIG_FORMAT_BYTES_MAX];
        const char *noun;
        uint64_t used, limit;

        switch (what) {
        case CONFIG_LIMIT_PINNED_BYTES:
                used = s->mapped_bytes;
                noun = "pinned";
                break;
        case CONFIG_LIMIT_OBJECTS:
                used = s->n_objects;
                noun = "objects";
                break;
        case CONFIG_LIMIT_DEVICES:
                used = s->n_devices;
                noun = "devices";
                break;
        case CONFIG_LIMIT_LEASES:
                used = s->n_leases;
                noun = "leases";
                break;
        default:
                return -EINVAL;
        }

        limit = config_limit(d->config, what);
        if (limit == CONFIG_LIMIT_INFINITY || (more <= limit && used <= limit - more))
                return 0;

        if (what == CONFIG_LIMIT_PINNED_BYTES) {
                config_format_bytes(used_buf, used);
                config_format_bytes(more_buf, more);
                config_format_bytes(limit_buf, limit);
        } else {
                snprintf(used_buf, sizeof(used_buf), "%" PRIu64, used);
                snprintf(more_buf, sizeof(more_buf), "%" PRIu64, more);
                snprintf(limit_buf, sizeof(limit_buf), "%" PRIu64, limit);
        }
        return sd_bus_error_setf(error, VIOMMU_ERROR_LIMIT_EXCEEDED,
                                 "Session %u has %s %s; %s more would exceed its limit of %s "
                                 "(limits.%s in %s)",
                                 s->id, used_buf, noun, more_buf, limit_buf, config_limit_to_string(what),
                                 d->config_path ?: CONFIG_DEFAULT_PATH);
}

int auth_check_sessions(Daemon *d, uid_t uid, bool persistent, sd_bus_error *error) {
        const ConfigLimit what[] = { CONFIG_LIMIT_SESSIONS_PER_USER, CONFIG_LIMIT_PERSISTENT_SESSIONS_PER_USER };
        uint64_t used[2] = {};

        for (Session *s = d->sessions; s; s = s->sessions_next)
                if (s->uid == uid) {
                        used[0]++;
                        used[1] += s->persistent;
                }
        for (size_t i = 0; i < (persistent ? 2 : 1); i++) {
                uint64_t limit = config_limit(d->config, what[i]);

                if (limit != CONFIG_LIMIT_INFINITY && used[i] >= limit)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_LIMIT_EXCEEDED,
                                                 "uid %u has %" PRIu64 " %ssessions; one more would exceed its "
                                                 "limit of %" PRIu64 " (limits.%s in %s)",
                                                 (unsigned) uid, used[i], i > 0 ? "persistent " : "", limit,
                                                 config_limit_to_string(what[i]),
                                                 d->config_path ?: CONFIG_DEFAULT_PATH);
        }
        return 0;
}

bool auth_observer(Daemon *d, const CallerCreds *creds) {
        return d->config && config_observer(d->config, creds->uid, creds->gids, creds->n_gids);
}
