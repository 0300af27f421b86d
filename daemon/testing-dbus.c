/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.viommu1.Testing: test-only methods on a session, built only with
 * --enable-test-hooks and served only with --test-mock-devices. They let a
 * test see what the kernel's mock driver holds (the session's iommufd never
 * leaves the daemon) and make the mock raise faults and events, so that
 * tests check kernel outcomes, not the daemon's word.
 */

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "device.h"
#include "journal.h"
#include "json-util.h"
#include "memory-fd.h"
#include "mock/viommu-mock.h"
#include "reconcile.h"
#include "record.h"
#include "session.h"
#include "util.h"

/* The mock paging domain a device's DMA goes through. */
static uint32_t device_paging_domain(Object *dev) {
        Object *pt = dev->device.attached;

        /* Up from a nested HWPT, through a vIOMMU, to the stage-2 HWPT. */
        while (pt && (pt->type == OBJECT_VIOMMU || (pt->type == OBJECT_HWPT && pt->hwpt.nested)))
                pt = pt->uses[0];
        return pt && pt->type == OBJECT_HWPT ? pt->id : dev->device.attached_pt;
}

SESSION_METHOD(method_check_mapping) {
        const char *path;
        uint64_t iova, length, offset;
        MemoryFd mfd;
        void *addr;
        Object *dev;
        int fd, r;

        r = sd_bus_message_read(m, "ottht", &path, &iova, &length, &fd, &offset);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, ARG_DEVICE | ARG_MOCK, &dev, error);
        if (r < 0)
                return r;
        if (!dev->device.attached)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "%s is not attached", path);
        if (length == 0 || length > (UINT64_C(1) << 32))
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Length must be 1..4 GiB");
        /* As Map checks it: mapping a file of another kind may block. */
        r = memory_fd_inspect(fd, &mfd, error);
        if (r >= 0)
                r = memory_fd_check_range(&mfd, offset, length, IOMMU_IOAS_MAP_READABLE, error);
        if (r < 0)
                return r;

        addr = mmap(NULL, length, PROT_READ, MAP_SHARED, fd, offset);
        if (addr == MAP_FAILED)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Cannot map the memory fd: %s",
                                         strerror(errno));
        r = viommu_mock_check_map(s->iommufd, device_paging_domain(dev), iova, length, addr);
        munmap(addr, length);
        if (r < 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The mock domain does not map 0x%llx+0x%llx onto that memory: %s",
                                         (unsigned long long) iova, (unsigned long long) length, strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_check_iotlb) {
        const char *path;
        uint32_t index, expected;
        Object *hwpt;
        int r;

        r = sd_bus_message_read(m, "ouu", &path, &index, &expected);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, ARG_HWPT, &hwpt, error);
        if (r < 0)
                return r;
        r = viommu_mock_check_iotlb(s->iommufd, hwpt->id, index, expected);
        if (r < 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "IOTLB entry %u of %s does not hold 0x%x: %s", index, path, expected,
                                         strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_check_pasid) {
        const char *path, *hwpt_path;
        Object *dev, *hwpt = NULL;
        uint32_t pasid;
        int r;

        r = sd_bus_message_read(m, "ouo", &path, &pasid, &hwpt_path);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, ARG_DEVICE | ARG_MOCK, &dev, error);
        if (r < 0)
                return r;
        r = session_object_arg(s, hwpt_path, ARG_HWPT | ARG_OPTIONAL, &hwpt, error);
        if (r < 0)
                return r;
        r = device_mock_pasid_check(dev, pasid, hwpt ? hwpt->id : 0);
        if (r < 0)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "PASID %u of %s is not %s%s in the mock driver: %s", pasid, path,
                                         hwpt ? "attached to " : "detached", hwpt ? hwpt_path : "", strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_trigger_fault) {
        const char *path;
        uint32_t pasid, grpid, perm;
        uint64_t addr;
        Object *dev;
        int r;

        r = sd_bus_message_read(m, "ouuut", &path, &pasid, &grpid, &perm, &addr);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, ARG_DEVICE | ARG_MOCK, &dev, error);
        if (r < 0)
                return r;
        r = viommu_mock_trigger_iopf(s->iommufd, dev->id, pasid, grpid, perm, addr);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_TEST_OP_TRIGGER_IOPF");
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_trigger_event) {
        const char *path;
        Object *dev;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, ARG_DEVICE | ARG_MOCK, &dev, error);
        if (r < 0)
                return r;
        r = viommu_mock_trigger_vevent(s->iommufd, dev->id);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_TEST_OP_TRIGGER_VEVENT");
        return sd_bus_reply_method_return(m, NULL);
}

