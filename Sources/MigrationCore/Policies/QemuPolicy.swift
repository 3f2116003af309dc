/// QEMU's convergence rule (`migration/migration.c`, `migration/ram.c`).
///
/// Facts from those files: pre-copy completes when the pending bytes fall under
/// `threshold_size = bandwidth x downtime-limit` (default `downtime-limit` 300 ms), the
/// bandwidth measured over windows of at least `BUFFER_DELAY` (100 ms); when the pending
/// estimate falls under the threshold QEMU syncs the dirty bitmap and checks again with the
/// exact count. Auto-converge (`migration_trigger_throttle`, `mig_throttle_guest_down`): at a
/// bitmap sync at least 1 s after the last period began, if the bytes dirtied in the period
/// exceed `throttle-trigger-threshold` (50 %) of the bytes transferred, a counter goes up; at 2
/// it resets and the guest is throttled: `cpu-throttle-initial` (20 %) the first time, then
/// `+cpu-throttle-increment` (10 %) up to `max-cpu-throttle` (99 %).
public struct QemuPolicy: PrecopyPolicy {
    public static let defaultDowntimeLimitSeconds = 0.3

    /// QEMU's auto-converge parameters.
    public struct AutoConverge: Sendable, Equatable {
        public var initialPercent = 20
        public var incrementPercent = 10
        public var maxPercent = 99
        public var triggerThresholdPercent = 50.0
        /// Length of the period over which dirtied and transferred bytes are compared.
        public var periodSeconds = 1.0
        public init() {}
    }

    public var downtimeLimitSeconds: Double
    public var autoConverge: AutoConverge?

    public private(set) var guestThrottlePercent = 0
    private var dirtyRateHighCount = 0
    private var periodStartSeconds = 0.0
    private var periodStartBytes = 0.0
    private var periodDirtyPages = 0.0

    public init(downtimeLimitSeconds: Double = QemuPolicy.defaultDowntimeLimitSeconds,
                autoConverge: AutoConverge? = nil) {
        self.downtimeLimitSeconds = downtimeLimitSeconds
        self.autoConverge = autoConverge
    }

    public var name: String { "qemu" }

    /// The bytes that may be left for the paused round: measured bandwidth x downtime limit.
    public func thresholdBytes(_ stats: PrecopyStats) -> Double {
        stats.measuredBandwidthBytesPerSecond * downtimeLimitSeconds
    }

    public mutating func betweenBatches(_ stats: PrecopyStats) -> BatchCheckpoint {
        stats.pendingBytes < thresholdBytes(stats) ? .syncDirtyLogNow : .keepSending
    }

    public mutating func afterRound(_ stats: PrecopyStats) -> PrecopyDecision { .continuePrecopy }

    public mutating func afterDirtyLogRead(_ stats: PrecopyStats) -> PrecopyDecision {
        updateAutoConverge(stats)
        let threshold = thresholdBytes(stats)
        if stats.pendingPageCount == 0 || stats.pendingBytes < threshold {
            return .stopAndCopy(.converged(
                "pending \(CheckedConversion.clampedInt(stats.pendingBytes, to: 0 ... Int.max)) bytes < bandwidth x downtime limit = \(CheckedConversion.clampedInt(threshold, to: 0 ... Int.max)) bytes"))
        }
        return .continuePrecopy
    }

    private mutating func updateAutoConverge(_ stats: PrecopyStats) {
        // The engine's consultation before the first pass (every page "dirty") is no sync.
        guard let settings = autoConverge, stats.iteration > 0 else { return }
        periodDirtyPages += stats.dirtyPageCount ?? 0
        guard stats.elapsedSeconds > periodStartSeconds + settings.periodSeconds else { return }
        let transferredBytes = stats.totalBytesSent - periodStartBytes
        let dirtiedBytes = periodDirtyPages * Double(stats.pageSizeBytes)
        if dirtiedBytes > transferredBytes * settings.triggerThresholdPercent / 100 {
            dirtyRateHighCount += 1
            if dirtyRateHighCount >= 2 {
                dirtyRateHighCount = 0
                guestThrottlePercent = guestThrottlePercent == 0
                    ? settings.initialPercent
                    : min(guestThrottlePercent + settings.incrementPercent, settings.maxPercent)
            }
        }
        periodStartSeconds = stats.elapsedSeconds
        periodStartBytes = stats.totalBytesSent
        periodDirtyPages = 0
    }
}
