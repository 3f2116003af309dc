/// The pause's fixed part as past migrations on the same path measured it: what
/// `EngineSettings.pauseOverheadSeconds` stands for (the device state, the waits on the
/// destination: its load, check and unpause and the round trips), taken from their
/// `pausePhases`. The engine already budgets the final dirty-log read (from the last live
/// read) and the paused pages (from the bandwidth), so those are left out.
public enum MeasuredPauseOverhead {
    /// The most paused pages a run may have carried to count: 256 KiB, whose drain from the
    /// socket (which lands in the wait for "ready") is well under a millisecond at line rate.
    public static let smallPausedRoundPages = 64
    /// The newest runs considered, so that the figure follows the hosts as they change.
    public static let newestRuns = 20
    /// Fewer runs than this give no figure: one odd pause must not set the budget.
    public static let minimumRuns = 3
    /// A figure outside this range is not used (a clock jump, a host under swap).
    public static let plausibleSeconds = 0.0 ... 1.0

    /// The median fixed part of the newest (last in `reports`) completed pauses with a small
    /// paused round, or nil when fewer than `minimumRuns` qualify or the median is implausible.
    public static func seconds(from reports: [MigrationReport]) -> Double? {
        var fixed: [Double] = []
        // A run with `--verify-memory` digested all of memory in its pause, and a post-copy
        // hand-over drops the missing pages and sets the trap in it: neither is a plain pause.
        for report in reports.reversed() where report.outcome != .aborted && report.outcome != .postcopy && report.memoryVerified != true && fixed.count < newestRuns {
            guard let phases = report.pausePhases, let paused = report.iterations.last(where: \.paused),
                  paused.pagesSent <= smallPausedRoundPages else { continue }
            let seconds = phases.deviceStateSeconds + phases.destinationReadySeconds + phases.clearedToRunningSeconds
            if seconds.isFinite { fixed.append(seconds) }
        }
        guard fixed.count >= minimumRuns, let median = Median.of(fixed) else { return nil }
        return plausibleSeconds.contains(median) ? median : nil
    }
}
