/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A stand-in for polkitd on a private test bus: owns org.freedesktop.PolicyKit1,
 * answers CheckAuthorization from rules given on the command line, and logs
 * every query on stdout, one line each, so that a test can check what polkit
 * was asked:
 *
 *   query subject=system-bus-name name=:1.7 uid=1000 action=org.viommu1.claim-device
 *         flags=0x1 detail.device=0000:00:03.0 result=yes
 *
 * (on one line). result is yes, no, challenge or silent. Rules are tried in the order
 * given; the first that matches decides, else --default does (deny).
 *
 *   fake-polkit --allow-uid 1000 --deny-uid 1001
 *   fake-polkit --allow-action org.viommu1.claim-device
 *   fake-polkit --challenge-uid 1000    (yes only when interaction is allowed)
 *   fake-polkit --silent-uid 1000       (never answers: result=silent)
 *
 * It says "fake-polkit: ready" once it owns the name.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "util.h"

#define POLKIT_BUS_NAME  "org.freedesktop.PolicyKit1"
#define POLKIT_PATH      "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ERROR_FAILED "org.freedesktop.PolicyKit1.Error.Failed"
#define CHECK_ALLOW_USER_INTERACTION 1u

typedef enum Result {
        RESULT_NO,
        RESULT_YES,
        RESULT_CHALLENGE,       /* yes if the query allows interaction */
        RESULT_SILENT,          /* no answer at all, as a polkit that hangs */
} Result;

typedef enum RuleType {
        RULE_UID,
        RULE_ACTION,
} RuleType;

typedef struct Rule {
        RuleType type;
        Result result;
        uint32_t uid;
        const char *action;
} Rule;

static Rule *arg_rules;
static size_t arg_n_rules;
static Result arg_default = RESULT_NO;
static const char *arg_address;
static uint64_t arg_delay_usec;

/* An answer held back by --delay, or forever (a silent rule). */
typedef struct Pending {
        sd_bus_message *call;
        sd_event_source *timer;
        bool authorized, challenge;
        struct Pending *next;
} Pending;

static Pending *pending;

static void pending_free(Pending *p) {
        for (Pending **i = &pending; *i; i = &(*i)->next)
                if (*i == p) {
                        *i = p->next;
                        break;
                }
        sd_event_source_disable_unref(p->timer);
        sd_bus_message_unref(p->call);
        free(p);
}

static int reply(sd_bus_message *call, bool authorized, bool challenge) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_return(call, &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(bba{ss})", authorized, challenge, 0);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, m, NULL);
}

static int on_delay(sd_event_source *s, uint64_t usec, void *userdata) {
        Pending *p = userdata;

        (void) reply(p->call, p->authorized, p->challenge);
        pending_free(p);
        return 0;
}

static Result decide(bool uid_known, uint32_t uid, const char *action) {
        for (size_t i = 0; i < arg_n_rules; i++) {
                const Rule *r = &arg_rules[i];

                if (r->type == RULE_UID && uid_known && r->uid == uid)
                        return r->result;
                if (r->type == RULE_ACTION && strcmp(r->action, action) == 0)
                        return r->result;
        }
        return arg_default;
}

/* The subject's uid: asked of the bus for a bus name, as polkitd does. */
static int subject_uid(sd_bus_message *m, char **ret_kind, char **ret_name, bool *ret_known, uint32_t *ret_uid) {
        const char *kind, *key, *name = NULL;
        uint32_t uid = 0;
        bool known = false;
        int r;

        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &kind);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (strcmp(key, "name") == 0)
                        r = sd_bus_message_read(m, "v", "s", &name);
                else if (strcmp(key, "uid") == 0) {
                        int32_t i;

                        r = sd_bus_message_read(m, "v", "i", &i);
                        if (r >= 0 && i >= 0) {
                                uid = (uint32_t) i;
                                known = true;
                        }
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        if (strcmp(kind, "system-bus-name") == 0 && name) {
                _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;

                r = sd_bus_get_name_creds(sd_bus_message_get_bus(m), name, SD_BUS_CREDS_EUID, &creds);
                if (r < 0)
                        return r;
                r = sd_bus_creds_get_euid(creds, &uid);
                if (r < 0)
                        return r;
                known = true;
        }

        *ret_kind = strdup(kind);
        *ret_name = name ? strdup(name) : NULL;
        if (!*ret_kind || (name && !*ret_name))
                return -ENOMEM;
        *ret_known = known;
        *ret_uid = uid;
        return 0;
}

