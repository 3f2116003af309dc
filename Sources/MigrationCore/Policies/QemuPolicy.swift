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
///
/// livemig budgets the whole pause, not only its pages: the threshold is bandwidth x (limit -
/// the pause's expected overhead), the overhead being the last dirty-log read's time plus the
/// engine's `pauseOverheadSeconds` (device state, the destination's load, the handshake).
///
/// With `shrinksPauseLive` (livemig's default, `policy.shrinkPause`), a migration under the
/// threshold does not stop while another live round would shrink its pause: when, at the
/// guest's dirty rate since the last read, the time to send the pending pages and read the log
/// again would leave at most 3/4 of them dirty, it goes on (and does not sync again before the
/// round ends), until the pages left would take under 1 ms. QEMU itself stops
/// at once, sending everything under the threshold paused: an idle 1 GiB guest with a 300 ms
/// limit paused for 270 ms under QEMU 7.2 here.
///
/// Dirty limit (QEMU 8.1's `dirty-limit` capability, `migration_dirty_limit_guest` and
/// `softmmu/dirtylimit.c`): the same trigger, but instead of one throttle for every vCPU, each
/// vCPU that dirties memory faster than `vcpu-dirty-limit` is slowed toward that rate, adjusted
/// once a period from its measured dirty rate; a vCPU under the limit is not slowed. Auto-converge
/// and dirty limit exclude each other there and here. livemig's KVM guests have one vCPU, so the
/// guest's dirty rate is that vCPU's.
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

    /// QEMU's dirty limit: the dirty rate the guest is slowed toward once triggered.
    public struct DirtyLimit: Sendable, Equatable {
        public var targetPagesPerSecond: Double
        public init(targetPagesPerSecond: Double) { self.targetPagesPerSecond = targetPagesPerSecond }
    }

    /// The most a throttle may take (QEMU's `max-cpu-throttle` default; 100 would stop the guest).
    public static let maxThrottlePercent = 99

    /// A pause whose pages take less than this is not worth another live round.
    public static let negligiblePausePagesSeconds = 0.001
    /// Another live round shrinks the pause when the pages the guest would dirty while it sends
    /// the pending ones and reads the log again are at most this share of them.
    public static let shrinkingDirtyShare = 0.75

    public var downtimeLimitSeconds: Double
    public var autoConverge: AutoConverge?
    public var dirtyLimit: DirtyLimit?
    public var shrinksPauseLive: Bool
    /// Live rounds at most spent shrinking a pause that already fits (each shrinks it by a
    /// quarter or more, so 32 take 300 ms of pages under 1 ms; a bound all the same).
    public static let maxShrinkingRounds = 32
    /// Set when a round goes on to shrink the pause: no mid-round sync until it ends.
    private var finishingRound = false
    private var shrinkingRounds = 0

    public private(set) var guestThrottlePercent = 0
    /// Whether the trigger has fired (the dirty limit acts from then on).
    private var triggered = false
    /// When the dirty log was last read, for the dirty rate of the pages found since.
    private var lastSyncSeconds: Double?
    /// Whether the dirty limit's last adjustment raised the throttle.
    private var dirtyLimitRaisedThrottle = false
    private var dirtyRateHighCount = 0
    private var periodStartSeconds = 0.0
    private var periodStartBytes = 0.0
    private var periodDirtyPages = 0.0

    public init(downtimeLimitSeconds: Double = QemuPolicy.defaultDowntimeLimitSeconds,
                autoConverge: AutoConverge? = nil, dirtyLimit: DirtyLimit? = nil, shrinksPauseLive: Bool = false) {
        precondition(autoConverge == nil || dirtyLimit == nil, "auto-converge and dirty limit exclude each other")
        self.downtimeLimitSeconds = downtimeLimitSeconds
        self.shrinksPauseLive = shrinksPauseLive
        self.autoConverge = autoConverge
        self.dirtyLimit = dirtyLimit
    }

    /// QEMU reads `downtime-limit` afresh at each check (`migrate_downtime_limit()`), so a new one
    /// takes effect at the next batch.
    public mutating func setDowntimeLimit(seconds: Double) -> Bool {
        downtimeLimitSeconds = seconds
        return true
    }

    /// Whether the guest may still be slowed more than now: the offline fallback waits for that.
    public var canSlowGuestFurther: Bool {
        if let autoConverge { return guestThrottlePercent < autoConverge.maxPercent }
        // The dirty limit slows the guest only as far as its target needs: once triggered, it can
        // slow it further only while its last adjustment raised the throttle (a throttle that
        // holds, or a guest under the target, leaves the link as the limit: the fallback may count).
        if dirtyLimit != nil { return !triggered || (dirtyLimitRaisedThrottle && guestThrottlePercent < Self.maxThrottlePercent) }
        return false
    }

    public var name: String { "qemu" }

    /// The bytes that may be left for the paused round: measured bandwidth x what the downtime
    /// limit leaves once the pause's overhead is taken off, but at least half the limit: a limit
    /// the overhead alone breaks cannot be met, and a budget of nothing would never converge.
    public func thresholdBytes(_ stats: PrecopyStats) -> Double {
        stats.measuredBandwidthBytesPerSecond * max(downtimeLimitSeconds - stats.expectedPauseOverheadSeconds, downtimeLimitSeconds / 2)
    }

    public mutating func betweenBatches(_ stats: PrecopyStats) -> BatchCheckpoint {
        guard !finishingRound else { return .keepSending }
        return stats.pendingBytes < thresholdBytes(stats) ? .syncDirtyLogNow : .keepSending
    }

    public mutating func afterRound(_ stats: PrecopyStats) -> PrecopyDecision {
        finishingRound = false
        return .continuePrecopy
    }

    /// Whether another live round would shrink the pause (see the type's comment).
    private func anotherRoundShrinksPause(_ stats: PrecopyStats) -> Bool {
        let bandwidth = stats.measuredBandwidthBytesPerSecond
        guard shrinksPauseLive, let dirty = stats.dirtyPageCount, stats.iteration > 0,
              stats.secondsSinceDirtyLogRead > 0, bandwidth > 0 else { return false }
        let dirtyPagesPerSecond = dirty / stats.secondsSinceDirtyLogRead
        // The next round sends the pending pages and reads the log again: what the guest
        // dirties meanwhile is what the pause would then hold.
        let roundSeconds = stats.pendingBytes / bandwidth + stats.dirtyLogReadSeconds
        // Whole pages only: the fluid model's expected counts go below one page, which no
        // round can shrink further.
        return stats.pendingPageCount >= 1 && shrinkingRounds < Self.maxShrinkingRounds
            && stats.pendingBytes / bandwidth > Self.negligiblePausePagesSeconds
            && dirtyPagesPerSecond * roundSeconds <= Self.shrinkingDirtyShare * stats.pendingPageCount
    }

    public mutating func afterDirtyLogRead(_ stats: PrecopyStats) -> PrecopyDecision {
        updateAutoConverge(stats)
        updateDirtyLimit(stats)
        finishingRound = false
        let threshold = thresholdBytes(stats)
        guard stats.pendingPageCount == 0 || stats.pendingBytes < threshold else { return .continuePrecopy }
        if stats.pendingPageCount > 0 && anotherRoundShrinksPause(stats) {
            finishingRound = true
            shrinkingRounds += 1
            return .continuePrecopy
        }
        return .stopAndCopy(.converged(
            "pending \(CheckedConversion.clampedInt(stats.pendingBytes, to: 0 ... Int.max)) bytes < bandwidth x the downtime limit less the pause overhead of \(CheckedConversion.clampedInt((stats.expectedPauseOverheadSeconds * 1e6).rounded(), to: 0 ... Int.max)) µs (at least half the limit) = \(CheckedConversion.clampedInt(threshold, to: 0 ... Int.max)) bytes"))
    }

    /// QEMU's `migration_trigger_throttle`: at a sync at least a period after the last one
    /// began, a period whose dirtied bytes exceeded the threshold share of the bytes sent counts;
    /// the second in a row fires (and the count starts again). Shared by auto-converge and the
    /// dirty limit.
    private mutating func triggerFires(_ stats: PrecopyStats) -> Bool {
        // The engine's consultation before the first pass (every page "dirty") is no sync.
        guard autoConverge != nil || dirtyLimit != nil, stats.iteration > 0 else { return false }
        let settings = autoConverge ?? AutoConverge()
        periodDirtyPages += stats.dirtyPageCount ?? 0
        guard stats.elapsedSeconds > periodStartSeconds + settings.periodSeconds else { return false }
        let transferredBytes = stats.totalBytesSent - periodStartBytes
        let dirtiedBytes = periodDirtyPages * Double(stats.pageSizeBytes)
        periodStartSeconds = stats.elapsedSeconds
        periodStartBytes = stats.totalBytesSent
        periodDirtyPages = 0
        guard dirtiedBytes > transferredBytes * settings.triggerThresholdPercent / 100 else { return false }
        dirtyRateHighCount += 1
        guard dirtyRateHighCount >= 2 else { return false }
        dirtyRateHighCount = 0
        return true
    }

    private mutating func updateAutoConverge(_ stats: PrecopyStats) {
        guard let settings = autoConverge, triggerFires(stats) else { return }
        guestThrottlePercent = guestThrottlePercent == 0
            ? settings.initialPercent
            : min(guestThrottlePercent + settings.incrementPercent, settings.maxPercent)
    }

    /// Once triggered, at every dirty-log read: the guest's dirty rate since the last read, and
    /// the throttle that brings it to the target, taking the current throttle into account
    /// (the guest would dirty rate / (1 - throttle) unthrottled). A guest already under the
    /// target is not slowed.
    private mutating func updateDirtyLimit(_ stats: PrecopyStats) {
        guard let limit = dirtyLimit else { return }
        defer { lastSyncSeconds = stats.elapsedSeconds }
        if !triggered { triggered = triggerFires(stats) }
        guard triggered, let dirty = stats.dirtyPageCount, let last = lastSyncSeconds,
              stats.elapsedSeconds > last else { return }
        let dirtyPagesPerSecond = dirty / (stats.elapsedSeconds - last)
        let running = 1 - Double(guestThrottlePercent) / 100
        let unthrottled = dirtyPagesPerSecond / running
        let before = guestThrottlePercent
        defer { dirtyLimitRaisedThrottle = guestThrottlePercent > before }
        guard unthrottled > limit.targetPagesPerSecond else {
            guestThrottlePercent = 0
            return
        }
        let wanted = 100 * (1 - limit.targetPagesPerSecond / unthrottled)
        guestThrottlePercent = CheckedConversion.clampedInt(wanted.rounded(.up), to: 0 ... Self.maxThrottlePercent)
    }
}
