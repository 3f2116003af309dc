// CKVM: the Linux KVM ioctls livemig's minimal VMM needs, and the built-in guest program.
//
// Why a shim: the KVM API is ioctls on C structs with unions and variable-length tails
// (`struct kvm_msrs`, `struct kvm_run`'s exit union) that Swift imports awkwardly; and pausing a
// vCPU needs a signal handler, which must be C. Every wrapper is prefixed `livemig_kvm_`,
// returns 0 or a positive value on success and -errno on failure.
#ifndef LIVEMIG_CKVM_H
#define LIVEMIG_CKVM_H

#include <stddef.h>
#include <stdint.h>

#include "userfault.h"

/// Opens /dev/kvm and checks the API version and the capabilities livemig relies on. Returns the
/// fd, or -errno with a one-line reason in `message`.
int livemig_kvm_open(char *message, size_t message_length);

/// Creates a VM with manual dirty-log protection (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) when the
/// kernel offers it, so that the dirty log can be read without clearing it (a peek). Sets
/// `*manual_protect` to 1 when enabled.
int livemig_kvm_create_vm(int kvm_fd, int *manual_protect);

/// Turns on manual dirty-log protection for a new VM when the kernel offers it; 1 if enabled.
int livemig_kvm_enable_manual_dirty_protect(int kvm_fd, int vm_fd);

/// Maps `size` bytes at `host` as guest-physical memory from `guest_physical` in slot `slot`,
/// with or without dirty-page logging.
int livemig_kvm_set_memory(int vm_fd, uint32_t slot, uint64_t guest_physical, uint64_t size,
                           void *host, int log_dirty);

/// Reads the dirty bitmap of `slot` into `bitmap` (one bit per page). Without manual protection
/// the kernel clears it as it reads.
int livemig_kvm_get_dirty_log(int vm_fd, uint32_t slot, uint64_t *bitmap);

/// Clears (write-protects again) the pages set in `bitmap`, pages `first_page` ..< `first_page +
/// page_count` of `slot` (KVM_CLEAR_DIRTY_LOG; manual protection only). `first_page` and
/// `page_count` must be multiples of 64.
int livemig_kvm_clear_dirty_log(int vm_fd, uint32_t slot, uint64_t first_page, uint32_t page_count,
                                uint64_t *bitmap);

/// Creates vCPU `id` and maps its `struct kvm_run`; `*run` receives the mapping.
int livemig_kvm_create_vcpu(int kvm_fd, int vm_fd, int id, void **run, size_t *run_size);

/// Puts the vCPU in 64-bit long mode with flat segments and the page tables at `pml4` (the VMM
/// builds them), so that the guest program needs no mode switches of its own.
int livemig_kvm_enter_long_mode(int vcpu_fd, uint64_t pml4);

/// Sets rip, rsp and rdi (the guest program's one argument) and clears the other registers.
int livemig_kvm_set_entry(int vcpu_fd, uint64_t rip, uint64_t rsp, uint64_t rdi);

/// The guest TSC frequency in kHz (KVM_GET_TSC_KHZ).
int livemig_kvm_tsc_khz(int vcpu_fd);

/// What a KVM_RUN ended with.
typedef struct livemig_kvm_exit {
    uint32_t reason;      ///< KVM_EXIT_* (see below), or 0xffffffff when interrupted (EINTR)
    uint16_t port;        ///< KVM_EXIT_IO: the port
    uint8_t direction;    ///< KVM_EXIT_IO: 1 out, 0 in
    uint8_t size;         ///< KVM_EXIT_IO: 1, 2 or 4 bytes
    uint32_t count;       ///< KVM_EXIT_IO: repetitions
    uint32_t value;       ///< KVM_EXIT_IO out: the first value written
    uint64_t detail;      ///< other exits: the hardware or internal error code
} livemig_kvm_exit;

enum {
    LIVEMIG_KVM_EXIT_IO = 2,
    LIVEMIG_KVM_EXIT_HLT = 5,
    LIVEMIG_KVM_EXIT_SHUTDOWN = 8,
    LIVEMIG_KVM_EXIT_FAIL_ENTRY = 9,
    LIVEMIG_KVM_EXIT_INTERNAL_ERROR = 17,
    LIVEMIG_KVM_EXIT_INTERRUPTED = 0xffffffffu,
};

/// Runs the vCPU until the next exit. An `in` from a port reads `in_value`.
int livemig_kvm_run(int vcpu_fd, void *run, livemig_kvm_exit *exit, uint32_t in_value);

/// Installs the no-op SIGUSR1 handler (without SA_RESTART) that kicks a vCPU thread out of
/// KVM_RUN, once per process.
void livemig_kvm_install_kick_handler(void);

/// Asks a vCPU to leave KVM_RUN: sets `immediate_exit` in its kvm_run and signals its thread.
void livemig_kvm_kick(void *run, unsigned long thread);

/// Clears `immediate_exit` before the vCPU runs again.
void livemig_kvm_clear_kick(void *run);

/// The calling thread's pthread id, for `livemig_kvm_kick`.
unsigned long livemig_kvm_current_thread(void);

/// Everything of one vCPU that a migration carries: registers, special registers, FPU/SSE,
/// pending events, MP state, and the MSRs a 64-bit guest uses (TSC among them). Raw KVM structs:
/// source and destination must run the same kernel ABI, which the stream's version guards.
typedef struct livemig_kvm_vcpu_state livemig_kvm_vcpu_state;

/// Bytes of one serialized vCPU state.
size_t livemig_kvm_vcpu_state_size(void);
int livemig_kvm_get_vcpu_state(int vcpu_fd, void *state);
int livemig_kvm_set_vcpu_state(int vcpu_fd, const void *state);

