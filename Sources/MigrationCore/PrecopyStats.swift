/// The numbers a pre-copy policy decides on: a value-type snapshot, like Xen's
/// `struct precopy_stats` handed to the `precopy_policy` callback (`tools/include/xenguest.h`),
/// widened with what QEMU's and libvirt's rules need (elapsed time, measured bandwidth).
///
/// Page counts are `Double` because the fluid simulator works with expected values; the
/// page-level drivers always pass whole numbers.
public struct PrecopyStats: Sendable, Equatable {
    /// Pages of guest memory (Xen's `p2m_size`).
    public var guestPageCount: Double
    /// Bytes in one guest page.
    public var pageSizeBytes: Int
    /// Live rounds completed so far; the first full pass is round 1 (Xen's `iteration`).
    public var iteration: Int
    /// Dirty pages found by the last dirty-log read; `nil` before it is known (Xen passes -1).
    public var dirtyPageCount: Double?
    /// Pages sent in the current (or just finished) round.
    public var roundPagesSent: Double
    /// Pages passed over in the current round because they were dirtied again while it ran.
    public var roundPagesSkipped: Double
    /// Pages sent since the migration started, all rounds (Xen 3's `total_sent`).
    public var totalPagesSent: Double
    /// Bytes put on the wire since the migration started, headers included.
    public var totalBytesSent: Double
    /// Pages still waiting to be sent in the current round (QEMU's pending estimate).
    public var pendingPageCount: Double
    /// Seconds since the migration started.
    public var elapsedSeconds: Double
    /// Transfer rate measured over the last window of at least 100 ms (QEMU's `BUFFER_DELAY`);
    /// 0 until the first window has closed.
    public var measuredBandwidthBytesPerSecond: Double
    /// What the pause costs besides its pages and its dirty-log read: the engine settings'
    /// `pauseOverheadSeconds` (device state, the destination's load and the ready / cleared
    /// handshake, the unpause there).
    public var pauseOverheadSeconds: Double
    /// Seconds since the dirty log was last read (or since the migration started).
    public var secondsSinceDirtyLogRead: Double
    /// How long the last dirty-log read took (0 before the first).
    public var dirtyLogReadSeconds: Double

    public init(guestPageCount: Double, pageSizeBytes: Int) {
        self.guestPageCount = guestPageCount
        self.pageSizeBytes = pageSizeBytes
        iteration = 0
        dirtyPageCount = nil
        roundPagesSent = 0
        roundPagesSkipped = 0
        totalPagesSent = 0
        totalBytesSent = 0
        pendingPageCount = guestPageCount
        elapsedSeconds = 0
        measuredBandwidthBytesPerSecond = 0
        pauseOverheadSeconds = 0
        secondsSinceDirtyLogRead = 0
        dirtyLogReadSeconds = 0
    }

    /// The part of the pause that is not its pages, as expected now: the overhead plus the last
    /// dirty-log read's time (the final read happens in the pause).
    public var expectedPauseOverheadSeconds: Double { pauseOverheadSeconds + dirtyLogReadSeconds }

    /// Bytes still pending in the current round.
    public var pendingBytes: Double { pendingPageCount * Double(pageSizeBytes) }
}
