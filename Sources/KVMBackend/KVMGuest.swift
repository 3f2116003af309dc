import CKVM
import Foundation
import MigrationCore

/// One KVM virtual machine as livemig runs it, with one vCPU. Either the built-in guest program
/// (64-bit mode, one memory slot holding all of its RAM), or a firmware guest (`createFirmware`:
/// a flat image started in real mode at the reset vector, the in-kernel irqchip and PIT, RAM
/// and image in the slots `FirmwareLayout` describes), or memory received from a migration,
/// which becomes whichever kind the vCPU state it receives says.
public final class KVMGuest: @unchecked Sendable {
    public let name: String
    public let memory: GuestMemory
    public let console: ConsoleLog
    /// The guest's TSC frequency, from KVM (`KVM_GET_TSC_KHZ`).
    public let tscHz: UInt64
    /// Whether the dirty log can be read without clearing it (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2).
    public var manualDirtyProtect: Bool { machine.manualDirtyProtect }
    public private(set) var workload: GuestWorkload?
    /// For a firmware guest: where its image and RAM are.
    public private(set) var firmware: FirmwareLayout?

    private let kvmFD: Int32
    /// The VM, its vCPU and its memory slots; replaced whole when a received guest turns out to
    /// be a firmware guest.
    private var machine: Machine
    private var vmFD: Int32 { machine.vm }
    private var vcpuFD: Int32 { machine.vcpu }
    private var run: UnsafeMutableRawPointer { machine.run }
    /// The KVM memory slots over `memory`: one for a built-in guest, four for a firmware guest.
    private var slots: [MemorySlot] { machine.slots }
    private var runner: VcpuRunner
    private var dirtyLogging = false
    /// Pages the kernel cleared while they were only peeked at (no manual protection): owed to
    /// the next read-and-clear.
    private var peekedButCleared: DirtyBitmap?
    private var destroyed = false
    private let lock = NSLock()

