/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A session's guest memory: memfd regions a VMM registers once at
 * guest-physical addresses, so that it maps by guest address afterwards
 * (ioas_map_guest()) without an fd per call, and so that the daemon can
 * read and write what a mapping points at (ioas_dma()).
 *
 * Each region is a backing slot (ioas.h) that the region itself holds and
 * each mapping made from it holds too: a region no mapping uses has one
 * reference. Its memfd is the daemon's own copy, kept in the fd store as
 * "sN-memory-ID" so that it survives a restart or a crash.
 */

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

/* Regions per session: guest RAM comes in a few pieces (below and above the
 * 32-bit hole, hot-plugged DIMMs); each takes a place in the fd store, whose
 * FileDescriptorStoreMax= the sessions' iommufds share. */
#define GUEST_MEMORY_REGIONS_MAX 32u

/* gpa and size are checked by the caller (4 KiB pages, not wrapping, within
 * the memfd from offset, not overlapping another region); the daemon opens
 * the memfd anew for itself. -EDQUOT past GUEST_MEMORY_REGIONS_MAX. */
int guest_memory_add(Session *s, int memfd, uint64_t offset, uint64_t gpa, uint64_t size, GuestRegion **ret);
/* A file description of its own for the memfd, opened with flags (O_RDWR,
 * O_RDONLY): a region's, or one a lease hands out with only the access it
 * allows. */
int memfd_reopen(int memfd, int flags);
/* -EBUSY while mappings use it. */
int guest_memory_remove(Session *s, GuestRegion *g);
GuestRegion *guest_memory_find(Session *s, uint32_t id);
/* The region of s holding gpa; NULL if none. */
GuestRegion *guest_memory_at(Session *s, uint64_t gpa);
/* The first region of s overlapping [gpa, gpa+size); NULL if none. */
GuestRegion *guest_memory_overlapping(Session *s, uint64_t gpa, uint64_t size);
/* The region a backing slot belongs to; NULL if it is a mapping's own. */
GuestRegion *guest_memory_of_backing(Session *s, uint32_t backing);
/* How many mappings use the region. */
unsigned guest_memory_users(Session *s, const GuestRegion *g);

/* For the journal's replay: the region as recorded, without its memfd. */
int guest_memory_restore(Session *s, const GuestRegion *g);
int guest_memory_forget(Session *s, uint32_t id);
/* At take-over: the region's memfd from the store (taken over). */
int guest_memory_resume(Session *s, GuestRegion *g, int memfd);

/* The fd store's name of a region. */
const char *guest_memory_fdstore_name(Session *s, const GuestRegion *g, char *buf, size_t size);
/* Closes the regions' memfds; with forget_store, takes them out of the store. */
void guest_memory_free(Session *s, bool forget_store);
