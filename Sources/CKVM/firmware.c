// CKVM for firmware guests: a VM with the in-kernel irqchip (two 8259 PICs, the IOAPIC, a LAPIC
// per vCPU) and PIT, read-only ROM slots, and the device state a migration of such a guest
// carries on top of the vCPU state (see ckvm.h for the blob layout).
#define _GNU_SOURCE
#include "ckvm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define NEG_ERRNO (-errno)

// QEMU's choices for a PC: just below the IOAPIC/LAPIC/BIOS area at the top of the first 4 GiB,
// so that neither the TSS nor the identity page overlaps a BIOS image of up to 16 MiB.
#define LIVEMIG_KVM_FIRMWARE_IDENTITY_MAP 0xfeffc000ull
#define LIVEMIG_KVM_FIRMWARE_TSS (LIVEMIG_KVM_FIRMWARE_IDENTITY_MAP + 0x1000)

int livemig_kvm_has_readonly_memory(int kvm_fd) {
    return ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
}

int livemig_kvm_create_firmware_vm(int kvm_fd, int *manual_protect) {
    int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm < 0) return NEG_ERRNO;
    *manual_protect = livemig_kvm_enable_manual_dirty_protect(kvm_fd, vm);
    // Both are needed on Intel without unrestricted guest (real mode runs as vm86 there), must
    // come before the first vCPU, and are harmless elsewhere: failures are not fatal.
    uint64_t identity = LIVEMIG_KVM_FIRMWARE_IDENTITY_MAP;
    ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity);
    ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)LIVEMIG_KVM_FIRMWARE_TSS);
    if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) { int e = NEG_ERRNO; close(vm); return e; }
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0) { int e = NEG_ERRNO; close(vm); return e; }
    return vm;
}

int livemig_kvm_set_memory_flags(int vm_fd, uint32_t slot, uint64_t guest_physical, uint64_t size, void *host,
                                 uint32_t flags) {
    struct kvm_userspace_memory_region region = {
        .slot = slot,
        .flags = ((flags & LIVEMIG_KVM_MEM_LOG_DIRTY) ? KVM_MEM_LOG_DIRTY_PAGES : 0) |
                 ((flags & LIVEMIG_KVM_MEM_READONLY) ? KVM_MEM_READONLY : 0),
        .guest_phys_addr = guest_physical,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ? NEG_ERRNO : 0;
}

void livemig_kvm_set_io_in_value(void *run_mapping, uint32_t value) {
    struct kvm_run *run = run_mapping;
    if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_IN) return;
    unsigned char *data = (unsigned char *)run + run->io.data_offset;
    for (uint32_t i = 0; i < run->io.count; i++) memcpy(data + i * run->io.size, &value, run->io.size);
}

void livemig_kvm_complete_mmio(void *run_mapping) {
    struct kvm_run *run = run_mapping;
    if (run->exit_reason != KVM_EXIT_MMIO || run->mmio.is_write) return;
    memset(run->mmio.data, 0xff, sizeof run->mmio.data);  // nothing there: the bus floats high
}

// MSRs a firmware guest may use beyond the ones every guest's state carries; each is kept only
// if this KVM reads it.
static const uint32_t livemig_kvm_firmware_msr_indices[] = {
    0x174, 0x175, 0x176,  // SYSENTER_CS, _ESP, _EIP
    0x1a0,                // MISC_ENABLE
    0x277,                // PAT
    0x6e0,                // TSC_DEADLINE (after the LAPIC: it may arm the LAPIC timer)
};
#define LIVEMIG_KVM_FIRMWARE_MSR_COUNT \
    (sizeof livemig_kvm_firmware_msr_indices / sizeof livemig_kvm_firmware_msr_indices[0])

// The devices part of a firmware guest's state blob (raw KVM structs, like the vCPU part).
struct livemig_kvm_firmware_devices {
    struct kvm_lapic_state lapic;
    struct kvm_irqchip pic_master;
    struct kvm_irqchip pic_slave;
    struct kvm_irqchip ioapic;
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
    uint32_t msr_count;
    uint32_t pad;
    struct kvm_msr_entry msrs[LIVEMIG_KVM_FIRMWARE_MSR_COUNT];
};

static size_t livemig_kvm_firmware_vcpu_offset(void) { return sizeof(livemig_kvm_firmware_state_header); }
static size_t livemig_kvm_firmware_devices_offset(void) {
    return (livemig_kvm_firmware_vcpu_offset() + livemig_kvm_vcpu_state_size() + 7) & ~(size_t)7;
}

size_t livemig_kvm_firmware_state_size(void) {
    return livemig_kvm_firmware_devices_offset() + sizeof(struct livemig_kvm_firmware_devices);
}

int livemig_kvm_firmware_state_parse(const void *state, size_t size, livemig_kvm_firmware_state_header *header) {
    if (size < sizeof *header) return -EINVAL;
    memcpy(header, state, sizeof *header);
    if (header->magic != LIVEMIG_KVM_FIRMWARE_STATE_MAGIC) return -EINVAL;
    if (header->version != LIVEMIG_KVM_FIRMWARE_STATE_VERSION) return -EPROTO;
    if (header->total_size != size || size != livemig_kvm_firmware_state_size() ||
        header->header_size != sizeof *header ||
        header->vcpu_offset != livemig_kvm_firmware_vcpu_offset() ||
        header->vcpu_size != livemig_kvm_vcpu_state_size() ||
        header->devices_offset != livemig_kvm_firmware_devices_offset() ||
        header->devices_size != sizeof(struct livemig_kvm_firmware_devices))
        return -EMSGSIZE;
    return 0;
}

