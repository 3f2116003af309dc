/// Xen 4.6+'s `simple_precopy_policy` in `tools/libs/guest/xg_sr_save.c`, consulted the way
/// `send_memory_live` consults it.
///
/// Facts from that file: `SPP_MAX_ITERATIONS` 5, `SPP_TARGET_DIRTY_COUNT` 50; the policy says
/// stop-and-copy when `dirty_count >= 0 && dirty_count < 50` or `iteration >= 5`. The loop
/// calls it twice per pass: at the top with the dirty count of the last CLEAN (and still sends
/// those dirty pages live, once, before it breaks on stop-and-copy), and after sending with
/// `dirty_count = -1`, where only the iteration limit can stop it (without another send). So at
/// most 5 live passes run, the first full pass included.
public struct Xen4Policy: PrecopyPolicy {
    public static let defaultMaxIterations = 5
    public static let defaultTargetDirtyCount = 50.0

    public var maxIterations: Int
    public var targetDirtyCount: Double

    public init(maxIterations: Int = Xen4Policy.defaultMaxIterations,
                targetDirtyCount: Double = Xen4Policy.defaultTargetDirtyCount) {
        self.maxIterations = maxIterations
        self.targetDirtyCount = targetDirtyCount
    }

    public var name: String { "xen4" }

    public mutating func afterRound(_ stats: PrecopyStats) -> PrecopyDecision {
        if stats.iteration >= maxIterations {
            return .stopAndCopy(.fallback(
                "reached the limit of \(maxIterations) live iterations (Xen 4 SPP_MAX_ITERATIONS)"))
        }
        return .continuePrecopy
    }

    public mutating func afterDirtyLogRead(_ stats: PrecopyStats) -> PrecopyDecision {
        if let dirty = stats.dirtyPageCount, dirty < targetDirtyCount {
            return .stopAndCopy(.converged(
                "dirty count \(wholePages(dirty)) < \(wholePages(targetDirtyCount)) pages (Xen 4 SPP_TARGET_DIRTY_COUNT)",
                sendDirtyPagesLiveFirst: true))
        }
        return .continuePrecopy
    }
}
