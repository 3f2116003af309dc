import MigrationCore

/// The dirtying of a guest that nothing describes (a firmware image, a guest that arrived
/// without a workload), for the progress display's first round: until the first dirty-log
/// read measures it, the time left would otherwise have only the pages pending and none of the
/// rounds to come. The first round's log is peeked (not cleared: the engine's read still gets
/// every page) at the progress updates: at first the pace of the writes so far stands in, and
/// once the round has run four times as long as at the first count, that count and the latest
/// are fitted with `DirtyClass.fitted` (a working set and a rate). Called on the migration's own thread, between its actions.
public final class FirstRoundDirtying {
    /// The pages the first round's log holds now, without clearing it; nil if it cannot say.
    private let peekDirtyPages: () -> Int?
    private var early: (seconds: Double, pages: Double)?
    private var fitted: [RemainingMigrationEstimate.DirtyClass] = []
    private var lastPeekSeconds: Double?
    /// The shortest time between two peeks.
    static let peekIntervalSeconds = 1.0

    public init(peekDirtyPages: @escaping () -> Int?) { self.peekDirtyPages = peekDirtyPages }

    /// The dirtying fitted so far; refitted from a peek while `update` is in the first live round.
    public func expectedDirtying(at update: MigrationProgress) -> [RemainingMigrationEstimate.DirtyClass] {
        // A peek copies the whole bitmap (and, without manual dirty-log protection, write-
        // protects the dirty pages again): at most one a second, for a display.
        guard update.iteration == 1, !update.paused, update.roundElapsedSeconds > 0,
              lastPeekSeconds.map({ update.roundElapsedSeconds - $0 >= Self.peekIntervalSeconds }) ?? true,
              let pages = peekDirtyPages() else { return fitted }
        lastPeekSeconds = update.roundElapsedSeconds
        let sample = (seconds: update.roundElapsedSeconds, pages: Double(pages))
        if early == nil, sample.pages > 0 { early = sample }
        if let early, sample.seconds >= 4 * early.seconds {
            // Far enough apart for the ratio of the counts to tell the working set from noise
            // in the guest's pace.
            fitted = RemainingMigrationEstimate.DirtyClass.fitted(early: early, late: sample, guestPages: update.guestPages)
        } else if sample.pages > 0 {
            // Too early to tell a working set: the pace so far, over all of memory.
            fitted = [.init(pages: update.guestPages, writesPerSecond: sample.pages / sample.seconds)]
        }
        return fitted
    }
}
