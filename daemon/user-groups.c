/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "user-groups.h"
#include "util.h"

struct UserGroups {
        Daemon *daemon;
        UserGroups *prev, *next;
        uid_t uid;
        pthread_t thread;
        int eventfd;                    /* the thread's end, told to the loop */
        sd_event_source *source;
        user_groups_done_t done;        /* NULL once abandoned */
        void *userdata;
        /* The thread's until it signals the eventfd. */
        gid_t *gids;
        size_t n_gids;
        int error;
};

static UserGroups *user_groups_free(UserGroups *q) {
        if (!q)
                return NULL;
        if (q->prev)
                q->prev->next = q->next;
        else if (q->daemon->user_group_lookups == q)
                q->daemon->user_group_lookups = q->next;
        if (q->next)
                q->next->prev = q->prev;
        sd_event_source_disable_unref(q->source);
        if (q->eventfd >= 0)
                close(q->eventfd);
        free(q->gids);
        free(q);
        return NULL;
}

/* Appends uid's groups in the user database to gids; 0 for a uid without a
 * name, which has none. */
static int user_db_groups(uid_t uid, gid_t **gids, size_t *n) {
        _cleanup_free_ struct passwd *pw = NULL;
        _cleanup_free_ gid_t *list = NULL;
        int n_list = 64, r;
        gid_t *g;

        r = user_db_passwd(NULL, uid, &pw);
        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return r;

        for (;;) {
                int want = n_list;
                gid_t *l = reallocarray(list, n_list, sizeof(gid_t));

                if (!l)
                        return -ENOMEM;
                list = l;
                if (getgrouplist(pw->pw_name, pw->pw_gid, list, &want) >= 0) {
                        n_list = want;
                        break;
                }
                if (want <= n_list || want > 65536)
                        return -E2BIG;
                n_list = want;
        }
        g = reallocarray(*gids, *n + n_list, sizeof(gid_t));
        if (!g)
                return -ENOMEM;
        memcpy(g + *n, list, n_list * sizeof(gid_t));
        *gids = g;
        *n += n_list;
        return 0;
}

static void *lookup_thread(void *userdata) {
        UserGroups *q = userdata;

#if ENABLE_TEST_HOOKS
        /* Test only: a user database that takes its time, for as long as
         * this file exists (at most 30 s). */
        const char *hold = getenv("VIOMMU_TEST_GROUPS_HOLD");

        for (unsigned i = 0; hold && i < 600 && access(hold, F_OK) >= 0; i++)
                (void) usleep(50 * 1000);
#endif
        q->error = user_db_groups(q->uid, &q->gids, &q->n_gids);
        (void) eventfd_write(q->eventfd, 1);
        return NULL;
}

static int on_lookup_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        UserGroups *q = userdata;

        /* It has signalled, so it ends at once. */
        (void) pthread_join(q->thread, NULL);
        if (q->done) {
                q->done(q->error, q->gids, q->n_gids, q->userdata);
                q->gids = NULL;
        }
        user_groups_free(q);
        return 0;
}

int user_groups_lookup(Daemon *d, uid_t uid, const gid_t *gids, size_t n_gids, user_groups_done_t done,
                       void *userdata, UserGroups **ret) {
        UserGroups *q;
        int r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        *q = (UserGroups) { .daemon = d, .uid = uid, .done = done, .userdata = userdata };
        q->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->eventfd < 0) {
                r = -errno;
                free(q);
                return r;
        }
        q->next = d->user_group_lookups;
        if (q->next)
                q->next->prev = q;
        d->user_group_lookups = q;

        if (n_gids > 0) {
                q->gids = memdup(gids, n_gids * sizeof(gid_t));
                if (!q->gids) {
                        user_groups_free(q);
                        return -ENOMEM;
                }
                q->n_gids = n_gids;
        }
        r = sd_event_add_io(d->event, &q->source, q->eventfd, EPOLLIN, on_lookup_done, q);
        if (r >= 0)
                r = -pthread_create(&q->thread, NULL, lookup_thread, q);
        if (r < 0) {
                user_groups_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

UserGroups *user_groups_abandon(UserGroups *q) {
        if (q)
                q->done = NULL;
        return NULL;
}

void user_groups_free_all(Daemon *d) {
        while (d->user_group_lookups) {
                (void) pthread_join(d->user_group_lookups->thread, NULL);
                user_groups_free(d->user_group_lookups);
        }
}
