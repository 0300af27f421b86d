/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "caller-uid.h"
#include "config.h"
#include "frame-channel.h"
#include "lease.h"
#include "log.h"
#include "util.h"

struct Lease {
        Session *session;
        uint32_t id;
        Object *ioas;
        uint64_t iova, length;
        uint32_t flags;
        /* The holder: its connection (the system bus or a direct channel)
         * and, on the system bus, its unique name. */
        sd_bus *bus;
        char *holder;
        pid_t pid;              /* the holder's, as the bus said; 0: unknown */
        LeaseDrain *drain;      /* the call that waits for its release */
        Lease *next;
};

/* A call (Unmap, UnmapBatch, a virtio-iommu UNMAP) put aside until the
 * leases it revoked go: a bus message, or a frame channel's request. */
struct LeaseDrain {
        Session *session;
        Object *ioas;
        sd_bus_message *call;
        FrameChannel *frame;
        unsigned waiting;
        sd_event_source *timer;
        LeaseDrain *next;
};

/* A range by its first and last byte. */
typedef struct Span {
        uint64_t first, last;
} Span;

/* (0, UINT64_MAX) is the whole space, its last byte too, as
 * IOMMU_IOAS_UNMAP takes it. */
static Span span_of(uint64_t iova, uint64_t length) {
        return (Span) { iova, iova == 0 && length == UINT64_MAX ? UINT64_MAX : iova + (length - 1) };
}

static bool overlaps(const Lease *l, uint64_t iova, uint64_t length) {
        Span sp = span_of(iova, length);

        return l->iova <= sp.last && sp.first <= l->iova + (l->length - 1);
}

/* Ids wrap after 2^32 leases; from then on one still held is skipped, so
 * that a release names one lease only. 0 is never an id. */
static uint32_t lease_next_id(Session *s) {
        for (;;) {
                uint32_t id = ++s->next_lease;
                bool held = false;

                if (id == 0) {
                        s->lease_ids_wrapped = true;
                        continue;
                }
                if (!s->lease_ids_wrapped)
                        return id;
                for (const Lease *l = s->leases; l && !held; l = l->next)
                        held = l->id == id;
                if (!held)
                        return id;
        }
}

int lease_take(Object *ioas, sd_bus_message *m, uint64_t iova, uint64_t length, uint32_t flags, uint64_t offset,
               uint32_t *ret_id) {
        Session *s = ioas->session;
        const char *sender = caller_sender(s->daemon, m);
        sd_bus *bus = sd_bus_message_get_bus(m);
        _cleanup_free_ char *holder = NULL;
        const CallerCreds *creds;
        Lease *l;

        /* A direct channel's messages have no sender: the channel is the holder. */
        if (sender) {
                holder = strdup(sender);
                if (!holder)
                        return -ENOMEM;
        }
        creds = holder ? caller_creds(s->daemon, m) : NULL;
        l = malloc(sizeof(Lease));
        if (!l)
                return -ENOMEM;
        *l = (Lease) {
                .session = s,
                .id = lease_next_id(s),
                .ioas = ioas,
                .iova = iova,
                .length = length,
                .flags = flags,
                .bus = bus,
                .holder = TAKE_PTR(holder),
                .pid = creds ? creds->pid : 0,
                .next = s->leases,
        };
        s->leases = l;
        s->n_leases++;
        log_debug("session %u: lease %u on %s 0x%llx+0x%llx (offset 0x%llx) for %s", s->id, l->id, ioas->path,
                  (unsigned long long) iova, (unsigned long long) length, (unsigned long long) offset,
                  l->holder ?: "the direct channel");
        *ret_id = l->id;
        return 0;
}

static LeaseDrain *drain_free(LeaseDrain *dr) {
        Session *s = dr->session;

        for (LeaseDrain **p = &s->drains; *p; p = &(*p)->next)
                if (*p == dr) {
                        *p = dr->next;
                        break;
                }
        for (Lease *l = s->leases; l; l = l->next)
                if (l->drain == dr)
                        l->drain = NULL;
        sd_event_source_disable_unref(dr->timer);
        sd_bus_message_unref(dr->call);
        free(dr);
        return NULL;
}

static void lease_free(Lease *l) {
        Session *s = l->session;
        LeaseDrain *dr = l->drain;

        for (Lease **p = &s->leases; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        break;
                }
        s->n_leases--;
        free(l->holder);
        free(l);

        /* The last lease a call waited for: it runs again, and acts. Its
         * drain stays until then, so that no lease is taken over the range
         * in between. */
        if (dr && --dr->waiting == 0) {
                dr->timer = sd_event_source_disable_unref(dr->timer);
                if (dr->call)
                        bus_call_resume(dr->call);
                else
                        frame_channel_resume(dr->frame);
        }
}