static int livemig_kvm_get_msr(int vcpu_fd, uint32_t index, uint64_t *value) {
    struct { uint32_t nmsrs, pad; struct kvm_msr_entry entry; } msrs = { .nmsrs = 1, .entry = { .index = index } };
    int got = ioctl(vcpu_fd, KVM_GET_MSRS, &msrs);
    if (got != 1) return -1;
    *value = msrs.entry.data;
    return 0;
}

int livemig_kvm_get_firmware_state(int vm_fd, int vcpu_fd, const livemig_kvm_firmware_state_header *layout, void *out) {
    size_t size = livemig_kvm_firmware_state_size();
    unsigned char *bytes = out;
    memset(bytes, 0, size);
    livemig_kvm_firmware_state_header header = *layout;
    header.magic = LIVEMIG_KVM_FIRMWARE_STATE_MAGIC;
    header.version = LIVEMIG_KVM_FIRMWARE_STATE_VERSION;
    header.header_size = sizeof header;
    header.total_size = (uint32_t)size;
    header.vcpu_offset = (uint32_t)livemig_kvm_firmware_vcpu_offset();
    header.vcpu_size = (uint32_t)livemig_kvm_vcpu_state_size();
    header.devices_offset = (uint32_t)livemig_kvm_firmware_devices_offset();
    header.devices_size = sizeof(struct livemig_kvm_firmware_devices);
    memcpy(bytes, &header, sizeof header);

    int status = livemig_kvm_get_vcpu_state(vcpu_fd, bytes + header.vcpu_offset);
    if (status < 0) return status;

    struct livemig_kvm_firmware_devices devices;
    memset(&devices, 0, sizeof devices);
    if (ioctl(vcpu_fd, KVM_GET_LAPIC, &devices.lapic) < 0) return NEG_ERRNO;
    devices.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    devices.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    devices.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    if (ioctl(vm_fd, KVM_GET_IRQCHIP, &devices.pic_master) < 0) return NEG_ERRNO;
    if (ioctl(vm_fd, KVM_GET_IRQCHIP, &devices.pic_slave) < 0) return NEG_ERRNO;
    if (ioctl(vm_fd, KVM_GET_IRQCHIP, &devices.ioapic) < 0) return NEG_ERRNO;
    if (ioctl(vm_fd, KVM_GET_PIT2, &devices.pit) < 0) return NEG_ERRNO;
    if (ioctl(vm_fd, KVM_GET_CLOCK, &devices.clock) < 0) return NEG_ERRNO;
    for (size_t i = 0; i < LIVEMIG_KVM_FIRMWARE_MSR_COUNT; i++) {
        uint64_t value;
        if (livemig_kvm_get_msr(vcpu_fd, livemig_kvm_firmware_msr_indices[i], &value) < 0) continue;
        devices.msrs[devices.msr_count].index = livemig_kvm_firmware_msr_indices[i];
        devices.msrs[devices.msr_count].data = value;
        devices.msr_count++;
    }
    memcpy(bytes + header.devices_offset, &devices, sizeof devices);
    return 0;
}

int livemig_kvm_set_firmware_state(int vm_fd, int vcpu_fd, const void *state, size_t size) {
    livemig_kvm_firmware_state_header header;
    int status = livemig_kvm_firmware_state_parse(state, size, &header);
    if (status < 0) return status;
    const unsigned char *bytes = state;
    struct livemig_kvm_firmware_devices devices;
    memcpy(&devices, bytes + header.devices_offset, sizeof devices);
    if (devices.msr_count > LIVEMIG_KVM_FIRMWARE_MSR_COUNT) return -EINVAL;

    // VM-level devices first: the interrupt controllers and the timer that feeds them.
    if (ioctl(vm_fd, KVM_SET_IRQCHIP, &devices.pic_master) < 0) return NEG_ERRNO;
    if (ioctl(vm_fd, KVM_SET_IRQCHIP, &devices.pic_slave) < 0) return NEG_ERRNO;
    if (ioctl(vm_fd, KVM_SET_IRQCHIP, &devices.ioapic) < 0) return NEG_ERRNO;
    if (ioctl(vm_fd, KVM_SET_PIT2, &devices.pit) < 0) return NEG_ERRNO;
    // Then the vCPU: special registers (the APIC base among them) before the LAPIC registers,
    // the LAPIC before the MSRs that arm its timer.
    status = livemig_kvm_set_vcpu_state(vcpu_fd, bytes + header.vcpu_offset);
    if (status < 0) return status;
    if (ioctl(vcpu_fd, KVM_SET_LAPIC, &devices.lapic) < 0) return NEG_ERRNO;
    for (uint32_t i = 0; i < devices.msr_count; i++) {
        struct { uint32_t nmsrs, pad; struct kvm_msr_entry entry; } msrs = { .nmsrs = 1, .entry = devices.msrs[i] };
        int set = ioctl(vcpu_fd, KVM_SET_MSRS, &msrs);
        if (set < 0) return NEG_ERRNO;
        if (set != 1) return -EIO;
    }
    // The guest's kvmclock goes on from where it stopped (QEMU passes only the clock value).
    struct kvm_clock_data clock = { .clock = devices.clock.clock };
    if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0) return NEG_ERRNO;
    return 0;
}

extern const unsigned char livemig_firmware_test_image_start[];
extern const unsigned char livemig_firmware_test_image_end[];

const void *livemig_firmware_test_image_start_address(void) { return livemig_firmware_test_image_start; }
const void *livemig_firmware_test_image_end_address(void) { return livemig_firmware_test_image_end; }

extern const unsigned char livemig_firmware_bench_image_start[];
extern const unsigned char livemig_firmware_bench_image_end[];

const void *livemig_firmware_bench_image_start_address(void) { return livemig_firmware_bench_image_start; }
const void *livemig_firmware_bench_image_end_address(void) { return livemig_firmware_bench_image_end; }
