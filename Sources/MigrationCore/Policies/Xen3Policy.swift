/// Xen 3.x's convergence rule, as `tools/libxc/xc_domain_save.c` (3.2 to 4.0) implements it.
///
/// Facts from that file: `DEF_MAX_ITERS` 29 and `DEF_MAX_FACTOR` 3; `iter` is 1 for the first
/// full pass and the live phase ends after a pass when `iter >= max_iters`, or
/// `sent_this_iter + skip_this_iter < 50`, or `total_sent > p2m_size * max_factor` (the first
/// clause, `RATE_IS_MAX()`, is defined as 0 because `ADAPTIVE_SAVE` is never defined). So at
/// most 29 live passes run (the first full pass included) and the 30th is the paused one.
/// Pages dirtied again during their pass are skipped (the `to_skip` bitmap, peeked before every
/// batch of up to 1024 pages, in the first pass too) and go out in a later pass.
public struct Xen3Policy: PrecopyPolicy {
    /// `DEF_MAX_ITERS`: live passes before the paused one.
    public static let defaultMaxIterations = 29
    /// `DEF_MAX_FACTOR`: stop once more than this many times guest memory has been sent.
    public static let defaultMaxFactor = 3.0
    /// A pass that sent and skipped fewer pages than this ends the live phase.
    public static let convergedPagesPerRound = 50.0

    public var maxIterations: Int
    public var maxFactor: Double

    public init(maxIterations: Int = Xen3Policy.defaultMaxIterations, maxFactor: Double = Xen3Policy.defaultMaxFactor) {
        self.maxIterations = maxIterations
        self.maxFactor = maxFactor
    }

    public var name: String { "xen3" }
    public var skipsPagesDirtiedDuringRound: Bool { true }

    public mutating func afterRound(_ stats: PrecopyStats) -> PrecopyDecision {
        let touched = stats.roundPagesSent + stats.roundPagesSkipped
        if touched < Self.convergedPagesPerRound {
            return .stopAndCopy(.converged(
                "round \(stats.iteration) sent + skipped \(wholePages(touched)) pages < \(Int(Self.convergedPagesPerRound))"))
        }
        if stats.iteration >= maxIterations {
            return .stopAndCopy(.fallback("reached the limit of \(maxIterations) live rounds (Xen 3 DEF_MAX_ITERS)"))
        }
        if stats.totalPagesSent > stats.guestPageCount * maxFactor {
            return .stopAndCopy(.fallback(
                "sent \(wholePages(stats.totalPagesSent)) pages > \(formatFactor(maxFactor)) x guest memory (Xen 3 DEF_MAX_FACTOR)"))
        }
        return .continuePrecopy
    }

    public mutating func afterDirtyLogRead(_ stats: PrecopyStats) -> PrecopyDecision { .continuePrecopy }
}

/// A page count for a sentence or a report: whole pages, rounded; a count is never negative,
/// so NaN and -infinity (which a broken model could produce) give 0, +infinity `Int.max`,
/// instead of trapping.
func wholePages(_ pages: Double) -> Int { CheckedConversion.clampedInt(pages, to: 0 ... Int.max) }

/// A factor for a sentence: "3" rather than "3.0" (whole values beyond 2^53 keep the
/// floating-point spelling, which no integer conversion can trap on).
func formatFactor(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 0x1p53 ? String(Int(value)) : String(value)
}
