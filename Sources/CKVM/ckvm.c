#define _GNU_SOURCE
#include "ckvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define NEG_ERRNO (-errno)

int livemig_kvm_open(char *message, size_t message_length) {
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        snprintf(message, message_length, "/dev/kvm cannot be opened: %s", strerror(saved));
        return -saved;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        snprintf(message, message_length, "/dev/kvm speaks API version %d, livemig needs %d", version, KVM_API_VERSION);
        close(fd);
        return -EINVAL;
    }
    if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
        snprintf(message, message_length, "/dev/kvm lacks KVM_CAP_IMMEDIATE_EXIT (needed to pause a vCPU)");
        close(fd);
        return -ENOTSUP;
    }
    return fd;
}

int livemig_kvm_enable_manual_dirty_protect(int kvm_fd, int vm_fd) {
    if (!(ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) return 0;
    struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
    cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
    return ioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
}

int livemig_kvm_create_vm(int kvm_fd, int *manual_protect) {
    int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm < 0) return NEG_ERRNO;
    *manual_protect = livemig_kvm_enable_manual_dirty_protect(kvm_fd, vm);
    // Needed on Intel before the first KVM_RUN; harmless elsewhere.
    ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
    return vm;
}

int livemig_kvm_set_memory(int vm_fd, uint32_t slot, uint64_t guest_physical, uint64_t size, void *host, int log_dirty) {
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
        .guest_phys_addr = guest_physical,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? NEG_ERRNO : 0;
}

int livemig_kvm_get_dirty_log(int vm_fd, uint32_t slot, uint64_t *bitmap) {
    struct kvm_dirty_log log = { .slot = slot };
    log.dirty_bitmap = bitmap;
    return ioctl(vm_fd, KVM_GET_DIRTY_LOG, &log) < 0 ? NEG_ERRNO : 0;
}

int livemig_kvm_clear_dirty_log(int vm_fd, uint32_t slot, uint64_t first_page, uint32_t page_count, uint64_t *bitmap) {
    struct kvm_clear_dirty_log clear = { .slot = slot, .num_pages = page_count, .first_page = first_page };
    clear.dirty_bitmap = bitmap;
    return ioctl(vm_fd, KVM_CLEAR_DIRTY_LOG, &clear) < 0 ? NEG_ERRNO : 0;
}

int livemig_kvm_create_vcpu(int kvm_fd, int vm_fd, int id, void **run, size_t *run_size) {
    int vcpu = ioctl(vm_fd, KVM_CREATE_VCPU, id);
    if (vcpu < 0) return NEG_ERRNO;
    int size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < 0) { int e = NEG_ERRNO; close(vcpu); return e; }
    void *mapping = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (mapping == MAP_FAILED) { int e = NEG_ERRNO; close(vcpu); return e; }
    *run = mapping;
    *run_size = (size_t)size;
    return vcpu;
}

int livemig_kvm_enter_long_mode(int vcpu_fd, uint64_t pml4) {
    struct kvm_sregs sregs;
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) return NEG_ERRNO;
    sregs.cr3 = pml4;
    sregs.cr4 = 1u << 5 | 1u << 9 | 1u << 10;       // PAE, OSFXSR, OSXMMEXCPT
    sregs.cr0 = 1u << 0 | 1u << 1 | 1u << 4 | 1u << 5 | 1u << 16 | 1u << 31; // PE MP ET NE WP PG
    sregs.efer = 1u << 8 | 1u << 10;                 // LME, LMA
    struct kvm_segment code = {
        .base = 0, .limit = 0xffffffff, .selector = 0x8, .type = 11, .present = 1,
        .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
    };
    struct kvm_segment data = code;
    data.selector = 0x10;
    data.type = 3;
    data.l = 0;
    data.db = 1;
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    return ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ? NEG_ERRNO : 0;
}

int livemig_kvm_set_entry(int vcpu_fd, uint64_t rip, uint64_t rsp, uint64_t rdi) {
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = rip;
    regs.rsp = rsp;
    regs.rdi = rdi;
    regs.rflags = 2;
    return ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0 ? NEG_ERRNO : 0;
}

int livemig_kvm_tsc_khz(int vcpu_fd) {
    int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
    return khz < 0 ? NEG_ERRNO : khz;
}

int livemig_kvm_run(int vcpu_fd, void *run_mapping, livemig_kvm_exit *exit, uint32_t in_value) {
    struct kvm_run *run = run_mapping;
    memset(exit, 0, sizeof *exit);
    if (ioctl(vcpu_fd, KVM_RUN, 0) < 0) {
        if (errno == EINTR) {
            exit->reason = LIVEMIG_KVM_EXIT_INTERRUPTED;
            return 0;
        }
        return NEG_ERRNO;
    }
    exit->reason = run->exit_reason;
    switch (run->exit_reason) {
    case KVM_EXIT_IO: {
        unsigned char *data = (unsigned char *)run + run->io.data_offset;
        exit->port = run->io.port;
        exit->direction = run->io.direction == KVM_EXIT_IO_OUT;
        exit->size = run->io.size;
        exit->count = run->io.count;
        if (exit->direction) {
            uint32_t value = 0;
            memcpy(&value, data, run->io.size <= 4 ? run->io.size : 4);
            exit->value = value;
        } else {
            for (uint32_t i = 0; i < run->io.count; i++) memcpy(data + i * run->io.size, &in_value, run->io.size);
        }
        break;
    }
    case KVM_EXIT_FAIL_ENTRY:
        exit->detail = run->fail_entry.hardware_entry_failure_reason;
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        exit->detail = run->internal.suberror;
        break;
    default:
        break;
    }
    return 0;
}