SESSION_METHOD(method_mark_dirty) {
        const char *path;
        uint64_t iova, length, page_size, nr = 0;
        const void *bitmap;
        size_t size;
        Object *hwpt;
        int r;

        r = sd_bus_message_read(m, "ottt", &path, &iova, &length, &page_size);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 't', &bitmap, &size);
        if (r < 0)
                return r;
        r = session_object_arg(s, path, ARG_HWPT, &hwpt, error);
        if (r < 0)
                return r;
        if (page_size == 0 || length / page_size > size * 8)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                         "The bitmap must have a bit for each page");
        r = viommu_mock_dirty(s->iommufd, hwpt->id, iova, length, page_size, bitmap, &nr);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_TEST_OP_DIRTY");
        return sd_bus_reply_method_return(m, "t", nr);
}

/* Writes the session's record, reads it back into a session of a scratch
 * daemon that has no fds (so the copy can touch nothing of the kernel's),
 * writes that, and returns both texts: the test compares them. */
SESSION_METHOD(method_round_trip_record) {
        _cleanup_(json_object_putp) struct json_object *written = NULL, *reread = NULL;
        _cleanup_free_ char *first = NULL;
        Session *copy = NULL;
        Daemon scratch = {};
        int r;

        r = session_record_to_json(s, &written);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot write the record of session %u: %m", s->id);
        first = strdup(json_object_to_json_string_ext(written, JSON_C_TO_STRING_PLAIN));
        if (!first)
                return -ENOMEM;
        r = session_record_from_json(&scratch, written, -EBADF, &copy);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot read back the record of session %u: %m", s->id);
        r = session_record_to_json(copy, &reread);
        session_free(copy);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot write the record read back: %m");
        return sd_bus_reply_method_return(m, "ss", first,
                                          json_object_to_json_string_ext(reread, JSON_C_TO_STRING_PLAIN));
}

/* The refusal of a journal's test hook on a session that keeps none. */
static int no_journal(Session *s, sd_bus_error *error) {
        return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT,
                                 "Session %u keeps no journal: the daemon runs without a fd store, or "
                                 "Testing.DropJournal ended it", s->id);
}

/* The daemon dies by SIGKILL at the next outcome it would write into a
 * session's journal, between the kernel call and its record: what a
 * take-over then does is what the test checks. */
SESSION_METHOD(method_die_before_recording) {
        if (!s->journal)
                return no_journal(s, error);
        s->daemon->die_before_recording = true;
        return sd_bus_reply_method_return(m, NULL);
}

/* What the kernel itself reads or writes at an IOVA of an IOAS, through a
 * mock access object made for the call: a test compares it with what the
 * daemon's DMA (IOAS.ReadIOVA, WriteIOVA) reads and writes. */
static int kernel_access(Session *s, sd_bus_message *m, Object **ret_ioas, uint64_t *ret_iova, int *ret_fd,
                         sd_bus_error *error) {
        int r;

        r = session_read_object_arg(s, m, ARG_IOAS, ret_ioas, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "t", ret_iova);
        if (r < 0)
                return r;
        r = viommu_mock_access_new(s->iommufd, (*ret_ioas)->id, ret_fd);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_TEST_OP_CREATE_ACCESS");
        return 0;
}

SESSION_METHOD(method_kernel_read_iova) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int access = -EBADF;
        uint64_t iova;
        uint32_t length;
        Object *ioas;
        void *buf;
        int r;

        r = kernel_access(s, m, &ioas, &iova, &access, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "u", &length);
        if (r < 0)
                return r;
        if (length == 0 || length > 1024 * 1024)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Length must be 1..1 MiB");
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_append_array_space(reply, 'y', length, &buf);
        if (r < 0)
                return r;
        r = viommu_mock_access_rw(s->iommufd, access, iova, buf, length, false);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_TEST_OP_ACCESS_RW");
        return sd_bus_send(NULL, reply, NULL);
}

SESSION_METHOD(method_kernel_write_iova) {
        _cleanup_close_ int access = -EBADF;
        const void *data;
        uint64_t iova;
        size_t length;
        Object *ioas;
        int r;

        r = kernel_access(s, m, &ioas, &iova, &access, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', &data, &length);
        if (r < 0)
                return r;
        if (length == 0 || length > 1024 * 1024)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "Length must be 1..1 MiB");
        /* The kernel only reads the buffer of a write. */
        r = viommu_mock_access_rw(s->iommufd, access, iova, (void *) data, length, true);
        if (r < 0)
                return bus_error_kernel(error, r, "IOMMU_TEST_OP_ACCESS_RW");
        return sd_bus_reply_method_return(m, NULL);
}

