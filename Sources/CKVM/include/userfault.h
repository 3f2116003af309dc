// userfaultfd for post-copy's destination: the guest's missing pages fault to livemig instead
// of reading as zero, and livemig places each page atomically when it has it (QEMU's
// postcopy-ram does the same, migration/postcopy-ram.c). Why C: the API is ioctls on structs
// with unions (`struct uffd_msg`). Every wrapper is prefixed `livemig_uffd_`, returns 0 or a
// positive value on success and -errno on failure.
#ifndef LIVEMIG_USERFAULT_H
#define LIVEMIG_USERFAULT_H

#include <stddef.h>
#include <stdint.h>

/// Opens a userfaultfd (non-blocking, close-on-exec): /dev/userfaultfd first (root, or the
/// device's group), else the system call; then the API handshake. Returns the fd.
int livemig_uffd_open(void);

/// Registers `length` bytes at `address` (page-aligned) for missing-page faults.
int livemig_uffd_register_missing(int uffd, void *address, uint64_t length);

/// Drops `length` bytes of a private anonymous mapping at `address` (MADV_DONTNEED), so that
/// their next touch is a missing-page fault: the stale pages a destination held before post-copy.
int livemig_uffd_discard(void *address, uint64_t length);

/// Waits up to `timeout_ms` for a fault; 1 with the faulting address in `*address`, 0 when none
/// came (or an event other than a page fault was read and skipped).
int livemig_uffd_next_fault(int uffd, int timeout_ms, uint64_t *address);

/// Places `length` bytes from `source` at `address` atomically and wakes whoever waits on them
/// (UFFDIO_COPY). 1 when the page was already there (EEXIST: placed before, left as it was).
int livemig_uffd_copy(int uffd, void *address, const void *source, uint64_t length);

#endif
