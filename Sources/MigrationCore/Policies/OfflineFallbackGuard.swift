/// The seed document's offline fallback, made explicit: "if the guest cannot converge (its load
/// is too high), it is paused and an offline migration is done instead".
///
/// Wraps any policy. After each dirty-log read the guard compares the pages dirtied during the
/// round with the pages the round sent: when the guest dirtied at least `dirtyRatio` times as
/// many pages as the link carried (the dirty rate keeps up with the transfer rate) for `rounds`
/// rounds in a row, it pauses the guest at once instead of spending more rounds. Rounds in which
/// the base policy can still slow the guest (auto-converge, dirty limit) do not count.
public struct OfflineFallbackGuard: PrecopyPolicy {
    public var base: any PrecopyPolicy
    /// Consecutive non-converging rounds before falling back (at least 1).
    public var rounds: Int
    /// A round does not converge when pages dirtied >= `dirtyRatio` x pages sent.
    public var dirtyRatio: Double
    private var streak = 0

    public init(base: any PrecopyPolicy, rounds: Int, dirtyRatio: Double = 0.9) {
        precondition(rounds >= 1, "the offline fallback needs at least one round")
        self.base = base
        self.rounds = rounds
        self.dirtyRatio = dirtyRatio
    }

    public var name: String { base.name }
    public var skipsPagesDirtiedDuringRound: Bool { base.skipsPagesDirtiedDuringRound }
    public var guestThrottlePercent: Int { base.guestThrottlePercent }
    public var canSlowGuestFurther: Bool { base.canSlowGuestFurther }

    public mutating func betweenBatches(_ stats: PrecopyStats) -> BatchCheckpoint { base.betweenBatches(stats) }
    public mutating func afterRound(_ stats: PrecopyStats) -> PrecopyDecision { base.afterRound(stats) }
    public mutating func setDowntimeLimit(seconds: Double) -> Bool { base.setDowntimeLimit(seconds: seconds) }

    public mutating func afterDirtyLogRead(_ stats: PrecopyStats) -> PrecopyDecision {
        // Whether the round just read ran with room left to slow the guest (asked before the
        // base may raise its throttle for the next round).
        let couldSlowGuest = base.canSlowGuestFurther
        let decision = base.afterDirtyLogRead(stats)
        guard case .continuePrecopy = decision, let dirty = stats.dirtyPageCount, stats.iteration >= 1 else {
            return decision
        }
        // Until a transfer rate has been measured (the 100 ms meter's first window), rounds are
        // too short to say whether the link or the supply of pages bounded them: a fresh
        // guest's first pass, mostly zero pages, takes milliseconds, and the rounds after it
        // send a handful of pages each. They neither count nor break a streak.
        guard stats.measuredBandwidthBytesPerSecond > 0 else { return decision }
        let sent = stats.roundPagesSent
        // While the base policy can still slow the guest (QEMU's auto-converge below its
        // maximum), non-converging rounds are what it acts on, not a reason to give up.
        streak = (sent > 0 && dirty >= dirtyRatio * sent && !couldSlowGuest) ? streak + 1 : 0
        if streak >= rounds {
            return .stopAndCopy(.fallback(
                "cannot converge: dirtied \(wholePages(dirty)) pages while sending \(wholePages(sent)) in round \(stats.iteration), \(rounds) round(s) in a row (dirty rate >= \(formatFactor(dirtyRatio)) x transfer rate)"))
        }
        return decision
    }
}
