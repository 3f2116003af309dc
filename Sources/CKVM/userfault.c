// See include/userfault.h. Facts used: the userfaultfd(2) man page and
// Documentation/admin-guide/mm/userfaultfd.rst (the API handshake, UFFDIO_REGISTER_MODE_MISSING,
// UFFDIO_COPY and its EEXIST, /dev/userfaultfd's USERFAULTFD_IOC_NEW since Linux 6.1).
#define _GNU_SOURCE
#include "userfault.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int livemig_uffd_open(void) {
    int uffd = -1;
#ifdef USERFAULTFD_IOC_NEW
    // Kernel headers older than 6.1 lack the device's ioctl: the system call alone then.
    int device = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (device >= 0) {
        uffd = ioctl(device, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
        close(device);
    }
#endif
    if (uffd < 0) uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (uffd < 0) return -errno;
    struct uffdio_api api = {.api = UFFD_API, .features = 0};
    if (ioctl(uffd, UFFDIO_API, &api) != 0) {
        int error = errno;
        close(uffd);
        return -error;
    }
    return uffd;
}

int livemig_uffd_register_missing(int uffd, void *address, uint64_t length) {
    struct uffdio_register reg = {
        .range = {.start = (uint64_t)(uintptr_t)address, .len = length},
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) return -errno;
    if (!(reg.ioctls & ((uint64_t)1 << _UFFDIO_COPY))) return -EOPNOTSUPP;
    return 0;
}

int livemig_uffd_discard(void *address, uint64_t length) {
    // Private anonymous memory: the pages are freed, and the next touch is a missing-page fault
    // (userfaultfd.rst; QEMU's ram_block_discard_range does the same for anonymous RAM).
    return madvise(address, length, MADV_DONTNEED) == 0 ? 0 : -errno;
}

int livemig_uffd_next_fault(int uffd, int timeout_ms, uint64_t *address) {
    struct pollfd waiting = {.fd = uffd, .events = POLLIN};
    int ready = poll(&waiting, 1, timeout_ms);
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    if (ready == 0) return 0;
    struct uffd_msg message;
    ssize_t got = read(uffd, &message, sizeof message);
    if (got < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
    if (got != sizeof message || message.event != UFFD_EVENT_PAGEFAULT) return 0;
    *address = message.arg.pagefault.address;
    return 1;
}

int livemig_uffd_copy(int uffd, void *address, const void *source, uint64_t length) {
    uint64_t done = 0;
    // EAGAIN: the copy stopped part way (the mapping changed under it); `copy` says how far it
    // got, and the rest is tried again, a bounded number of times.
    for (int attempt = 0; attempt < 64; attempt++) {
        struct uffdio_copy copy = {
            .dst = (uint64_t)(uintptr_t)address + done,
            .src = (uint64_t)(uintptr_t)source + done,
            .len = length - done,
            .mode = 0,
        };
        if (ioctl(uffd, UFFDIO_COPY, &copy) == 0) return 0;
        if (errno == EEXIST) return 1;
        if (errno != EAGAIN) return -errno;
        if (copy.copy > 0) done += (uint64_t)copy.copy;
        if (done >= length) return 0;
    }
    return -EAGAIN;
}