static int method_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        char *kind = NULL, *name = NULL;
        char *details = NULL;
        size_t details_size = 0;
        FILE *f = NULL;
        const char *action, *key, *value, *cancel_id;
        const char *result_name;
        uint32_t uid = 0, flags;
        bool known = false, authorized, challenge;
        Result result;
        int r;

        r = subject_uid(m, &kind, &name, &known, &uid);
        if (r < 0) {
                r = sd_bus_error_set_errnof(error, r, "Cannot make out the subject: %m");
                goto finish;
        }
        r = sd_bus_message_read(m, "s", &action);
        if (r < 0)
                goto finish;

        f = open_memstream(&details, &details_size);
        if (!f) {
                r = -ENOMEM;
                goto finish;
        }
        r = sd_bus_message_enter_container(m, 'a', "{ss}");
        if (r < 0)
                goto finish;
        while ((r = sd_bus_message_read(m, "{ss}", &key, &value)) > 0)
                fprintf(f, " detail.%s=%s", key, value);
        if (r < 0)
                goto finish;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                goto finish;
        r = sd_bus_message_read(m, "us", &flags, &cancel_id);
        if (r < 0)
                goto finish;
        if (fclose(f) != 0) {
                f = NULL;
                r = -ENOMEM;
                goto finish;
        }
        f = NULL;

        result = decide(known, uid, action);
        authorized = result == RESULT_YES ||
                (result == RESULT_CHALLENGE && (flags & CHECK_ALLOW_USER_INTERACTION));
        challenge = !authorized && result == RESULT_CHALLENGE;
        result_name = result == RESULT_SILENT ? "silent" : authorized ? "yes" : challenge ? "challenge" : "no";

        if (known)
                printf("query subject=%s name=%s uid=%" PRIu32 " action=%s flags=0x%" PRIx32 "%s result=%s\n",
                       kind, name ?: "-", uid, action, flags, details ?: "", result_name);
        else
                printf("query subject=%s name=%s uid=- action=%s flags=0x%" PRIx32 "%s result=%s\n",
                       kind, name ?: "-", action, flags, details ?: "", result_name);
        fflush(stdout);

        if (arg_delay_usec > 0 || result == RESULT_SILENT) {
                Pending *p = calloc(1, sizeof(*p));

                if (!p) {
                        r = -ENOMEM;
                        goto finish;
                }
                p->call = sd_bus_message_ref(m);
                p->authorized = authorized;
                p->challenge = challenge;
                p->next = pending;
                pending = p;
                if (result == RESULT_SILENT) {
                        r = 1;
                        goto finish;
                }
                r = sd_event_add_time_relative(sd_bus_get_event(sd_bus_message_get_bus(m)), &p->timer,
                                               CLOCK_MONOTONIC, arg_delay_usec, 0, on_delay, p);
                if (r < 0)
                        pending_free(p);
                else
                        r = 1;
                goto finish;
        }
        r = reply(m, authorized, challenge);

finish:
        if (f)
                fclose(f);
        free(details);
        free(kind);
        free(name);
        return r;
}

static int property_get_backend_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", "fake-polkit");
}

