/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "thread-job.h"

struct ThreadJob {
        pthread_t thread;
        int eventfd;                    /* the thread's end, told to the loop */
        sd_event_source *source;
        thread_job_work_t work;
        thread_job_done_t done;
        void *userdata;
};

static ThreadJob *thread_job_free(ThreadJob *j) {
        sd_event_source_disable_unref(j->source);
        if (j->eventfd >= 0)
                close(j->eventfd);
        free(j);
        return NULL;
}

static void *job_thread(void *userdata) {
        ThreadJob *j = userdata;

#if ENABLE_TEST_HOOKS
        /* Test only: work that takes its time, as a directory server may,
         * for as long as this file exists (at most 30 s). */
        const char *hold = getenv("VIOMMU_TEST_THREAD_HOLD");

        for (unsigned i = 0; hold && i < 600 && access(hold, F_OK) >= 0; i++)
                (void) usleep(50 * 1000);
#endif
        j->work(j->userdata);
        (void) eventfd_write(j->eventfd, 1);
        return NULL;
}

static int on_job_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ThreadJob *j = userdata;

        /* It has signalled, so it ends at once. */
        (void) pthread_join(j->thread, NULL);
        j->done(j->userdata);
        thread_job_free(j);
        return 0;
}

int thread_job_start(sd_event *e, thread_job_work_t work, thread_job_done_t done, void *userdata, ThreadJob **ret) {
        ThreadJob *j;
        int r;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (ThreadJob) { .work = work, .done = done, .userdata = userdata };
        j->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->eventfd < 0) {
                r = -errno;
                free(j);
                return r;
        }
        r = sd_event_add_io(e, &j->source, j->eventfd, EPOLLIN, on_job_done, j);
        if (r >= 0)
                r = -pthread_create(&j->thread, NULL, job_thread, j);
        if (r < 0) {
                thread_job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

int thread_job_end(ThreadJob *j, const struct timespec *deadline) {
        if (pthread_timedjoin_np(j->thread, NULL, deadline) == 0) {
                thread_job_free(j);
                return 0;
        }
        (void) pthread_detach(j->thread);
        j->source = sd_event_source_disable_unref(j->source);
        return -ETIMEDOUT;
}
