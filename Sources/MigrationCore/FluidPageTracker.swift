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
///
/// A sweep's region (`sweepRegions`) is not memoryless: its writer goes round it in order, so
/// the pages it dirties next are the ones it wrote longest ago, which the rounds since have
/// most likely sent, while the pages still pending are the ones it wrote last. Its new dirty
/// pages meet the pending ones only where they must, when together they are more than the
/// region; the page-level model shows the same (under QEMU's rule its sweep's pending pages add
/// up sync after sync, where a Poisson overlap took 4 000 of 29 700 off, and the fluid model
/// ran 7 rounds to page level's 11).
public struct FluidPageTracker: PageTracking {
    public typealias DirtyLog = FluidDirtyLog
    /// Expected pages sent.
    public typealias Batch = Double

    let regionPages: [Double]
    /// Per region: written in order by a sweep (see above), not at random; nil when none is
    /// (the common case, which then costs nothing).
    let sweepRegions: [Bool]?
    private var pending: [Double]
    private var batchPages: Double = 0
    public let segmentsPerRound: Double
    /// Whether a round's last segment is sent in halves down to `maxPages`: for policies that
    /// decide between batches on the pages pending (QEMU's sync when they fall under its
    /// threshold), which 16 coarse steps would jump over where page-level batches do not.
    public let refinesRoundEnds: Bool

    public init(regionPages: [Double], sweepRegions: [Bool]? = nil, segmentsPerRound: Double = 16, refinesRoundEnds: Bool = false) {
        self.regionPages = regionPages
        precondition(sweepRegions == nil || sweepRegions?.count == regionPages.count, "one sweep flag per region")
        self.sweepRegions = sweepRegions
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
            pending[index] = merged(pending[index], dirty: log.dirtyPages[index], region: index)
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
                sendableShare += pending[index] / total * (1 - dirtyShare(of: index, peek: peek))
            }
        }
        let candidates = sendableShare > 0 ? min(total, target / sendableShare) : total
        let fraction = candidates / total
        var sent = 0.0
        var skipped = 0.0
        for index in pending.indices {
            let taken = pending[index] * fraction
            let dirtyShare = peek.map { self.dirtyShare(of: index, peek: $0) } ?? 0
            sent += taken * (1 - dirtyShare)
            skipped += taken * dirtyShare
            pending[index] -= taken
        }
        if fraction >= 1 { for index in pending.indices { pending[index] = 0 } }
        return TakenBatch(batch: sent, pagesSent: sent, pagesSkipped: skipped)
    }

    public func pendingPagesBatch() -> Double { pendingPageCount }

    /// The fluid model knows no page by number: a request takes its count of pending pages from
    /// every region in proportion (a guest's faults fall where its pages are missing, which is
    /// where the pending pages are).
    public mutating func takeRequested(_ request: PageRequest, maxPages: Int) -> TakenBatch<Double> {
        let total = pendingPageCount
        let wanted = min(request.count, Double(maxPages), total)
        guard wanted > 0, total > 0 else { return TakenBatch(batch: 0, pagesSent: 0, pagesSkipped: 0) }
        let fraction = wanted / total
        for index in pending.indices { pending[index] -= pending[index] * fraction }
        if fraction >= 1 { for index in pending.indices { pending[index] = 0 } }
        return TakenBatch(batch: wanted, pagesSent: wanted, pagesSkipped: 0)
    }

    /// A region's touched pages fall on its pending ones in proportion.
    public func pendingPages(among touched: FluidDirtyLog) -> PageRequest {
        var count = 0.0
        for index in pending.indices where regionPages[index] > 0 {
            count += touched.dirtyPages[index] * pending[index] / regionPages[index]
        }
        return PageRequest(count: count)
    }

    /// Region `index`'s pending pages once `dirty` more are logged: a random writer's fall on
    /// pending pages in proportion (`pending x dirty / region` of them); a sweep's only where
    /// the two cannot both fit in the region.
    @inline(__always)
    private func merged(_ pending: Double, dirty: Double, region index: Int) -> Double {
        if let sweeps = sweepRegions, sweeps[index] { return min(regionPages[index], pending + dirty) }
        return pending + dirty - pending * dirty / regionPages[index]
    }

    /// The share of region `index`'s pending pages that `peek` finds dirty now: a random
    /// writer's dirty share of its region; none of a sweep's. The page-level sweep writes its
    /// frames in the order the sender sends them, so what it dirtied since the round began lies
    /// behind it, where a sender that starts each round at the region and outruns it (as it
    /// must for the migration to converge) has been already. A sweep about as fast as the link
    /// catches the sender up there, which this does not follow: such a migration falls back in
    /// both models, the fluid one some seconds later (FidelityAgreementTests).
    @inline(__always)
    private func dirtyShare(of index: Int, peek: FluidDirtyLog) -> Double {
        let region = regionPages[index]
        guard region > 0 else { return 0 }
        if let sweeps = sweepRegions, sweeps[index] { return 0 }
        return peek.dirtyPages[index] / region
    }
}
