/// The books of a pre-copy migration, kept once for every path that migrates: the stats the
/// policy sees (`PrecopyStats`), the rounds for the report (`IterationReport`), the pages
/// dirtied during each live round, and the transfer rate over QEMU's 100 ms windows. The
/// engine's own loop (`SourceMigration`: KVM and the simulator) and libxenguest's loop
/// (`PrecopyCallbackAdvisor`: Xen) both write into one, so a policy sees the same figures
/// whichever loop moves the pages and both reports count the same way (wire bytes with their
/// headers, rounds that sent nothing left out).
public struct RoundLedger: Sendable {
    public let settings: EngineSettings
    public private(set) var stats: PrecopyStats
    /// The rounds closed so far.
    public private(set) var iterations: [IterationReport] = []
    /// When the migration started (the first `start`), in the driver's seconds.
    public private(set) var startSeconds: Double?
    /// The round under way, if any.
    public private(set) var round: Round?
    private var roundsBegun = 0
    /// Index into `iterations` of the last live round, to credit the pages dirtied during it.
    private var lastLiveIterationIndex: Int?
    private var lastDirtyLogReadSeconds: Double?
    private var meter = BandwidthMeter(startSeconds: 0)

    /// A round under way.
    public struct Round: Sendable, Equatable {
        public var index: Int
        /// Seconds from the migration's start.
        public var startSeconds: Double
        public var pagesSent = 0.0
        public var pagesSkipped = 0.0
        public var paused: Bool
        /// Post-copy's round: the guest runs on the destination, the source is paused.
        public var postcopy = false
    }

    public init(guestPageCount: Double, settings: EngineSettings) {
        self.settings = settings
        stats = PrecopyStats(guestPageCount: guestPageCount, pageSizeBytes: settings.pageSizeBytes)
        stats.pauseOverheadSeconds = settings.pauseOverheadSeconds
    }

    /// Notes the time: the first call starts the migration's clock.
    public mutating func tick(now: Double) {
        if startSeconds == nil {
            startSeconds = now
            meter = BandwidthMeter(startSeconds: now)
        }
        stats.elapsedSeconds = now - startSeconds!
    }

    /// Seconds since the migration started (0 before it has).
    public func elapsed(at now: Double) -> Double { now - (startSeconds ?? now) }

    /// Before the first pass every page is dirty and pending (Xen 4 asks its policy so).
    public mutating func announceFullPass() {
        stats.dirtyPageCount = stats.guestPageCount
        stats.pendingPageCount = stats.guestPageCount
    }

    public mutating func beginRound(now: Double, paused: Bool, postcopy: Bool = false) {
        roundsBegun += 1
        round = Round(index: roundsBegun, startSeconds: elapsed(at: now), paused: paused, postcopy: postcopy)
        stats.roundPagesSent = 0
        stats.roundPagesSkipped = 0
    }

    /// A batch the transport took: counted in the round, the totals and the rate meter.
    public mutating func recordSent(pages: Double, wireBytes: Double, now: Double) {
        round?.pagesSent += pages
        stats.totalPagesSent += pages
        stats.totalBytesSent += wireBytes
        meter.record(totalBytes: stats.totalBytesSent, now: now)
        stats.measuredBandwidthBytesPerSecond = meter.bytesPerSecond
    }

    /// Pages the round passed over (dirtied again while it ran).
    public mutating func recordSkipped(pages: Double) {
        round?.pagesSkipped += pages
    }

    /// Bytes that are not pages (the device state) in the total.
    public mutating func recordOtherBytes(_ bytes: Double) {
        stats.totalBytesSent += bytes
    }

    /// The round's figures into the stats, with `pending` pages still to send.
    public mutating func refresh(pending: Double) {
        stats.roundPagesSent = round?.pagesSent ?? 0
        stats.roundPagesSkipped = round?.pagesSkipped ?? 0
        stats.pendingPageCount = pending
    }

    /// Records the round under way (if it sent anything, or if it is the paused one).
    public mutating func closeRound(now: Double, pending: Double) {
        guard let current = round else { return }
        refresh(pending: pending)
        round = nil
        guard current.pagesSent > 0 || current.paused || current.postcopy else { return }
        // Room for a typical migration's rounds at once, not grown append by append.
        if iterations.isEmpty { iterations.reserveCapacity(8) }
        iterations.append(IterationReport(
            index: current.index, pagesSent: wholePages(current.pagesSent),
            pagesSkipped: wholePages(current.pagesSkipped), pagesDirtied: 0,
            startSeconds: current.startSeconds, durationSeconds: elapsed(at: now) - current.startSeconds,
            paused: current.paused))
        if current.postcopy { iterations[iterations.count - 1].postcopy = true }
        if !current.paused && !current.postcopy { lastLiveIterationIndex = iterations.count - 1 }
    }

    /// A live round has ended: one more done, and what it left dirty is not known until the
    /// next read (Xen's `dirty_count = -1`).
    public mutating func countLiveRoundDone() {
        stats.iteration += 1
        stats.dirtyPageCount = nil
    }

    /// A dirty-log read found `dirty` pages (`pending` now to send), started at `readStart`:
    /// credits them to the live round that ran while they were written.
    public mutating func recordDirtyLogRead(dirty: Double, pending: Double, readStart: Double, now: Double) {
        // The last read's time stands for the final one, which happens in the pause.
        stats.dirtyLogReadSeconds = max(0, now - readStart)
        stats.secondsSinceDirtyLogRead = now - (lastDirtyLogReadSeconds ?? startSeconds ?? now)
        lastDirtyLogReadSeconds = now
        if let index = lastLiveIterationIndex {
            iterations[index].pagesDirtied += wholePages(dirty)
            lastLiveIterationIndex = nil
        }
        stats.dirtyPageCount = dirty
        stats.pendingPageCount = pending
    }

    /// The report: the books as they stand, with the outcome and the pause as the caller saw them.
    public func report(outcome: MigrationOutcome, reason: String, policy: String, pausedAt: Double?, now: Double,
                       maxThrottlePercent: Int) -> MigrationReport {
        var report = MigrationReport(
            outcome: outcome, reason: reason, policy: policy, live: settings.live,
            totalTimeSeconds: elapsed(at: now), downtimeSeconds: now - (pausedAt ?? now),
            bytesSent: CheckedConversion.clampedInt(stats.totalBytesSent, to: 0 ... Int.max), pagesSent: wholePages(stats.totalPagesSent),
            guestPages: wholePages(stats.guestPageCount), pageSizeBytes: settings.pageSizeBytes,
            maxThrottlePercent: maxThrottlePercent, iterations: iterations)
        report.pauseOverheadBudgetSeconds = settings.pauseOverheadSeconds
        return report
    }
}
