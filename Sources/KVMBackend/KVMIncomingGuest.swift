import MigrationCore
import MigrationExecutor
import MigrationStream

/// A KVM guest being received: the `IncomingGuest` the receiver fills. Its vCPU thread is
/// started parked once the state arrives, and runs only on `run()`.
public final class KVMIncomingGuest: IncomingGuest {
    public let guest: KVMGuest
    private var vcpuThreadStarted = false

    public init(guest: KVMGuest) { self.guest = guest }

    /// Creates the empty guest a stream's layout describes.
    public static func make(for layout: GuestLayout, consolePath: String? = nil) throws(HostFailure) -> KVMIncomingGuest {
        guard Int(layout.pageSizeBytes) == GuestMemory.pageSizeBytes else {
            throw HostFailure("the guest uses \(layout.pageSizeBytes)-byte pages; this KVM backend uses \(GuestMemory.pageSizeBytes)")
        }
        guard layout.vcpuCount == 1 else { throw HostFailure("the guest has \(layout.vcpuCount) vCPUs; this KVM backend runs 1") }
        let guest: KVMGuest
        do {
            guest = try KVMGuest.createIncoming(name: layout.name, memoryBytes: Int(layout.memoryBytes), consolePath: consolePath)
        } catch {
            throw HostFailure(error.description)
        }
        // A firmware guest says so in its layout's description: its VM (irqchip, PIT, image
        // slots) is built now, while the pages come, rather than in the pause when its state
        // arrives (about 9 ms for a 1 GiB guest here). Only a hint: a description that does not
        // parse or fit leaves the guest as it is, and a state for another layout is refused.
        if let imageBytes = FirmwareLayout.imageBytes(describedBy: layout.workload),
           let firmware = try? FirmwareLayout(memoryBytes: Int(layout.memoryBytes), imageBytes: imageBytes) {
            try? guest.prepareFirmware(firmware)
        }
        return KVMIncomingGuest(guest: guest)
    }

    public func pageAddress(_ page: Int) -> UnsafeMutableRawPointer { guest.memory.page(page) }

    public func loadVcpuState(_ state: [UInt8], vcpu: Int) throws(HostFailure) {
        guard vcpu == 0 else { throw HostFailure("vCPU \(vcpu) does not exist") }
        do {
            try guest.restoreVcpuState(state)
        } catch {
            throw HostFailure(error.description)
        }
        // The vCPU thread starts now, parked, so that running the guest once cleared is only a
        // wake-up (thread creation stays out of the downtime).
        if !vcpuThreadStarted {
            vcpuThreadStarted = true
            guest.start(paused: true)
        }
    }

    /// The device state of a KVM guest is its serial console's unfinished line (at most
    /// `ConsoleLog.maxPendingBytes`): a pause can fall between the bytes of a line.
    public func loadDeviceState(_ state: [UInt8]) throws(HostFailure) {
        guard state.count <= ConsoleLog.maxPendingBytes else {
            throw HostFailure("the device state is \(state.count) bytes; a console line holds at most \(ConsoleLog.maxPendingBytes)")
        }
        guest.console.pendingLine = state
    }

    public func run() throws(HostFailure) {
        if !vcpuThreadStarted {
            vcpuThreadStarted = true
            guest.start(paused: true)
        }
        guest.resume()
        if let failure = guest.failure { throw HostFailure(failure) }
    }

    public func discard() { guest.destroy() }

    public func firstConsoleLine(after seconds: Double, waitingUpTo timeoutSeconds: Double) -> (wallClockSeconds: Double, text: String)? {
        guest.console.firstLine(after: seconds, waitingUpTo: timeoutSeconds).map { ($0.seconds, $0.text) }
    }
}

extension KVMGuest {
    /// The stream's description of this guest.
    public var streamLayout: GuestLayout {
        GuestLayout(name: name, memoryBytes: UInt64(memory.sizeBytes), pageSizeBytes: UInt32(GuestMemory.pageSizeBytes),
                    vcpuCount: 1, workload: workload?.description ?? firmwareDescription ?? "")
    }
}
