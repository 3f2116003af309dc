import MigrationCore

/// A running KVM guest as the engine's source hypervisor: the same `SourceHypervisor` protocol
/// the simulator's simulated host implements.
public struct KVMSourceHypervisor: SourceHypervisor {
    public typealias DirtyLog = DirtyBitmap
    public typealias DeviceState = [UInt8]

    public let guest: KVMGuest
    public private(set) var resumeCount = 0

    public init(guest: KVMGuest) { self.guest = guest }

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
    }

    public mutating func resumeGuest() throws(HostFailure) {
        guest.resume()
        resumeCount += 1
    }

    public mutating func captureDeviceState() throws(HostFailure) -> [UInt8] {
        try wrap { () throws(KVMError) in try guest.captureVcpuState() }
    }

    public mutating func destroyGuest() throws(HostFailure) {
        guest.destroy()
    }
}
