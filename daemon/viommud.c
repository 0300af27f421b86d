/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * viommud: owns the kernel's iommufd and the VFIO device nodes and serves
 * virtual machine monitors over D-Bus. See viommud(8).
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "auth.h"
#include "binding.h"
#include "bus-errors.h"
#include "bus-signals.h"
#include "caller-uid.h"
#include "channel.h"
#include "config.h"
#include "daemon.h"
#include "fdstore.h"
#include "frame-channel.h"
#include "hotplug.h"
#include "notify.h"
#include "restart.h"
#include "log.h"
#include "session.h"
#include "session-dbus.h"
#include "subscribers.h"
#include "thread-job.h"
#include "util.h"
#include "viommu-iommufd.h"
#include "viommu-topology.h"

static const char *arg_bus = "system";
static const char *arg_address;
static const char *arg_config = CONFIG_DEFAULT_PATH;
static bool arg_mock_devices;
static bool arg_check_config;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Serves the kernel's iommufd and VFIO devices to virtual machine monitors over D-Bus.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n"
               "     --bus=system|session Which bus to serve on (default: system)\n"
               "     --address=ADDRESS    Serve on the bus at this D-Bus address instead\n"
               "     --config=PATH        Read the configuration from PATH and PATH.d/*.conf\n"
               "                          (default: /etc/viommu/viommud.conf)\n"
               "     --check-config       Check the configuration, say what it allows, and exit\n"
               "     --test-mock-devices  Let sessions create the kernel's mock devices (testing only)\n"
               "  -v --verbose            Log every mapping and object\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_BUS, ARG_ADDRESS, ARG_CONFIG, ARG_CHECK_CONFIG, ARG_MOCK };
        static const struct option options[] = {
                { "help",              no_argument,       NULL, 'h'         },
                { "version",           no_argument,       NULL, ARG_VERSION },
                { "bus",               required_argument, NULL, ARG_BUS     },
                { "address",           required_argument, NULL, ARG_ADDRESS },
                { "config",            required_argument, NULL, ARG_CONFIG  },
                { "check-config",      no_argument,       NULL, ARG_CHECK_CONFIG },
                { "test-mock-devices", no_argument,       NULL, ARG_MOCK    },
                { "verbose",           no_argument,       NULL, 'v'         },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hv", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts(PACKAGE_VERSION);
                        return 0;
                case ARG_BUS:
                        if (!streq(optarg, "system") && !streq(optarg, "session")) {
                                log_error("--bus= takes 'system' or 'session', not '%s'", optarg);
                                return -EINVAL;
                        }
                        arg_bus = optarg;
                        break;
                case ARG_ADDRESS:
                        arg_address = optarg;
                        break;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_MOCK:
#if ENABLE_TEST_HOOKS
                        arg_mock_devices = true;
                        break;
#else
                        log_error("--test-mock-devices: this viommud was built without test hooks "
                                  "(./configure --enable-test-hooks)");
                        return -EOPNOTSUPP;
#endif
                case 'v':
                        log_verbose = 1;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("Unexpected argument '%s'", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int bus_open(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (!arg_address)
                return streq(arg_bus, "session") ? sd_bus_open_user(ret) : sd_bus_open_system(ret);

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, arg_address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_negotiate_creds(bus, true, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UNIQUE_NAME);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static int probe_kernel(Daemon *d) {
        _cleanup_close_ int fd = viommu_iommufd_open();
        int r;

        if (fd < 0)
                return log_error_errno(fd, "Cannot open /dev/iommu (%m): the kernel needs CONFIG_IOMMUFD");
        r = viommu_features_probe(fd, &d->features);
        if (r < 0)
                return log_error_errno(r, "Cannot probe the kernel's iommufd: %m");
        for (enum viommu_feature f = 0; f < _VIOMMU_FEATURE_MAX; f++)
                if (!viommu_features_has(d->features, f))
                        log_info("kernel lacks %s (%s, Linux %s)", viommu_feature_to_string(f),
                                 viommu_feature_interface(f), viommu_feature_since(f));
        return 0;
}

static int load_config(Daemon *d) {
        _cleanup_free_ char *error = NULL;
        int r;

        d->config_path = strdup(arg_config);
        if (!d->config_path)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = config_load(arg_config, &d->config, &error);
        if (r < 0)
                return log_error_errno(r, "Configuration rejected: %s", error ?: strerror(-r));
        return 0;
}

/* --check-config: what a SIGHUP would load, checked before it is sent. What
 * the file sets is told as its difference from the defaults. */
static int check_config(void) {
        _cleanup_(config_freep) Config *c = NULL, *defaults = NULL;
        _cleanup_free_ char *error = NULL, *changes = NULL;
        bool main_file;
        int r;

        r = config_load(arg_config, &c, &error);
        if (r < 0) {
                fprintf(stderr, "%s\n", error ?: strerror(-r));
                return r;
        }
        r = config_new(&defaults);
        if (r >= 0)
                r = config_diff(defaults, c, &changes);
        if (r < 0)
                return log_error_errno(r, "Cannot compare the configuration with the defaults: %m");
        /* The files read: the main file first, unless it is missing. */
        main_file = c->n_files > 0 && streq(c->files[0], arg_config);
        if (!main_file)
                printf("%s: no such file, so the %s\n", arg_config,
                       c->n_files > 0 ? "drop-ins apply over the defaults" : "defaults apply");
        for (size_t i = 0; i < c->n_files; i++)
                printf("%s: valid%s%s\n", c->files[i], main_file && i == 0 ? "" : " drop-in",
                       r == 0 && i == c->n_files - 1 ? ", the same as the defaults" : "");
        if (changes)
                printf("%s\n", changes);
        return 0;
}

/* SIGHUP: a new configuration replaces the running one only as a whole.
 * The service manager hears when the reload begins and ends (Type=
 * notify-reload waits for it), and STATUS= keeps a rejection's reason for
 * `systemctl status`. The files are read in a thread: their user and group
 * names are the user database's, which may wait on a directory server. */
typedef struct Reload {
        Daemon *daemon;
        ThreadJob *job;                 /* reading the files */
        bool again;                     /* a SIGHUP came meanwhile */
        Config *config;
        char *error;
        int r;
} Reload;

static Reload reload;

static void reload_start(Daemon *d);

static void reload_work(void *userdata) {
        Reload *rl = userdata;

        rl->r = config_load(arg_config, &rl->config, &rl->error);
}

static void reload_done(void *userdata) {
        Reload *rl = userdata;
        _cleanup_free_ char *error = TAKE_PTR(rl->error), *changes = NULL;
        Config *c = TAKE_PTR(rl->config);
        Daemon *d = rl->daemon;
        int r = rl->r;

        rl->job = NULL;
        if (r < 0) {
                log_error("Configuration not reloaded, the running one stays: %s", error ?: strerror(-r));
                notify_in_orderf("READY=1\nSTATUS=Serving; %s not reloaded: %s", arg_config, error ?: strerror(-r));
        } else if ((r = config_diff(d->config, c, &changes)) < 0) {
                config_free(c);
                notify_in_orderf("READY=1\nSTATUS=Serving; %s not reloaded: %s", arg_config, strerror(-r));
        } else {
                if (r == 0)
                        log_info("Configuration reloaded: no change");
                else {
                        log_info("Configuration reloaded, %d change(s):", r);
                        for (char *line = changes, *end; line && *line; line = end ? end + 1 : NULL) {
                                end = strchr(line, '\n');
                                if (end)
                                        *end = 0;
                                log_info("  %s", line);
                        }
                }
                config_free(d->config);
                d->config = c;
                notify_in_order("READY=1\nSTATUS=Serving");
        }
        if (rl->again) {
                rl->again = false;
                reload_start(d);
        }
}

static void reload_start(Daemon *d) {
        struct timespec ts;
        int r;

        /* The time tells systemd that this reload began after its signal. */
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        notify_in_orderf("RELOADING=1\nSTATUS=Reloading %s\nMONOTONIC_USEC=%llu", arg_config,
                         (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000);
        reload.daemon = d;
        r = thread_job_start(d->event, reload_work, reload_done, &reload, &reload.job);
        if (r < 0) {
                log_error_errno(r, "Configuration not reloaded, the running one stays: cannot start reading it: %m");
                notify_in_orderf("READY=1\nSTATUS=Serving; %s not reloaded: %s", arg_config, strerror(-r));
        }
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        /* One reload at a time; a signal during one reads the files again
         * after it, as they may have changed since it began. */
        if (reload.job)
                reload.again = true;
        else
                reload_start(userdata);
        return 0;
}

/* At exit a reload that waits on the user database holds up the stop a
 * second at most; then it is left to end with the process. */
static void reload_end(void) {
        struct timespec deadline;

        if (!reload.job)
                return;
        (void) clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        if (thread_job_end(reload.job, &deadline) < 0)
                return;
        reload.job = NULL;
        config_free(TAKE_PTR(reload.config));
        reload.error = mfree(reload.error);
}

static int setup_bus(Daemon *d) {
        int r;

        r = bus_open(&d->bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the %s bus: %m", arg_address ?: arg_bus);

        r = sd_bus_add_object_vtable(d->bus, NULL, VIOMMU_MANAGER_PATH, "org.viommu1.Manager", manager_vtable, d);
        if (r >= 0)
                r = device_dbus_register(d, d->bus);
        if (r >= 0)
                r = bus_register_session_objects(d, d->bus);
        if (r >= 0)
                r = sd_bus_add_object_manager(d->bus, NULL, VIOMMU_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Cannot register the bus objects: %m");

        r = sd_bus_attach_event(d->bus, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        r = caller_uids_start(d);
        if (r >= 0)
                r = sessions_watch_owners(d);
        if (r >= 0)
                r = signals_start(d);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the bus: %m");
        return 0;
}

static void daemon_done(Daemon *d) {
        reload_end();
        /* Claims that end now leave their devices on vfio-pci. */
        bindings_free(d);
        /* Before the sessions they point at. */
        frame_channels_free(d);
        while (d->sessions)
                session_free(d->sessions);
        entry_pool_free(&d->entry_pool);
        notify_watchdog_stop();
        notify_flush();
        channels_free(d);
        hotplug_stop(d);
        viommu_topology_free(d->topology);
        auth_queries_free(d);
        caller_uids_free(d);
        subscribers_free(d);
        d->owners_watch = sd_bus_slot_unref(d->owners_watch);
        signals_stop(d);
        sd_bus_flush_close_unref(d->bus);
        sd_event_unref(d->event);
        config_free(d->config);
        free(d->config_path);
}

int main(int argc, char *argv[]) {
        Daemon d = { .version = PACKAGE_VERSION };
        sigset_t mask;
        int r;

        /* Every refusal there is the command line's fault, said already. */
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        if (arg_check_config)
                return check_config() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        d.mock_devices = arg_mock_devices;
        if (d.mock_devices)
                log_warning("Mock devices are enabled: this daemon is for testing only");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        /* For sd-event's child sources (binding.c); before any thread. */
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* A VMM that goes away mid-reply must not kill the daemon. */
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&d.event);
        if (r < 0)
                goto finish;
        r = sd_event_add_signal(d.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d.event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(d.event, NULL, SIGHUP, on_sighup, &d);
        if (r < 0)
                goto finish;
        r = notify_watchdog_start(d.event);
        if (r < 0)
                goto finish;
        (void) sd_bus_error_add_map(viommu_bus_errors);

        r = load_config(&d);
        if (r < 0)
                goto finish;

        r = probe_kernel(&d);
        if (r < 0)
                goto finish;
        r = hotplug_start(&d);
        if (r < 0)
                log_warning("No hotplug events (%s): device lists are read afresh on each request",
                            strerror(-r));
        r = setup_bus(&d);
        if (r < 0)
                goto finish;
        /* Sessions first: no client sees the daemon without them. */
        r = restart_take_over(&d);
        if (r > 0)
                log_info("Took over %d session(s) from the previous run", r);
        r = sd_bus_request_name(d.bus, VIOMMU_BUS_NAME, 0);
        if (r < 0) {
                log_error_errno(r, "Cannot own the name %s: %m", VIOMMU_BUS_NAME);
                goto finish;
        }

        notify_in_order("READY=1\nSTATUS=Serving");
        log_info("viommud %s serving as %s", PACKAGE_VERSION, VIOMMU_BUS_NAME);
        r = sd_event_loop(d.event);
        notify_in_order("STOPPING=1");
        /* Under a service manager the fd store keeps the sessions for the
         * next run; else they end here. */
        if (r >= 0 && fdstore_available()) {
                int n = restart_hand_over(&d);

                if (n > 0)
                        log_info("Handed %d session(s) over to the next run", n);
        }

finish:
        if (r < 0)
                log_error("Exiting: %s", strerror(-r));
        daemon_done(&d);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