int lease_release(Object *ioas, uint32_t id) {
        Session *s = ioas->session;

        for (Lease *l = s->leases; l; l = l->next)
                if (l->id == id && l->ioas == ioas) {
                        log_debug("session %u: lease %u released", s->id, id);
                        lease_free(l);
                        return 0;
                }
        return -ENOENT;
}

Lease *lease_overlapping(Object *ioas, uint64_t iova, uint64_t length) {
        for (Lease *l = ioas->session->leases; l; l = l->next)
                if (l->ioas == ioas && overlaps(l, iova, length))
                        return l;
        return NULL;
}

bool lease_draining_ioas(Object *ioas) {
        for (LeaseDrain *dr = ioas->session->drains; dr; dr = dr->next)
                if (dr->ioas == ioas)
                        return true;
        return false;
}

bool lease_draining(const Lease *l) {
        return l->drain;
}

uint32_t lease_id(const Lease *l) {
        return l->id;
}

/* Who holds l, for messages: the unique name and its pid, or the channel. */
static void lease_holder(const Lease *l, char *buf, size_t size) {
        if (!l->holder)
                snprintf(buf, size, "the direct channel of session %u", l->session->id);
        else if (l->pid > 0)
                snprintf(buf, size, "%s (pid %d)", l->holder, (int) l->pid);
        else
                snprintf(buf, size, "%s", l->holder);
}

/* Answers the call that waits with an error. */
_printf_(3, 4)
static void drain_fail(LeaseDrain *dr, const char *name, const char *format, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;

        va_start(ap, format);
        sd_bus_error_setfv(&error, name, format, ap);
        va_end(ap);
        if (dr->call)
                (void) sd_bus_reply_method_error(dr->call, &error);
        else
                frame_channel_fail(dr->frame, &error);
}

static int on_drain_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        LeaseDrain *dr = userdata;
        Session *s = dr->session;
        char holder[256] = "";
        uint32_t id = 0;

        for (Lease *l = s->leases; l; l = l->next)
                if (l->drain == dr) {
                        id = l->id;
                        lease_holder(l, holder, sizeof(holder));
                        break;
                }
        if (dr->call)
                log_session(s, "%s from %s: lease %u not released by %s in time, the mapping stays",
                            sd_bus_message_get_member(dr->call),
                            caller_sender(s->daemon, dr->call) ?: "the direct channel", id, holder);
        else
                log_session(s, "a frame channel's request: lease %u not released by %s in time, the mapping stays",
                            id, holder);
        drain_fail(dr, VIOMMU_ERROR_BUSY, "Lease %u is held by %s, which did not release it in %llu ms: "
                   "nothing was unmapped", id, holder,
                   (unsigned long long) config_limit(s->daemon->config, CONFIG_LIMIT_LEASE_DRAIN_MSEC));
        drain_free(dr);
        return 0;
}

/* Tells the holder to stop and release: unicast, on its own connection. */
static void lease_revoke(Lease *l) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        int r;

        r = sd_bus_message_new_signal(l->bus, &sig, l->ioas->path, "org.viommu1.IOAS", "LeaseRevoked");
        if (r >= 0 && l->holder)
                r = sd_bus_message_set_destination(sig, l->holder);
        if (r >= 0)
                r = sd_bus_message_append(sig, "utt", l->id, l->iova, l->length);
        if (r >= 0)
                r = sd_bus_send(l->bus, sig, NULL);
        if (r < 0)
                log_warning_errno(r, "session %u: cannot tell the holder of lease %u to release it: %m",
                                  l->session->id, l->id);
}

static int span_compare(const void *a, const void *b) {
        const Span *x = a, *y = b;

        return x->first < y->first ? -1 : x->first > y->first;
}

/* ranges (iova, length pairs) as disjoint spans in order, so that each lease is looked up, not held against every
 * range: a batch of many ranges over many leases costs (L + R) log R. */
static Span *spans_of(const uint64_t (*ranges)[2], size_t n, size_t *ret_n) {
        Span *v = calloc(n ?: 1, sizeof(Span));
        size_t k = 0, m = 0;

        if (!v)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (ranges[i][1] > 0)
                        v[k++] = span_of(ranges[i][0], ranges[i][1]);
        qsort(v, k, sizeof(Span), span_compare);
        for (size_t i = 0; i < k; i++)
                if (m > 0 && v[i].first <= v[m - 1].last)
                        v[m - 1].last = MAX(v[m - 1].last, v[i].last);
                else
                        v[m++] = v[i];
        *ret_n = m;
        return v;
}

/* Whether l overlaps one of the n spans: only the last span that starts at
 * or before l's last byte can, the spans being disjoint and in order. */
static bool spans_overlap(const Span *v, size_t n, const Lease *l) {
        uint64_t last = l->iova + (l->length - 1);
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (v[mid].first <= last)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo > 0 && v[lo - 1].last >= l->iova;
}

