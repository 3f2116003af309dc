import MigrationExecutor

/// What `livemig job NAME` shows of a migration under way: the figures of libvirt's
/// `virsh domjobinfo` and QEMU's `query-migrate`, from the executor's latest progress (at most
/// 0.25 s old).
public struct JobInfo: Codable, Sendable, Equatable {
    public var guest: String
    /// `precopy`, `stopAndCopy` or `aborting`.
    public var phase: String
    /// The round under way (1 is the first full pass).
    public var round: Int
    public var elapsedSeconds: Double
    /// Bytes on the wire so far, headers included.
    public var transferredBytes: Double
    /// The pages the round under way has left, in bytes (more may be dirtied meanwhile).
    public var remainingBytes: Double
    /// Pages per second the guest dirtied during the last live round read; nil before one.
    public var dirtyPagesPerSecond: Double?
    /// The transfer rate over the last 100 ms window.
    public var throughputBytesPerSecond: Double
    /// The pending pages at that rate: the pause if the guest were paused now.
    public var expectedDowntimeSeconds: Double
    public var throttlePercent: Int
    /// The bandwidth cap now (`job --set bandwidth=`); nil for none.
    public var rateLimitBytesPerSecond: Double?
    /// Parallel streams carrying the pages.
    public var streams: Int
    /// Pages sent as zero-page markers so far.
    public var zeroPagesSent: Int
    /// Bytes before compression over bytes after; nil while the stream is not compressed
    /// (livemig does not compress yet).
    public var compressionRatio: Double?

    public init(guest: String, progress: MigrationProgress) {
        self.guest = guest
        phase = progress.phase.rawValue
        round = progress.iteration
        elapsedSeconds = progress.elapsedSeconds
        transferredBytes = progress.totalBytesSent
        remainingBytes = progress.pagesPending * Double(progress.pageSizeBytes)
        dirtyPagesPerSecond = progress.dirtyPagesPerSecond
        throughputBytesPerSecond = progress.measuredBytesPerSecond
        expectedDowntimeSeconds = progress.expectedDowntimeSeconds
        throttlePercent = progress.throttlePercent
        rateLimitBytesPerSecond = progress.rateLimitBytesPerSecond
        streams = progress.streams
        zeroPagesSent = progress.zeroPagesSent
        compressionRatio = progress.compressionRatio
    }
}
