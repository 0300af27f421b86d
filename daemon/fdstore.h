/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * systemd's file descriptor store (FileDescriptorStoreMax= in the unit):
 * each session's iommufd, its journal, its guest memory's memfds, each
 * claimed device's cdev and its virtio-iommu fault queue go in, by name,
 * when the daemon opens them and come out when it lets them go. While the
 * store holds them, the kernel objects behind them outlive the daemon, so a
 * restart can take the sessions over (restart.c) without stopping guest DMA.
 * Without a service manager ($NOTIFY_SOCKET unset) all of this is a no-op.
 */

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

#define FDSTORE_NAME_MAX 64

/* True when a service manager could keep fds for the daemon. */
bool fdstore_available(void);

/* "slotK" for a session (o NULL): its iommufd, and the first generation of
 * its journal (journal_begin()), which names the session; an entry outlives
 * its session as a spare (entry-pool.h). "sN" for a session stored so by an
 * older run, "sN-iommufd", the iommufd alone, for one a run older still
 * stored (Session.older_entry); "sN-device-ID" for a device,
 * "sN-fault-queue-ID" for the virtio-iommu backend's fault queue. */
const char *fdstore_name(Session *s, Object *o, char buf[static FDSTORE_NAME_MAX]);
/* "sN-journal-G" for generation G of a session's journal (journal.h). */
const char *fdstore_journal_name(unsigned session, uint64_t generation, char buf[static FDSTORE_NAME_MAX]);

/* The most fds one entry holds. */
#define FDSTORE_FDS_MAX 2

/* 1 when stored, 0 without a fd store, or negative errno: -ENOBUFS when
 * the service manager has not yet read enough of the daemon's messages
 * (the daemon never waits for it). The store gives an entry's fds back in
 * no order it promises: their kinds tell them apart. */
int fdstore_add_many(const char *name, const int *fds, size_t n_fds);
int fdstore_add(const char *name, int fd);
/* Sent at once, or in order as the service manager reads (notify.h). */
void fdstore_remove(const char *name);