/* The call's drain: m's, or else the frame channel's. */
static LeaseDrain *drain_of(Session *s, sd_bus_message *m, FrameChannel *frame) {
        for (LeaseDrain *dr = s->drains; dr; dr = dr->next)
                if (m ? dr->call == m : dr->frame == frame)
                        return dr;
        return NULL;
}

static int drain(Object *ioas, sd_bus_message *m, FrameChannel *frame, const uint64_t (*ranges)[2], size_t n,
                 sd_bus_error *error) {
        Session *s = ioas->session;
        LeaseDrain *dr = drain_of(s, m, frame);
        _cleanup_free_ Span *spans = NULL;
        size_t n_spans;
        uint64_t msec;
        unsigned found = 0;
        int r;

        /* Dispatched again: what it waited for is gone. */
        if (dr)
                drain_free(dr);

        spans = spans_of(ranges, n, &n_spans);
        if (!spans)
                return -ENOMEM;
        for (Lease *l = s->leases; l; l = l->next) {
                if (l->ioas != ioas || !spans_overlap(spans, n_spans, l))
                        continue;
                if (l->drain)
                        return sd_bus_error_setf(error, VIOMMU_ERROR_BUSY,
                                                 "Lease %u on 0x%llx+0x%llx is being revoked for another call: "
                                                 "retry when it is done",
                                                 l->id, (unsigned long long) l->iova, (unsigned long long) l->length);
                found++;
        }
        if (found == 0)
                return 0;

        dr = malloc(sizeof(LeaseDrain));
        if (!dr)
                return -ENOMEM;
        *dr = (LeaseDrain) { .session = s, .ioas = ioas, .call = sd_bus_message_ref(m), .frame = frame,
                             .waiting = found, .next = s->drains };
        msec = config_limit(s->daemon->config, CONFIG_LIMIT_LEASE_DRAIN_MSEC);
        if (msec != CONFIG_LIMIT_INFINITY) {
                r = sd_event_add_time_relative(s->daemon->event, &dr->timer, CLOCK_MONOTONIC,
                                               msec > UINT64_MAX / 1000 ? UINT64_MAX - 1 : msec * 1000, 0,
                                               on_drain_timeout, dr);
                if (r < 0) {
                        sd_bus_message_unref(dr->call);
                        free(dr);
                        return r;
                }
        }
        s->drains = dr;

        for (Lease *l = s->leases; l; l = l->next)
                if (l->ioas == ioas && spans_overlap(spans, n_spans, l)) {
                        l->drain = dr;
                        lease_revoke(l);
                }
        log_debug("session %u: %s waits for %u lease(s) to be released", s->id,
                  m ? sd_bus_message_get_member(m) : "a frame", found);
        return bus_put_aside(error);
}

int lease_drain(Object *ioas, sd_bus_message *m, const uint64_t (*ranges)[2], size_t n, sd_bus_error *error) {
        return drain(ioas, m, NULL, ranges, n, error);
}

int lease_drain_frame(Object *ioas, FrameChannel *frame, const uint64_t (*ranges)[2], size_t n,
                      sd_bus_error *error) {
        return drain(ioas, NULL, frame, ranges, n, error);
}

void lease_drain_forget(Session *s, sd_bus_message *m, FrameChannel *frame) {
        LeaseDrain *dr = drain_of(s, m, frame);

        if (dr)
                drain_free(dr);
}

void leases_forget_holder(Daemon *d, sd_bus *bus, const char *name) {
        for (Session *s = d->sessions; s; s = s->sessions_next) {
                /* Its waiting calls: nobody is left to answer. */
                for (LeaseDrain *dr = s->drains, *next; dr; dr = next) {
                        next = dr->next;
                        if (dr->call && sd_bus_message_get_bus(dr->call) == bus &&
                            (!name || streq_ptr(sd_bus_message_get_sender(dr->call), name)))
                                drain_free(dr);
                }
                for (Lease *l = s->leases, *next; l; l = next) {
                        next = l->next;
                        if (l->bus == bus && (!name || streq_ptr(l->holder, name))) {
                                log_session(s, "lease %u released: its holder %s is gone", l->id,
                                            l->holder ?: "(the direct channel)");
                                lease_free(l);
                        }
                }
        }
}

void leases_free_session(Session *s) {
        /* A drain whose leases all went has been resumed: it is answered
         * where it runs again (a bus call finds its object gone, a frame
         * channel goes with its session), so answering it here would reply
         * twice. */
        while (s->drains) {
                if (s->drains->waiting > 0)
                        drain_fail(s->drains, VIOMMU_ERROR_FAILED,
                                   "Session %u ended while the call waited for leases", s->id);
                drain_free(s->drains);
        }
        while (s->leases) {
                lease_revoke(s->leases);
                lease_free(s->leases);
        }
}
