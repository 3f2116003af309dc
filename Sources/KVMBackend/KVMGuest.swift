import CKVM
import Foundation
import MigrationCore

/// One KVM virtual machine as livemig runs it: one vCPU in 64-bit mode, one memory slot holding
/// all of its RAM, the built-in guest program or memory received from a migration.
public final class KVMGuest: @unchecked Sendable {
    public let name: String
    public let memory: GuestMemory
    public let console: ConsoleLog
    /// The guest's TSC frequency, from KVM (`KVM_GET_TSC_KHZ`).
    public let tscHz: UInt64
    /// Whether the dirty log can be read without clearing it (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2).
    public let manualDirtyProtect: Bool
    public private(set) var workload: GuestWorkload?

    private let kvmFD: Int32
    private let vmFD: Int32
    private let vcpuFD: Int32
    private let run: UnsafeMutableRawPointer
    private let runSize: Int
    private let runner: VcpuRunner
    private var dirtyLogging = false
    /// Pages the kernel cleared while they were only peeked at (no manual protection): owed to
    /// the next read-and-clear.
    private var peekedButCleared: DirtyBitmap?
    private var destroyed = false
    private let lock = NSLock()

    private init(name: String, memoryBytes: Int, consolePath: String?) throws(KVMError) {
        self.name = name
        memory = try GuestMemory(sizeBytes: memoryBytes)
        console = ConsoleLog(path: consolePath)
        var message = [CChar](repeating: 0, count: 256)
        let kvm = livemig_kvm_open(&message, message.count)
        guard kvm >= 0 else {
            throw KVMError(message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        kvmFD = kvm
        var manual: Int32 = 0
        let vm = livemig_kvm_create_vm(kvm, &manual)
        guard vm >= 0 else { close(kvm); throw KVMError.call("KVM_CREATE_VM", vm) }
        vmFD = vm
        manualDirtyProtect = manual != 0
        var runPointer: UnsafeMutableRawPointer?
        var size = 0
        do {
            try check("KVM_SET_USER_MEMORY_REGION", livemig_kvm_set_memory(vm, 0, 0, UInt64(memoryBytes), memory.base, 0))
            let vcpu = try check("KVM_CREATE_VCPU", livemig_kvm_create_vcpu(kvm, vm, 0, &runPointer, &size))
            vcpuFD = vcpu
            let khz = try check("KVM_GET_TSC_KHZ", livemig_kvm_tsc_khz(vcpu))
            tscHz = UInt64(khz) * 1000
        } catch {
            close(vm)
            close(kvm)
            throw error
        }
        run = runPointer!
        runSize = size
        runner = VcpuRunner(vcpuFD: vcpuFD, run: run, console: console)
    }

    deinit {
        destroy()
    }

    /// A new guest running the built-in program with `workload` (started paused; call `start`).
    public static func create(name: String, memoryBytes: Int, workload: GuestWorkload, seed: UInt64 = 1,
                              consolePath: String? = nil) throws(KVMError) -> KVMGuest {
        let guest = try KVMGuest(name: name, memoryBytes: memoryBytes, consolePath: consolePath)
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

    /// An empty guest to receive a migration into: memory zero, vCPU state to be restored.
    public static func createIncoming(name: String, memoryBytes: Int, consolePath: String? = nil) throws(KVMError) -> KVMGuest {
        try KVMGuest(name: name, memoryBytes: memoryBytes, consolePath: consolePath)
    }

    /// Starts the vCPU thread, running (or parked, with `paused`).
    public func start(paused: Bool = false) { runner.start(paused: paused) }
    public func pause() { runner.pause() }
    public func resume() { runner.resume() }
    public func setThrottle(percent: Int) { runner.setThrottle(percent: percent) }

    /// Why the vCPU stopped on its own, if it did.
    public var failure: String? {
        if case .stopped(let reason) = runner.currentState { return reason ?? "stopped" }
        return nil
    }

    public var isRunning: Bool { runner.currentState == .running }

    /// The guest program's own counters: page writes so far and heartbeats printed.
    public var counters: (writes: UInt64, heartbeats: UInt64) { GuestProgramLoader.counters(of: memory) }

    // MARK: Dirty logging

    public func setDirtyLogging(_ on: Bool) throws(KVMError) {
        lock.lock()
        defer { lock.unlock() }
        try check("KVM_SET_USER_MEMORY_REGION (dirty logging \(on ? "on" : "off"))",
                  livemig_kvm_set_memory(vmFD, 0, 0, UInt64(memory.sizeBytes), memory.base, on ? 1 : 0))
        dirtyLogging = on
        peekedButCleared = nil
    }

    /// The pages dirtied since the last clear; with `clear`, they are write-protected again.
    public func readDirtyLog(clear: Bool) throws(KVMError) -> DirtyBitmap {
        lock.lock()
        defer { lock.unlock() }
        guard dirtyLogging else { throw KVMError("the dirty log was read while dirty logging is off") }
        var words = [UInt64](repeating: 0, count: memory.pageCount / 64)
        let status = words.withUnsafeMutableBufferPointer { livemig_kvm_get_dirty_log(vmFD, 0, $0.baseAddress) }
        try check("KVM_GET_DIRTY_LOG", status)
        var bitmap = DirtyBitmap(pageCount: memory.pageCount, words: words)
        if manualDirtyProtect {
            if clear {
                let cleared = words.withUnsafeMutableBufferPointer {
                    livemig_kvm_clear_dirty_log(vmFD, 0, 0, UInt32(memory.pageCount), $0.baseAddress)
                }
                try check("KVM_CLEAR_DIRTY_LOG", cleared)
            }
        } else {
            // The kernel cleared what it returned: keep peeked pages owed to the next clear.
            if let owed = peekedButCleared { bitmap.formUnion(owed) }
            peekedButCleared = clear ? nil : bitmap
        }
        return bitmap
    }

    // MARK: vCPU state

    /// Registers, special registers, FPU, events, MP state and MSRs; the vCPU must be paused.
    public func captureVcpuState() throws(KVMError) -> [UInt8] {
        var state = [UInt8](repeating: 0, count: livemig_kvm_vcpu_state_size())
        let status = state.withUnsafeMutableBytes { livemig_kvm_get_vcpu_state(vcpuFD, $0.baseAddress) }
        try check("capturing the vCPU state", status)
        return state
    }

    public func restoreVcpuState(_ state: [UInt8]) throws(KVMError) {
        guard state.count == livemig_kvm_vcpu_state_size() else {
            throw KVMError("the vCPU state is \(state.count) bytes, this host's KVM uses \(livemig_kvm_vcpu_state_size())")
        }
        let status = state.withUnsafeBytes { livemig_kvm_set_vcpu_state(vcpuFD, $0.baseAddress) }
        try check("restoring the vCPU state", status)
    }

    /// Stops the vCPU and releases the VM; the memory goes with the last reference.
    public func destroy() {
        lock.lock()
        let alreadyDestroyed = destroyed
        destroyed = true
        lock.unlock()
        guard !alreadyDestroyed else { return }
        runner.stop()
        munmap(run, runSize)
        close(vcpuFD)
        close(vmFD)
        close(kvmFD)
    }
}
