/// The body of `running` (record 18): the destination's wall-clock time of the unpause, and
/// its own clock's account of its part of the pause, so that the source can break its
/// downtime down by both hosts' clocks (stream version 3). Each duration is the destination's
/// monotonic clock, in microseconds; the source checks them against its own waits before it
/// believes them (`PausePhases.adding(destination:)`).
public struct RunningReport: Sendable, Equatable {
    /// The unpause, microseconds since the epoch by the destination's wall clock.
    public var unpauseWallClockMicroseconds: UInt64
    /// Loading the vCPUs' and the devices' state into the guest as those records arrived.
    public var stateLoadMicroseconds: UInt64
    /// From reading `endOfStream` to writing `readyToUnpause`: the completeness check, and the
    /// memory digest's comparison if the source sent one.
    public var checkMicroseconds: UInt64
    /// From reading `clearedToUnpause` to the guest running: recording the commit and starting
    /// the vCPUs.
    public var unpauseMicroseconds: UInt64

    public init(unpauseWallClockMicroseconds: UInt64, stateLoadMicroseconds: UInt64 = 0, checkMicroseconds: UInt64 = 0,
                unpauseMicroseconds: UInt64 = 0) {
        self.unpauseWallClockMicroseconds = unpauseWallClockMicroseconds
        self.stateLoadMicroseconds = stateLoadMicroseconds
        self.checkMicroseconds = checkMicroseconds
        self.unpauseMicroseconds = unpauseMicroseconds
    }

    /// Four little-endian `UInt64`s, in the order of the fields.
    static let bodyBytes = 32

    func append(into buffer: inout [UInt8]) {
        for field in [unpauseWallClockMicroseconds, stateLoadMicroseconds, checkMicroseconds, unpauseMicroseconds] {
            buffer.appendLittleEndian(field)
        }
    }

    init(body: ArraySlice<UInt8>) {
        let start = body.startIndex
        self.init(unpauseWallClockMicroseconds: body.readUInt64(at: start), stateLoadMicroseconds: body.readUInt64(at: start + 8),
                  checkMicroseconds: body.readUInt64(at: start + 16), unpauseMicroseconds: body.readUInt64(at: start + 24))
    }
}