static int method_cancel(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable authority_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("BackendName", "s", property_get_backend_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("CheckAuthorization",
                                SD_BUS_ARGS("(sa{sv})", subject, "s", action_id, "a{ss}", details,
                                            "u", flags, "s", cancellation_id),
                                SD_BUS_RESULT("(bba{ss})", result),
                                method_check_authorization, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CancelCheckAuthorization",
                                SD_BUS_ARGS("s", cancellation_id),
                                SD_BUS_NO_RESULT,
                                method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int add_rule(RuleType type, Result result, const char *arg) {
        Rule *n, rule = { .type = type, .result = result };

        if (type == RULE_UID) {
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(arg, &end, 10);
                if (errno != 0 || end == arg || *end || v >= UINT32_MAX) {
                        fprintf(stderr, "fake-polkit: not a uid: %s\n", arg);
                        return -EINVAL;
                }
                rule.uid = (uint32_t) v;
        } else
                rule.action = arg;

        n = realloc(arg_rules, (arg_n_rules + 1) * sizeof(Rule));
        if (!n)
                return -ENOMEM;
        arg_rules = n;
        arg_rules[arg_n_rules++] = rule;
        return 0;
}

static void help(void) {
        printf("fake-polkit [OPTIONS]\n\n"
               "A stand-in polkit authority for tests: owns org.freedesktop.PolicyKit1 and\n"
               "answers CheckAuthorization by the first matching rule, logging each query.\n\n"
               "  --address=ADDRESS        bus to use (default: $DBUS_SYSTEM_BUS_ADDRESS)\n"
               "  --allow-uid=UID          authorize subjects with this uid\n"
               "  --deny-uid=UID           refuse them\n"
               "  --challenge-uid=UID      authorize only interactive queries, else ask to authenticate\n"
               "  --silent-uid=UID         never answer their queries\n"
               "  --allow-action=ACTION    authorize this action for everyone\n"
               "  --deny-action=ACTION     refuse it\n"
               "  --challenge-action=ACTION\n"
               "  --default=yes|no|challenge  when no rule matches (no)\n"
               "  --delay=MSEC             answer this much later\n"
               "  -h --help\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_ADDRESS = 0x100,
                ARG_ALLOW_UID,
                ARG_DENY_UID,
                ARG_CHALLENGE_UID,
                ARG_SILENT_UID,
                ARG_ALLOW_ACTION,
                ARG_DENY_ACTION,
                ARG_CHALLENGE_ACTION,
                ARG_DEFAULT,
                ARG_DELAY,
        };
        static const struct option options[] = {
                { "help",             no_argument,       NULL, 'h'                  },
                { "address",          required_argument, NULL, ARG_ADDRESS          },
                { "allow-uid",        required_argument, NULL, ARG_ALLOW_UID        },
                { "deny-uid",         required_argument, NULL, ARG_DENY_UID         },
                { "challenge-uid",    required_argument, NULL, ARG_CHALLENGE_UID    },
                { "silent-uid",       required_argument, NULL, ARG_SILENT_UID       },
                { "allow-action",     required_argument, NULL, ARG_ALLOW_ACTION     },
                { "deny-action",      required_argument, NULL, ARG_DENY_ACTION      },
                { "challenge-action", required_argument, NULL, ARG_CHALLENGE_ACTION },
                { "default",          required_argument, NULL, ARG_DEFAULT          },
                { "delay",            required_argument, NULL, ARG_DELAY            },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_ADDRESS:
                        arg_address = optarg;
                        break;
                case ARG_ALLOW_UID:
                case ARG_DENY_UID:
                case ARG_CHALLENGE_UID:
                case ARG_SILENT_UID:
                        r = add_rule(RULE_UID, c == ARG_ALLOW_UID ? RESULT_YES : c == ARG_DENY_UID ? RESULT_NO :
                                     c == ARG_SILENT_UID ? RESULT_SILENT : RESULT_CHALLENGE, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_ALLOW_ACTION:
                case ARG_DENY_ACTION:
                case ARG_CHALLENGE_ACTION:
                        r = add_rule(RULE_ACTION, c == ARG_ALLOW_ACTION ? RESULT_YES :
                                     c == ARG_DENY_ACTION ? RESULT_NO : RESULT_CHALLENGE, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_DEFAULT:
                        if (strcmp(optarg, "yes") == 0)
                                arg_default = RESULT_YES;
                        else if (strcmp(optarg, "no") == 0)
                                arg_default = RESULT_NO;
                        else if (strcmp(optarg, "challenge") == 0)
                                arg_default = RESULT_CHALLENGE;
                        else {
                                fprintf(stderr, "fake-polkit: --default is yes, no or challenge\n");
                                return -EINVAL;
                        }
                        break;
                case ARG_DELAY: {
                        char *end;
                        unsigned long ms;

                        errno = 0;
                        ms = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || ms > 600000) {
                                fprintf(stderr, "fake-polkit: --delay takes milliseconds up to 600000\n");
                                return -EINVAL;
                        }
                        arg_delay_usec = (uint64_t) ms * 1000;
                        break;
                }
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "fake-polkit: unexpected argument %s\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int connect_bus(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (!arg_address)
                return sd_bus_open_system(ret);

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, arg_address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

int main(int argc, char *argv[]) {
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                goto finish;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
        if (r < 0) {
                fprintf(stderr, "fake-polkit: cannot set up the event loop: %s\n", strerror(-r));
                goto finish;
        }

        r = connect_bus(&bus);
        if (r < 0) {
                fprintf(stderr, "fake-polkit: cannot connect to %s: %s\n",
                        arg_address ?: getenv("DBUS_SYSTEM_BUS_ADDRESS") ?: "the system bus", strerror(-r));
                goto finish;
        }
        r = sd_bus_add_object_vtable(bus, NULL, POLKIT_PATH, POLKIT_INTERFACE, authority_vtable, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_request_name(bus, POLKIT_BUS_NAME, 0);
        if (r < 0) {
                fprintf(stderr, "fake-polkit: cannot serve %s: %s\n", POLKIT_BUS_NAME, strerror(-r));
                goto finish;
        }

        printf("fake-polkit: ready\n");
        fflush(stdout);
        (void) sd_notify(false, "READY=1");

        r = sd_event_loop(event);
        if (r < 0)
                fprintf(stderr, "fake-polkit: event loop failed: %s\n", strerror(-r));

finish:
        while (pending)
                pending_free(pending);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        free(arg_rules);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