    private init(name: String, memoryBytes: Int, consolePath: String?, firmware: FirmwareLayout? = nil,
                 image: [UInt8] = [], populate: Bool = false) throws(KVMError) {
        self.name = name
        memory = try GuestMemory(sizeBytes: memoryBytes, populate: populate)
        console = ConsoleLog(path: consolePath)
        var message = [CChar](repeating: 0, count: 256)
        let kvm = livemig_kvm_open(&message, message.count)
        guard kvm >= 0 else {
            throw KVMError(message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        kvmFD = kvm
        if let firmware {
            (memory.base + firmware.imageOffset).copyMemory(from: image, byteCount: image.count)
        }
        do {
            machine = try Self.makeMachine(kvm: kvm, memory: memory, firmware: firmware)
        } catch {
            close(kvm)
            throw error
        }
        self.firmware = firmware
        tscHz = machine.tscHz
        runner = VcpuRunner(vcpuFD: machine.vcpu, run: machine.run, console: console,
                            firmwareRAMBytes: firmware.map { $0.memoryBytes - $0.imageBytes })
    }

    /// A VM with its memory slots and vCPU, not yet run.
    private struct Machine {
        var vm: Int32
        var vcpu: Int32
        var run: UnsafeMutableRawPointer
        var runSize: Int
        var slots: [MemorySlot]
        var manualDirtyProtect: Bool
        var tscHz: UInt64

        /// Unmaps the vCPU's run area and closes the vCPU and the VM.
        func release() {
            munmap(run, runSize)
            close(vcpu)
            close(vm)
        }
    }

    /// Creates the VM: for a firmware guest with the irqchip and PIT before the vCPU (KVM
    /// refuses them after), the image slots read-only where KVM offers that.
    private static func makeMachine(kvm: Int32, memory: GuestMemory, firmware: FirmwareLayout?) throws(KVMError) -> Machine {
        var manual: Int32 = 0
        let vm: Int32
        let slots: [MemorySlot]
        if let firmware {
            vm = livemig_kvm_create_firmware_vm(kvm, &manual)
            guard vm >= 0 else { throw KVMError.call("creating a VM with an in-kernel irqchip and PIT", vm) }
            slots = firmware.slots(readOnlyImage: livemig_kvm_has_readonly_memory(kvm) != 0)
        } else {
            vm = livemig_kvm_create_vm(kvm, &manual)
            guard vm >= 0 else { throw KVMError.call("KVM_CREATE_VM", vm) }
            slots = [MemorySlot(id: 0, guestPhysical: 0, memoryOffset: 0, bytes: memory.sizeBytes, kind: .ram)]
        }
        var runPointer: UnsafeMutableRawPointer?
        var size = 0
        do throws(KVMError) {
            for slot in slots {
                try check("KVM_SET_USER_MEMORY_REGION (slot \(slot.id))",
                          livemig_kvm_set_memory_flags(vm, slot.id, slot.guestPhysical, UInt64(slot.bytes),
                                                       memory.base + slot.memoryOffset, slot.flags(dirtyLogging: false)))
            }
            let vcpu = try check("KVM_CREATE_VCPU", livemig_kvm_create_vcpu(kvm, vm, 0, &runPointer, &size))
            let khz: Int32
            do throws(KVMError) {
                khz = try check("KVM_GET_TSC_KHZ", livemig_kvm_tsc_khz(vcpu))
            } catch {
                munmap(runPointer, size)
                close(vcpu)
                throw error
            }
            return Machine(vm: vm, vcpu: vcpu, run: runPointer!, runSize: size, slots: slots,
                           manualDirtyProtect: manual != 0, tscHz: UInt64(khz) * 1000)
        } catch {
            close(vm)
            throw error
        }
    }

    deinit {
        destroy()
    }

    /// A new guest running the built-in program with `workload` (started paused; call `start`).
    public static func create(name: String, memoryBytes: Int, workload: GuestWorkload, seed: UInt64 = 1,
                              consolePath: String? = nil) throws(KVMError) -> KVMGuest {
        // A new guest's RAM is allocated up front, as a booted guest's would be.
        let guest = try KVMGuest(name: name, memoryBytes: memoryBytes, consolePath: consolePath, populate: true)
        let regionPages = GuestMemoryMap.regionPages(memoryBytes: memoryBytes)
        guard workload.workingSetPages <= regionPages else {
            throw KVMError("the workload's working set (\(workload.workingSetPages) pages) is larger than the guest's workload region (\(regionPages) pages)")
        }
        guest.workload = workload
        GuestProgramLoader.load(workload, into: guest.memory, tscHz: guest.tscHz, seed: seed)
        try check("KVM_SET_SREGS", livemig_kvm_enter_long_mode(guest.vcpuFD, UInt64(GuestMemoryMap.pml4)))
        try check("KVM_SET_REGS", livemig_kvm_set_entry(guest.vcpuFD, UInt64(GuestMemoryMap.program),
                                                         UInt64(GuestMemoryMap.stackTop), UInt64(GuestMemoryMap.parameters)))
        return guest
    }

    /// A new firmware guest (started paused; call `start`): `image` (a multiple of 4 KiB, at
    /// most 1 MiB) mapped read-only at 4 GiB - its size and its last 64 KiB at 0xF0000, as
    /// `qemu -bios` does; the vCPU starts in real mode at the reset vector (CS base 0xFFFF0000,
    /// selector 0xF000, IP 0xFFF0: KVM's reset state). The in-kernel PICs, IOAPIC, LAPIC and
    /// PIT, so the guest can sleep in HLT until a timer tick; a 16550 at 0x3f8 whose output is
    /// the console. `memoryBytes` includes the image (kept in its top; see `FirmwareLayout`).
    public static func createFirmware(name: String, memoryBytes: Int, image: [UInt8],
                                      consolePath: String? = nil) throws(KVMError) -> KVMGuest {
        let layout = try FirmwareLayout(memoryBytes: memoryBytes, imageBytes: image.count)
        return try KVMGuest(name: name, memoryBytes: memoryBytes, consolePath: consolePath, firmware: layout, image: image,
                            populate: true)
    }

    /// An empty guest to receive a migration into: memory zero, vCPU state to be restored. The
    /// state decides the kind: a firmware guest's state turns it into a firmware guest (the VM
    /// is made again with the irqchip and PIT, before the vCPU thread ever starts).
    public static func createIncoming(name: String, memoryBytes: Int, consolePath: String? = nil) throws(KVMError) -> KVMGuest {
        try KVMGuest(name: name, memoryBytes: memoryBytes, consolePath: consolePath)
    }

    /// What a firmware guest is, for logs and reports: "firmware,image=65536".
    public var firmwareDescription: String? {
        firmware.map { FirmwareLayout.description(imageBytes: $0.imageBytes) }
    }

    /// Makes an incoming guest that has not run a firmware guest of `layout` before its state
    /// arrives (the state must then be for the same layout).
    func prepareFirmware(_ layout: FirmwareLayout) throws(KVMError) {
        guard firmware == nil else { return }
        try becomeFirmwareGuest(layout)
    }

    /// Starts the vCPU thread, running (or parked, with `paused`).
    public func start(paused: Bool = false) { runner.start(paused: paused) }
    public func pause() { runner.pause() }
    /// Pauses, waiting at most `seconds` for the vCPU to stop; true once it has.
    public func pause(waitingUpToSeconds seconds: Double) -> Bool { runner.pause(waitingUpToSeconds: seconds) }
    public func resume() { runner.resume() }
    public func setThrottle(percent: Int) { runner.setThrottle(percent: percent) }
    /// A firmware guest's CMOS/RTC (nil for the built-in guest program).
    var cmos: CmosRtc? {
        get { runner.cmosState }
        set { runner.cmosState = newValue }
    }

    /// Why the vCPU stopped on its own, if it did.
    public var failure: String? {
        if case .stopped(let reason) = runner.currentState { return reason ?? "stopped" }
        return nil
    }

    public var isRunning: Bool { runner.currentState == .running }

    /// The guest program's own counters: page writes so far and heartbeats printed. A firmware
    /// guest has no such counters: (0, 0) (its memory is its own; see `FirmwareImage.testTicks`
    /// for the test firmware's).
    public var counters: (writes: UInt64, heartbeats: UInt64) {
        firmware == nil ? GuestProgramLoader.counters(of: memory) : (0, 0)
    }

    // MARK: Dirty logging

    /// Turns dirty logging on or off for every RAM slot (read-only image slots are never dirty).
    public func setDirtyLogging(_ on: Bool) throws(KVMError) {
        lock.lock()
        defer { lock.unlock() }
        for slot in slots where slot.kind == .ram {
            try check("KVM_SET_USER_MEMORY_REGION (slot \(slot.id), dirty logging \(on ? "on" : "off"))",
                      livemig_kvm_set_memory_flags(vmFD, slot.id, slot.guestPhysical, UInt64(slot.bytes),
                                                   memory.base + slot.memoryOffset, slot.flags(dirtyLogging: on)))
        }
        dirtyLogging = on
        peekedButCleared = nil
    }

    /// The pages dirtied since the last clear; with `clear`, they are write-protected again. One
    /// bitmap over all of guest memory, whatever slots map it.
    public func readDirtyLog(clear: Bool) throws(KVMError) -> DirtyBitmap {
        lock.lock()
        defer { lock.unlock() }
        guard dirtyLogging else { throw KVMError("the dirty log was read while dirty logging is off") }
        var bitmap = DirtyBitmap(pageCount: memory.pageCount)
        for slot in slots where slot.kind == .ram {
            var words = [UInt64](repeating: 0, count: (slot.pageCount + 63) / 64)
            let status = words.withUnsafeMutableBufferPointer { livemig_kvm_get_dirty_log(vmFD, slot.id, $0.baseAddress) }
            try check("KVM_GET_DIRTY_LOG (slot \(slot.id))", status)
            if slot.firstMemoryPage == 0 && slot.pageCount == memory.pageCount {
                bitmap = DirtyBitmap(pageCount: memory.pageCount, words: words)
            } else {
                Self.merge(words, at: slot.firstMemoryPage, pageCount: slot.pageCount, into: &bitmap)
            }
            if manualDirtyProtect && clear {
                let cleared = words.withUnsafeMutableBufferPointer {
                    livemig_kvm_clear_dirty_log(vmFD, slot.id, 0, UInt32(slot.pageCount), $0.baseAddress)
                }
                try check("KVM_CLEAR_DIRTY_LOG (slot \(slot.id))", cleared)
            }
        }
        if !manualDirtyProtect {
            // The kernel cleared what it returned: keep peeked pages owed to the next clear.
            if let owed = peekedButCleared { bitmap.formUnion(owed) }
            peekedButCleared = clear ? nil : bitmap
        }
        return bitmap
    }

    /// ORs one slot's dirty bitmap (bit i = the slot's page i) into the whole-memory bitmap.
    static func merge(_ words: [UInt64], at firstPage: Int, pageCount: Int, into bitmap: inout DirtyBitmap) {
        if firstPage % 64 == 0 {
            bitmap.withUnsafeMutableWords { target in
                for (index, word) in words.enumerated() where word != 0 {
                    let remaining = pageCount - index * 64
                    let mask: UInt64 = remaining >= 64 ? ~0 : (1 << UInt64(remaining)) - 1
                    target[firstPage / 64 + index] |= word & mask
                }
            }
        } else {
            for (index, word) in words.enumerated() where word != 0 {
                var rest = word
                while rest != 0 {
                    let bit = rest.trailingZeroBitCount
                    rest &= rest - 1
                    let page = index * 64 + bit
                    if page < pageCount { bitmap.insert(firstPage + page) }
                }
            }
        }
    }

    // MARK: vCPU state

    /// The state a migration carries, as one blob; the vCPU must be paused. For a built-in
    /// guest: registers, special registers, FPU, events, MP state and MSRs. For a firmware guest
    /// a versioned blob (`livemig_kvm_firmware_state_header`: magic, version, sizes, the image
    /// layout, the serial port's registers) holding that vCPU state and then the LAPIC, the
    /// irqchip (PIC master, PIC slave, IOAPIC), the PIT, the KVM clock and a few more MSRs:
    /// about 4 KB, well within a vcpuState record.
    ///
    /// Either blob is followed by the console's unfinished line (`ConsoleLog.pendingLine`, at
    /// most 4 KiB): a pause can fall between the bytes of a line ("hb 2" here, "7\n" there).
    public func captureVcpuState() throws(KVMError) -> [UInt8] {
        try captureMachineState() + console.pendingLine
    }

    /// The vCPU state alone (for a firmware guest with its devices), without the console line.
    public func captureMachineState() throws(KVMError) -> [UInt8] {
        if let firmware {
            var header = livemig_kvm_firmware_state_header()
            header.memory_bytes = UInt64(firmware.memoryBytes)
            header.image_bytes = UInt64(firmware.imageBytes)
            header.alias_bytes = UInt64(firmware.aliasBytes)
            withUnsafeMutableBytes(of: &header.uart) { uart in
                for (index, byte) in runner.serialRegisters.prefix(uart.count).enumerated() { uart[index] = byte }
            }
            if let cmos = runner.cmosState {
                withUnsafeMutableBytes(of: &header.cmos) { bytes in
                    for (index, byte) in cmos.bytes.prefix(bytes.count).enumerated() { bytes[index] = byte }
                }
                header.cmos_index = cmos.index
                header.cmos_clock_offset_seconds = cmos.clockOffsetSeconds
            }
            var state = [UInt8](repeating: 0, count: livemig_kvm_firmware_state_size())
            let status = state.withUnsafeMutableBytes { livemig_kvm_get_firmware_state(vmFD, vcpuFD, &header, $0.baseAddress) }
            try check("capturing the vCPU and device state", status)
            return state
        }
        var state = [UInt8](repeating: 0, count: livemig_kvm_vcpu_state_size())
        let status = state.withUnsafeMutableBytes { livemig_kvm_get_vcpu_state(vcpuFD, $0.baseAddress) }
        try check("capturing the vCPU state", status)
        return state
    }

    /// Restores a blob from `captureVcpuState`, of either kind. A firmware guest's blob turns
    /// an incoming guest that has not run yet into a firmware guest first: a new VM with the
    /// irqchip and PIT, the image mapped from the top of the (already received) memory.
    public func restoreVcpuState(_ blob: [UInt8]) throws(KVMError) {
        var header = livemig_kvm_firmware_state_header()
        let firmwareBytes = min(blob.count, livemig_kvm_firmware_state_size())
        let parsed = blob.withUnsafeBytes { livemig_kvm_firmware_state_parse($0.baseAddress, firmwareBytes, &header) }
        let machineBytes = parsed == 0 ? firmwareBytes : livemig_kvm_vcpu_state_size()
        guard blob.count >= machineBytes, blob.count - machineBytes <= ConsoleLog.maxPendingBytes else {
            throw KVMError("the vCPU state is \(blob.count) bytes; this host's KVM uses \(machineBytes) plus at most \(ConsoleLog.maxPendingBytes) of console line")
        }
        let state = Array(blob[..<machineBytes])
        // A blob from `captureMachineState` has no console line: that came (or comes) as device state.
        let pendingLine = Array(blob[machineBytes...])
        defer { if !pendingLine.isEmpty { console.pendingLine = pendingLine } }
        if parsed == 0 {
            try restoreFirmwareState(state, header: header)
            return
        }
        if parsed != -EINVAL {
            throw KVMError.call("the firmware guest's state (\(state.count) bytes; this host's KVM uses \(livemig_kvm_firmware_state_size()))", parsed)
        }
        if firmware != nil {
            throw KVMError("a firmware guest cannot take a built-in guest's vCPU state")
        }
        let status = state.withUnsafeBytes { livemig_kvm_set_vcpu_state(vcpuFD, $0.baseAddress) }
        try check("restoring the vCPU state", status)
    }

    private func restoreFirmwareState(_ state: [UInt8], header: livemig_kvm_firmware_state_header) throws(KVMError) {
        guard header.memory_bytes == UInt64(memory.sizeBytes) else {
            throw KVMError("the firmware guest's state is for \(header.memory_bytes) bytes of memory, this guest has \(memory.sizeBytes)")
        }
        // Clamped, not converted: a peer's 2^64 - 1 must be refused by the layout, not trap here.
        let layout = try FirmwareLayout(memoryBytes: memory.sizeBytes, imageBytes: Int(clamping: header.image_bytes))
        guard header.alias_bytes == UInt64(layout.aliasBytes) else {
            throw KVMError("the firmware guest's state maps \(header.alias_bytes) bytes of its image below 1 MiB; this host maps \(layout.aliasBytes)")
        }
        guard CmosRtc.isPlausibleClockOffset(header.cmos_clock_offset_seconds) else {
            throw KVMError("the firmware guest's state sets its clock \(header.cmos_clock_offset_seconds) s from this host's (cmos_clock_offset_seconds); a guest can set it at most \(CmosRtc.maxClockOffsetSeconds) s either way")
        }
        if let firmware {
            guard firmware == layout else {
                throw KVMError("the firmware guest's state is for a \(layout.imageBytes)-byte image, this guest has \(firmware.imageBytes) bytes")
            }
        } else {
            try becomeFirmwareGuest(layout)
        }
        let status = state.withUnsafeBytes { livemig_kvm_set_firmware_state(vmFD, vcpuFD, $0.baseAddress, $0.count) }
        try check("restoring the vCPU and device state", status)
        runner.serialRegisters = withUnsafeBytes(of: header.uart) { [UInt8]($0) }
        runner.cmosState = CmosRtc(bytes: withUnsafeBytes(of: header.cmos) { [UInt8]($0) }, index: header.cmos_index,
                                   clockOffsetSeconds: header.cmos_clock_offset_seconds)
    }

    /// Replaces the VM of a guest that has never run by a firmware guest's VM over the same
    /// memory (whose top already holds the image: it came with the pages).
    private func becomeFirmwareGuest(_ layout: FirmwareLayout) throws(KVMError) {
        lock.lock()
        defer { lock.unlock() }
        guard !destroyed, runner.currentState == .notStarted else {
            throw KVMError("a firmware guest's state can only be restored into a guest that has not run")
        }
        let replacement = try Self.makeMachine(kvm: kvmFD, memory: memory, firmware: layout)
        machine.release()
        machine = replacement
        firmware = layout
        dirtyLogging = false
        peekedButCleared = nil
        runner = VcpuRunner(vcpuFD: machine.vcpu, run: machine.run, console: console, firmwareRAMBytes: layout.memoryBytes - layout.imageBytes)
    }

    /// Stops the vCPU and releases the VM; the memory goes with the last reference.
    public func destroy() {
        lock.lock()
        let alreadyDestroyed = destroyed
        destroyed = true
        lock.unlock()
        guard !alreadyDestroyed else { return }
        runner.stop()
        machine.release()
        close(kvmFD)
    }
}