/// The built-in guest program (position-independent x86-64 code in guest.S): its first byte
/// and the byte after its last.
const void *livemig_guest_program_start_address(void);
const void *livemig_guest_program_end_address(void);

// MARK: Firmware guests (firmware.c)
//
// A firmware guest boots a flat image the way `qemu -bios` does: in real mode at the reset
// vector, with the in-kernel irqchip (8259 PICs, IOAPIC, LAPIC) and PIT. Its migrated state is
// one versioned blob: a header, the vCPU state above, then the devices (LAPIC, PIC master, PIC
// slave, IOAPIC, PIT, KVM clock, a few more MSRs), all raw KVM structs.

/// Whether KVM_MEM_READONLY slots exist here (KVM_CAP_READONLY_MEM).
int livemig_kvm_has_readonly_memory(int kvm_fd);

/// Creates a VM for a firmware guest: like `livemig_kvm_create_vm`, but with the identity-map
/// page and TSS at 0xfeffc000 (QEMU's, clear of any BIOS image) and with the in-kernel irqchip
/// (KVM_CREATE_IRQCHIP) and PIT (KVM_CREATE_PIT2) created, as they must be, before any vCPU.
int livemig_kvm_create_firmware_vm(int kvm_fd, int *manual_protect);

enum {
    LIVEMIG_KVM_MEM_LOG_DIRTY = 1,   ///< KVM_MEM_LOG_DIRTY_PAGES
    LIVEMIG_KVM_MEM_READONLY = 2,    ///< KVM_MEM_READONLY: guest writes exit as KVM_EXIT_MMIO
};

/// `livemig_kvm_set_memory` with flags (LIVEMIG_KVM_MEM_*).
int livemig_kvm_set_memory_flags(int vm_fd, uint32_t slot, uint64_t guest_physical, uint64_t size, void *host,
                                 uint32_t flags);

/// After an `in` exit: the value the guest reads (overrides the `in_value` given to the run).
void livemig_kvm_set_io_in_value(void *run, uint32_t value);

/// After a KVM_EXIT_MMIO (a write to ROM, or an access where nothing is mapped): a read
/// returns all ones, a write is dropped.
void livemig_kvm_complete_mmio(void *run);

enum {
    LIVEMIG_KVM_EXIT_MMIO = 6,
    LIVEMIG_KVM_FIRMWARE_STATE_MAGIC = 0x57464c4c,   ///< 'LLFW'
    LIVEMIG_KVM_FIRMWARE_STATE_VERSION = 2,   ///< 2: the CMOS/RTC joined the header
};

/// The header of a firmware guest's state blob. The layout fields describe where the image is,
/// so that a destination created knowing only the memory size can map it the same way.
typedef struct livemig_kvm_firmware_state_header {
    uint32_t magic;            ///< LIVEMIG_KVM_FIRMWARE_STATE_MAGIC
    uint32_t version;          ///< LIVEMIG_KVM_FIRMWARE_STATE_VERSION
    uint32_t header_size;      ///< sizeof(livemig_kvm_firmware_state_header)
    uint32_t total_size;       ///< the whole blob
    uint32_t vcpu_offset;      ///< the vCPU state (livemig_kvm_vcpu_state_size() bytes)
    uint32_t vcpu_size;
    uint32_t devices_offset;   ///< LAPIC, irqchips, PIT, clock, MSRs
    uint32_t devices_size;
    uint64_t memory_bytes;     ///< all of guest memory (the migrated page range)
    uint64_t image_bytes;      ///< the image: the top image_bytes of guest memory, mapped read-only
                               ///< at 4 GiB - image_bytes
    uint64_t alias_bytes;      ///< its last alias_bytes, also mapped at 1 MiB - alias_bytes
    uint8_t uart[8];           ///< the VMM's 16550 registers (VcpuRunner's serial port model)
    uint8_t cmos[128];         ///< the VMM's MC146818 CMOS bytes (CmosRtc)
    uint8_t cmos_index;        ///< its index register (port 0x70, NMI bit cleared)
    uint8_t cmos_reserved[7];
    int64_t cmos_clock_offset_seconds; ///< the guest's clock less the host's UTC clock
} livemig_kvm_firmware_state_header;

/// Bytes of a firmware guest's state blob.
size_t livemig_kvm_firmware_state_size(void);

/// Checks a blob's header (magic, version, sizes) and copies it out: 0, -EINVAL when it is no
/// firmware blob, -EPROTO for another version, -EMSGSIZE for other sizes (another KVM ABI).
int livemig_kvm_firmware_state_parse(const void *state, size_t size, livemig_kvm_firmware_state_header *header);

/// Captures vCPU and device state (the vCPU must be out of KVM_RUN). `layout` supplies
/// memory_bytes, image_bytes and alias_bytes; the rest of the header is filled in here.
int livemig_kvm_get_firmware_state(int vm_fd, int vcpu_fd, const livemig_kvm_firmware_state_header *layout, void *out);

/// Restores a blob into a firmware VM whose vCPU has not run: irqchip and PIT, then the vCPU
/// (registers, special registers, FPU, MP state, events, MSRs), its LAPIC, the extra MSRs and
/// last the KVM clock.
int livemig_kvm_set_firmware_state(int vm_fd, int vcpu_fd, const void *state, size_t size);

/// The test firmware (firmware_test.S): a 64 KiB image that prints "tick N" every 10 PIT ticks.
const void *livemig_firmware_test_image_start_address(void);
const void *livemig_firmware_test_image_end_address(void);

/// The benchmark firmware (firmware_bench.S): 64 KiB, 32-bit protected mode, a heartbeat line
/// and paced page writes driven by the TSC, its parameter block at image offset 0xFF00.
const void *livemig_firmware_bench_image_start_address(void);
const void *livemig_firmware_bench_image_end_address(void);

#endif