static void livemig_kvm_kick_handler(int signal) { (void)signal; }

static void livemig_kvm_install_kick_handler_once(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = livemig_kvm_kick_handler;   // no SA_RESTART: KVM_RUN returns EINTR
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
}

void livemig_kvm_install_kick_handler(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, livemig_kvm_install_kick_handler_once);
}

void livemig_kvm_kick(void *run, unsigned long thread) {
    ((struct kvm_run *)run)->immediate_exit = 1;
    __sync_synchronize();
    pthread_kill((pthread_t)thread, SIGUSR1);
}

void livemig_kvm_clear_kick(void *run) {
    ((struct kvm_run *)run)->immediate_exit = 0;
    __sync_synchronize();
}

unsigned long livemig_kvm_current_thread(void) { return (unsigned long)pthread_self(); }

// The MSRs a 64-bit guest with no interrupts of its own depends on.
static const uint32_t livemig_kvm_msr_indices[] = {
    0x10,        // IA32_TSC: keeps the guest's clock continuous across the move
    0xc0000081,  // STAR
    0xc0000082,  // LSTAR
    0xc0000084,  // SFMASK
    0xc0000102,  // KERNEL_GS_BASE
};
#define LIVEMIG_KVM_MSR_COUNT (sizeof livemig_kvm_msr_indices / sizeof livemig_kvm_msr_indices[0])

struct livemig_kvm_vcpu_state {
    uint32_t magic;        // 'LVCS'
    uint32_t size;         // sizeof(struct livemig_kvm_vcpu_state)
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    struct kvm_msr_entry msrs[LIVEMIG_KVM_MSR_COUNT];
};

size_t livemig_kvm_vcpu_state_size(void) { return sizeof(struct livemig_kvm_vcpu_state); }

// struct kvm_msrs ends in a flexible array: lay the header and the entries out by hand.
struct livemig_kvm_msrs_buffer {
    uint32_t nmsrs;
    uint32_t pad;
    struct kvm_msr_entry entries[LIVEMIG_KVM_MSR_COUNT];
};
_Static_assert(sizeof(struct kvm_msrs) == 8, "kvm_msrs header is two 32-bit fields");

int livemig_kvm_get_vcpu_state(int vcpu_fd, void *out) {
    struct livemig_kvm_vcpu_state state;
    memset(&state, 0, sizeof state);
    state.magic = 0x5343564c;
    state.size = sizeof state;
    if (ioctl(vcpu_fd, KVM_GET_REGS, &state.regs) < 0) return NEG_ERRNO;
    if (ioctl(vcpu_fd, KVM_GET_SREGS, &state.sregs) < 0) return NEG_ERRNO;
    if (ioctl(vcpu_fd, KVM_GET_FPU, &state.fpu) < 0) return NEG_ERRNO;
    if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &state.events) < 0) return NEG_ERRNO;
    if (ioctl(vcpu_fd, KVM_GET_MP_STATE, &state.mp_state) < 0) return NEG_ERRNO;
    struct livemig_kvm_msrs_buffer msrs;
    memset(&msrs, 0, sizeof msrs);
    msrs.nmsrs = LIVEMIG_KVM_MSR_COUNT;
    for (size_t i = 0; i < LIVEMIG_KVM_MSR_COUNT; i++) msrs.entries[i].index = livemig_kvm_msr_indices[i];
    int got = ioctl(vcpu_fd, KVM_GET_MSRS, &msrs);
    if (got < 0) return NEG_ERRNO;
    if ((size_t)got != LIVEMIG_KVM_MSR_COUNT) return -EIO;
    memcpy(state.msrs, msrs.entries, sizeof state.msrs);
    memcpy(out, &state, sizeof state);
    return 0;
}

int livemig_kvm_set_vcpu_state(int vcpu_fd, const void *in) {
    struct livemig_kvm_vcpu_state state;
    memcpy(&state, in, sizeof state);
    if (state.magic != 0x5343564c || state.size != sizeof state) return -EINVAL;
    if (ioctl(vcpu_fd, KVM_SET_SREGS, &state.sregs) < 0) return NEG_ERRNO;
    if (ioctl(vcpu_fd, KVM_SET_REGS, &state.regs) < 0) return NEG_ERRNO;
    if (ioctl(vcpu_fd, KVM_SET_FPU, &state.fpu) < 0) return NEG_ERRNO;
    if (ioctl(vcpu_fd, KVM_SET_MP_STATE, &state.mp_state) < 0) return NEG_ERRNO;
    if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &state.events) < 0) return NEG_ERRNO;
    struct livemig_kvm_msrs_buffer msrs;
    memset(&msrs, 0, sizeof msrs);
    msrs.nmsrs = LIVEMIG_KVM_MSR_COUNT;
    memcpy(msrs.entries, state.msrs, sizeof state.msrs);
    int set = ioctl(vcpu_fd, KVM_SET_MSRS, &msrs);
    if (set < 0) return NEG_ERRNO;
    if ((size_t)set != LIVEMIG_KVM_MSR_COUNT) return -EIO;
    return 0;
}

extern const unsigned char livemig_guest_program_start[];
extern const unsigned char livemig_guest_program_end[];

const void *livemig_guest_program_start_address(void) { return livemig_guest_program_start; }
const void *livemig_guest_program_end_address(void) { return livemig_guest_program_end; }