/* The kernel objects of the session it does not know, found as a take-over
 * finds them but further above the ids it knows, destroyed and counted: a
 * test of the take-over's sweep wants none. */
SESSION_METHOD(method_sweep_orphans) {
        int r;

        r = reconcile_sweep_orphans(s, 256);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot sweep session %u: %m", s->id);
        return sd_bus_reply_method_return(m, "u", (uint32_t) r);
}

/* Damages the session's journal as a stray write would (its header's
 * version), for a take-over to refuse it and end the session. */
SESSION_METHOD(method_damage_journal) {
        if (!s->journal)
                return no_journal(s, error);
        journal_damage(s->journal);
        return sd_bus_reply_method_return(m, NULL);
}

/* The session as its journal would record it had unique name "name" opened
 * it: what a take-over finds after a restart of the bus itself, which hands
 * its names out anew. A restart comes next. */
SESSION_METHOD(method_record_owner) {
        const char *name;
        char *owner;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (name[0] != ':' || strlen(name) > 255)
                return sd_bus_error_setf(error, VIOMMU_ERROR_INVALID_ARGUMENT, "\"%s\" is no unique bus name",
                                         name);
        if (!s->journal)
                return no_journal(s, error);
        owner = strdup(name);
        if (!owner)
                return -ENOMEM;
        free(s->owner);
        s->owner = owner;
        s->owner_here = false;
        r = journal_start(s);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot record session %u anew: %m", s->id);
        return sd_bus_reply_method_return(m, NULL);
}

/* The session as an older run stored it; a restart comes next. */
SESSION_METHOD(method_store_as_older_run) {
        int r;

        if (!s->journal)
                return no_journal(s, error);
        r = journal_store_as_older_run(s);
        if (r < 0)
                return bus_error_errno(error, r, "Cannot store session %u: %s", s->id, strerror(-r));
        return sd_bus_reply_method_return(m, NULL);
}

/* The session keeps no journal from here on, as without a fd store: for
 * measuring what one costs. A crash or a restart ends it. */
SESSION_METHOD(method_drop_journal) {
        (void) journal_end(s, false);
        return sd_bus_reply_method_return(m, NULL);
}

const sd_bus_vtable testing_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CheckMapping",
                                SD_BUS_ARGS("o", device, "t", iova, "t", length, "h", memfd, "t", offset),
                                SD_BUS_NO_RESULT,
                                method_check_mapping, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("KernelReadIOVA",
                                SD_BUS_ARGS("o", ioas, "t", iova, "u", length),
                                SD_BUS_RESULT("ay", data),
                                method_kernel_read_iova, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("KernelWriteIOVA",
                                SD_BUS_ARGS("o", ioas, "t", iova, "ay", data),
                                SD_BUS_NO_RESULT,
                                method_kernel_write_iova, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CheckIOTLB",
                                SD_BUS_ARGS("o", hwpt, "u", index, "u", expected),
                                SD_BUS_NO_RESULT,
                                method_check_iotlb, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CheckPasid",
                                SD_BUS_ARGS("o", device, "u", pasid, "o", hwpt),
                                SD_BUS_NO_RESULT,
                                method_check_pasid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("TriggerFault",
                                SD_BUS_ARGS("o", device, "u", pasid, "u", grpid, "u", perm, "t", addr),
                                SD_BUS_NO_RESULT,
                                method_trigger_fault, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("TriggerEvent",
                                SD_BUS_ARGS("o", device),
                                SD_BUS_NO_RESULT,
                                method_trigger_event, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("MarkDirty",
                                SD_BUS_ARGS("o", hwpt, "t", iova, "t", length, "t", page_size, "at", bitmap),
                                SD_BUS_RESULT("t", dirty),
                                method_mark_dirty, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DamageJournal",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_damage_journal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DropJournal",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_drop_journal, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StoreAsOlderRun",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_store_as_older_run, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RecordOwner",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_NO_RESULT,
                                method_record_owner, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DieBeforeRecording",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_die_before_recording, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RoundTripRecord",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", written, "s", read_back),
                                method_round_trip_record, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SweepOrphans",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("u", destroyed),
                                method_sweep_orphans, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
