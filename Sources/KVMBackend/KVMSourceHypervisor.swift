import MigrationCore
import MigrationExecutor

/// A running KVM guest as the engine's source hypervisor: the same `SourceHypervisor` protocol
/// the simulator's simulated host implements.
public struct KVMSourceHypervisor: SourceHypervisor {
    public typealias DirtyLog = DirtyBitmap
    public typealias DeviceState = CapturedGuestState

    public let guest: KVMGuest
    public private(set) var resumeCount = 0
    /// Wall-clock time the vCPU stopped for the final round (for the downtime by both clocks).
    public private(set) var pausedWallClockSeconds: Double?
    /// The built-in guest program's page writes at the pause, and the monotonic time of it.
    public private(set) var writesAtPause: (writes: UInt64, monotonicSeconds: Double)?
    /// With `digestOnRelease`, a digest of memory taken just before the source copy is destroyed
    /// (paused since the final round): the destination must hold exactly this memory.
    public private(set) var digestAtRelease: UInt64?
    private let digestOnRelease: Bool
    /// Send a digest of the paused guest's memory with its state (`migrate --verify-memory`).
    private let sendsMemoryDigest: Bool

    public init(guest: KVMGuest, digestOnRelease: Bool = false, sendsMemoryDigest: Bool = false) {
        self.guest = guest
        self.digestOnRelease = digestOnRelease
        self.sendsMemoryDigest = sendsMemoryDigest
    }

    private func wrap<T>(_ body: () throws(KVMError) -> T) throws(HostFailure) -> T {
        do {
            return try body()
        } catch {
            throw HostFailure(error.description)
        }
    }

    public mutating func enableDirtyLogging() throws(HostFailure) {
        try wrap { () throws(KVMError) in try guest.setDirtyLogging(true) }
    }

    public mutating func disableDirtyLogging() throws(HostFailure) {
        try wrap { () throws(KVMError) in try guest.setDirtyLogging(false) }
    }

    public mutating func peekDirtyLog() throws(HostFailure) -> DirtyBitmap {
        try wrap { () throws(KVMError) in try guest.readDirtyLog(clear: false) }
    }

    public mutating func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap {
        try wrap { () throws(KVMError) in try guest.readDirtyLog(clear: true) }
    }

    public mutating func setThrottle(percent: Int) throws(HostFailure) {
        guest.setThrottle(percent: percent)
    }

    public mutating func pauseGuest() throws(HostFailure) {
        guest.pause()
        pausedWallClockSeconds = wallClockSeconds()
        if writesAtPause == nil { writesAtPause = (guest.counters.writes, monotonicSeconds()) }
    }

    public mutating func resumeGuest() throws(HostFailure) {
        guest.resume()
        resumeCount += 1
    }

    /// The vCPU's state (for a firmware guest, with its irqchip, timers and serial registers,
    /// captured in one call) and, as device state, the serial console's unfinished line.
    public mutating func captureDeviceState() throws(HostFailure) -> CapturedGuestState {
        let machine = try wrap { () throws(KVMError) in try guest.captureMachineState() }
        // Paused since the final round: the memory the destination must end up with.
        return CapturedGuestState(vcpuStates: [machine], deviceState: guest.console.pendingLine,
                                  memoryDigest: sendsMemoryDigest ? guest.memory.digest() : nil)
    }

    public mutating func destroyGuest() throws(HostFailure) {
        if digestOnRelease { digestAtRelease = guest.memory.digest() }
        guest.destroy()
    }
}
