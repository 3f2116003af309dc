/// Which guest pages a migration still has to send, and how a dirty log changes that.
///
/// The engine is generic over this so that one state machine drives both the exact, page-level
/// bitmaps the real executors and the page-level simulator use (`BitmapPageTracker`) and the
/// fluid simulator's expected counts. Counts are `Double` for the fluid case.
public protocol PageTracking {
    /// What one read of the hypervisor's dirty log delivers.
    associatedtype DirtyLog
    /// What one copy action carries to the driver.
    associatedtype Batch

    /// Pages of guest memory.
    var guestPageCount: Double { get }
    /// Pages still to send in the current round.
    var pendingPageCount: Double { get }

    /// Marks every guest page pending: the first full pass (or an offline copy).
    mutating func beginFullPass()
    /// Adds the pages of a read-and-cleared dirty log to the pending set (a union: pages still
    /// pending stay pending) and returns how many pages the log held.
    mutating func mergeDirtyLog(_ log: DirtyLog) -> Double
    /// Takes the next batch: up to `maxPages` pending pages to send, in page order. Pending pages
    /// also set in `peek` are passed over (no longer pending this round) and counted as skipped;
    /// they are dirty, so the next dirty-log read brings them back.
    mutating func takeBatch(maxPages: Int, skippingPagesDirtyIn peek: DirtyLog?) -> TakenBatch<Batch>
    /// Post-copy: the pages pending now, as one batch naming them all, without taking them (what
    /// the destination lacks at the hand-over, `SourceAction.startPostcopy`).
    func pendingPagesBatch() -> Batch
    /// Post-copy: takes up to `maxPages` of the requested pages that are still pending, ahead of
    /// page order; requested pages no longer pending (sent already) are passed over and not
    /// counted as skipped.
    mutating func takeRequested(_ request: PageRequest, maxPages: Int) -> TakenBatch<Batch>
    /// Post-copy, for the simulator's destination: of the pages `touched` holds, those still
    /// pending here (what the destination's guest faults on).
    func pendingPages(among touched: DirtyLog) -> PageRequest
}

/// One batch taken from a `PageTracking`.
public struct TakenBatch<Batch> {
    public var batch: Batch
    public var pagesSent: Double
    public var pagesSkipped: Double

    public init(batch: Batch, pagesSent: Double, pagesSkipped: Double) {
        self.batch = batch
        self.pagesSent = pagesSent
        self.pagesSkipped = pagesSkipped
    }
}
