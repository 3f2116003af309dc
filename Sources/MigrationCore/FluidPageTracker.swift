/// The fluid simulator's page tracker lives in the core, next to `BitmapPageTracker`, so that
/// the engine can be specialized for it (`SourceMigration`'s `@specialized`): unspecialized
/// generic code across the module boundary cost more than the model itself.

/// The fluid model's dirty log: expected dirty pages per region.
public struct FluidDirtyLog: Sendable, Equatable {
    public var dirtyPages: [Double]
    public init(dirtyPages: [Double]) { self.dirtyPages = dirtyPages }
    public var total: Double { dirtyPages.reduce(0, +) }
}

/// The fluid model's `PageTracking`: expected pending pages per region. A batch takes pending
/// pages from every region in proportion; with a peek, the share of each region that is dirty
/// now is skipped (Poisson writes are memoryless, so a pending page is as likely to be dirty as
/// any other page of its region). Batches are coarse (a round in `segmentsPerRound` pieces, at
/// least `maxPages`), which is what makes the model fast.
public struct FluidPageTracker: PageTracking {
    public typealias DirtyLog = FluidDirtyLog
    /// Expected pages sent.
    public typealias Batch = Double

    let regionPages: [Double]
    private var pending: [Double]
    private var batchPages: Double = 0
    public let segmentsPerRound: Double
    /// Whether a round's last segment is sent in halves down to `maxPages`: for policies that
    /// decide between batches on the pages pending (QEMU's sync when they fall under its
    /// threshold), which 16 coarse steps would jump over where page-level batches do not.
    public let refinesRoundEnds: Bool

    public init(regionPages: [Double], segmentsPerRound: Double = 16, refinesRoundEnds: Bool = false) {
        self.regionPages = regionPages
        pending = [Double](repeating: 0, count: regionPages.count)
        self.segmentsPerRound = segmentsPerRound
        self.refinesRoundEnds = refinesRoundEnds
    }

    public var guestPageCount: Double { regionPages.reduce(0, +) }
    public var pendingPageCount: Double { pending.reduce(0, +) }

    public mutating func beginFullPass() {
        pending = regionPages
        batchPages = guestPageCount / segmentsPerRound
    }

    public mutating func mergeDirtyLog(_ log: FluidDirtyLog) -> Double {
        for index in pending.indices where regionPages[index] > 0 {
            let dirty = log.dirtyPages[index]
            pending[index] += dirty - pending[index] * dirty / regionPages[index]
        }
        batchPages = pendingPageCount / segmentsPerRound
        return log.total
    }

    public mutating func takeBatch(maxPages: Int, skippingPagesDirtyIn peek: FluidDirtyLog?) -> TakenBatch<Double> {
        let total = pendingPageCount
        guard total > 0 else { return TakenBatch(batch: 0, pagesSent: 0, pagesSkipped: 0) }
        var target = max(Double(maxPages), batchPages)
        if refinesRoundEnds, total <= 2 * target { target = max(Double(maxPages), total / 2) }
        // Share of the pending pages that would be sent rather than skipped.
        var sendableShare = 1.0
        if let peek {
            sendableShare = 0
            for index in pending.indices where regionPages[index] > 0 {
                sendableShare += pending[index] / total * (1 - peek.dirtyPages[index] / regionPages[index])
            }
        }
        let candidates = sendableShare > 0 ? min(total, target / sendableShare) : total
        let fraction = candidates / total
        var sent = 0.0
        var skipped = 0.0
        for index in pending.indices {
            let taken = pending[index] * fraction
            let dirtyShare = peek.map { regionPages[index] > 0 ? $0.dirtyPages[index] / regionPages[index] : 0 } ?? 0
            sent += taken * (1 - dirtyShare)
            skipped += taken * dirtyShare
            pending[index] -= taken
        }
        if fraction >= 1 { for index in pending.indices { pending[index] = 0 } }
        return TakenBatch(batch: sent, pagesSent: sent, pagesSkipped: skipped)
    }
}
