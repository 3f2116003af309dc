/// A convergence heuristic: decides, from a `PrecopyStats` snapshot, when pre-copy stops.
///
/// The engine consults a policy at three points, which between them cover where Xen 3
/// (`xc_domain_save.c`), Xen 4 (`send_memory_live` in `xg_sr_save.c`) and QEMU
/// (`migration_iteration_run` in `migration/migration.c`) consult theirs:
/// 1. `betweenBatches` before each batch of a live round;
/// 2. `afterRound` when a live round has sent its last page, before the dirty log is read
///    (`dirtyPageCount == nil`, Xen 4's second call with `dirty_count = -1`);
/// 3. `afterDirtyLogRead` once the dirty log has been read and cleared (`dirtyPageCount` set).
///
/// Policies are values; the state some of them keep (QEMU's throttle) lives in the value.
public protocol PrecopyPolicy: Sendable {
    /// The policy's name as scenarios and reports spell it.
    var name: String { get }
    /// Whether pages dirtied again while their round runs are passed over and sent later
    /// (Xen 3's `to_skip` bitmap, peeked before each batch). Read once, when the engine starts:
    /// it says how the policy works, not how the migration goes.
    var skipsPagesDirtiedDuringRound: Bool { get }
    /// The guest CPU throttle the policy wants now, in percent (0: none; QEMU auto-converge).
    /// Read after each of the three consultations below, so it may change only in them (a
    /// policy is a value: only its mutating calls change it).
    var guestThrottlePercent: Int { get }
    /// Whether the policy may still slow the guest more than it does now (auto-converge below
    /// its maximum, a dirty limit not yet at its own): the offline fallback waits while it can.
    var canSlowGuestFurther: Bool { get }

    mutating func betweenBatches(_ stats: PrecopyStats) -> BatchCheckpoint
    mutating func afterRound(_ stats: PrecopyStats) -> PrecopyDecision
    mutating func afterDirtyLogRead(_ stats: PrecopyStats) -> PrecopyDecision
    /// Takes a new downtime limit mid-flight (`SourceEvent.setDowntimeLimit`, QEMU's
    /// `migrate-set-parameters downtime-limit`); false when the policy has none (Xen's count
    /// thresholds), which leaves it unchanged. `seconds` is already range-checked.
    mutating func setDowntimeLimit(seconds: Double) -> Bool
}

extension PrecopyPolicy {
    public var skipsPagesDirtiedDuringRound: Bool { false }
    public var guestThrottlePercent: Int { 0 }
    public var canSlowGuestFurther: Bool { false }
    public mutating func betweenBatches(_ stats: PrecopyStats) -> BatchCheckpoint { .keepSending }
    public mutating func setDowntimeLimit(seconds: Double) -> Bool { false }
}
