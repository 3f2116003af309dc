import MigrationCore

/// What a paused guest's state travels as, besides its memory: one opaque blob per vCPU (a
/// `vcpuState` record each) and one for its devices (one `deviceState` record, possibly
/// empty). The destination checks that every vCPU's state and the device state arrived before
/// it says "ready to unpause" (`DestinationMigration`).
public struct CapturedGuestState: Sendable, Equatable, DeviceStateSize {
    public var vcpuStates: [[UInt8]]
    public var deviceState: [UInt8]
    /// The `MemoryDigest` of the paused guest's memory, when the migration verifies memory
    /// (a `memoryDigest` record after the device state).
    public var memoryDigest: UInt64?

    public init(vcpuStates: [[UInt8]], deviceState: [UInt8], memoryDigest: UInt64? = nil) {
        self.vcpuStates = vcpuStates
        self.deviceState = deviceState
        self.memoryDigest = memoryDigest
    }

    /// Bytes on the wire, without record framing.
    public var byteCount: Int { vcpuStates.reduce(deviceState.count) { $0 + $1.count } + (memoryDigest == nil ? 0 : 8) }
}
