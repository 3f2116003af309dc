import MigrationCore

/// What past real migrations say about the path and the host, for a scenario: the rate the
/// live passes achieved without a cap (the link's own), the share of the cap they achieved
/// with one (`link.efficiency`), and the pause's fixed part (the downtime the paused pages do
/// not account for: pausing, the final dirty-log read, the device state, the handshake,
/// resuming there). Medians, so that one odd run does not move them.
public struct HistoryFit: Sendable, Equatable {
    /// One past migration: its report and the cap it ran under.
    public struct Run: Sendable {
        public var report: MigrationReport
        public var rateLimitBytesPerSecond: Double?
        /// The cap or the downtime limit changed mid-flight (`livemig job --set`): the run
        /// says nothing about the link's rate or the cap's efficiency.
        public var steeredMidFlight = false
        public init(report: MigrationReport, rateLimitBytesPerSecond: Double?, steeredMidFlight: Bool = false) {
            self.steeredMidFlight = steeredMidFlight
            self.report = report
            self.rateLimitBytesPerSecond = rateLimitBytesPerSecond
        }
    }

    /// Median bytes per second of the uncapped runs' live passes, and how many runs.
    public var uncappedBytesPerSecond: Double?
    public var uncappedRuns: Int
    /// The standard deviation of those rates (two runs or more): how much the path's rate moves
    /// from one migration to the next (±17 % for 0.2 s migrations over loopback here).
    public var uncappedSpreadBytesPerSecond: Double?
    /// Median of achieved / cap over the capped runs, and how many runs.
    public var capEfficiency: Double?
    public var cappedRuns: Int
    /// Median seconds of the pause not spent on the paused pages, over the runs with a small
    /// paused round when there are any (else over all), and how many runs.
    public var pauseOverheadSeconds: Double?
    public var pausedRuns: Int

    /// The fit without what it says of the link (the rates, their spread, the cap's share),
    /// keeping the host's pause: for a path these runs did not take.
    public var withoutLink: HistoryFit {
        var fit = self
        fit.uncappedBytesPerSecond = nil
        fit.uncappedSpreadBytesPerSecond = nil
        fit.uncappedRuns = 0
        fit.capEfficiency = nil
        fit.cappedRuns = 0
        return fit
    }

    /// The most paused pages a run may have carried for its pause's fixed part to be fitted
    /// from it, when there are such runs: 256 KiB, well under a millisecond of drain.
    public static let smallPausedRoundPages = MeasuredPauseOverhead.smallPausedRoundPages

    /// Fits the runs that completed (an aborted run's passes may have been cut short).
    public init(_ runs: [Run]) {
        var uncapped: [Double] = []
        var efficiencies: [Double] = []
        var overheads: [(seconds: Double, pausedPages: Int)] = []
        for run in runs where run.report.outcome != .aborted {
            guard let achieved = Self.liveBytesPerSecond(run.report) else { continue }
            if !run.steeredMidFlight, !Self.mostlyZeroPages(run.report) {
                if let cap = run.rateLimitBytesPerSecond, cap > 0 {
                    efficiencies.append(min(achieved / cap, 1))
                } else {
                    uncapped.append(achieved)
                }
            }
            // A post-copy hand-over's pause is not a plain pause (it sets the destination's trap).
            guard run.report.outcome != .postcopy, let paused = run.report.iterations.last(where: \.paused),
                  run.report.downtimeSeconds > 0 else { continue }
            if let phases = run.report.pausePhases {
                // The report says how long the paused pages took to hand over: the rest is fixed
                // (but for their drain from the socket, which a small paused round keeps small).
                overheads.append((max(0, run.report.downtimeSeconds - phases.finalPagesSeconds), paused.pagesSent))
            } else {
                // A report without phases (a Xen domain's, or an older one): the paused pages at
                // the rate the live passes achieved, as those streams pace their paused round.
                let pagesSeconds = Double(paused.pagesSent) * Double(run.report.pageSizeBytes) / achieved
                overheads.append((max(0, run.report.downtimeSeconds - pagesSeconds), paused.pagesSent))
            }
        }
        uncappedBytesPerSecond = Median.of(uncapped)
        uncappedRuns = uncapped.count
        uncappedSpreadBytesPerSecond = Self.standardDeviation(uncapped)
        capEfficiency = Median.of(efficiencies)
        cappedRuns = efficiencies.count
        // The fixed part is seen cleanest where the paused round was small: a large one's
        // drain from the socket (at line rate) lands in the wait for "ready" and would count.
        let small = overheads.filter { $0.pausedPages <= Self.smallPausedRoundPages }
        let clean = small.isEmpty ? overheads : small
        pauseOverheadSeconds = Median.of(clean.map(\.seconds))
        pausedRuns = clean.count
    }

    /// A run whose pages went as zero-page markers for more than this share of them was bound
    /// by reading the guest's memory, not by the link or the cap: it says nothing of either.
    public static let maxZeroPageShareForLinkFit = 0.1

    static func mostlyZeroPages(_ report: MigrationReport) -> Bool {
        guard let zero = report.zeroPagesSent, report.pagesSent > 0 else { return false }
        return Double(zero) > maxZeroPageShareForLinkFit * Double(report.pagesSent)
    }

    /// Page bytes over the summed durations of the live passes; nil without one that took time.
    /// Zero pages went as 8-byte markers, not as pages (a live migration sends them in its live
    /// passes, the first pass holding nearly all), so their data is left out: counting it
    /// would make the link look as many times faster as the guest's memory is empty.
    public static func liveBytesPerSecond(_ report: MigrationReport) -> Double? {
        // Post-copy's round is not live (the guest runs on the destination, and the round goes
        // uncapped at the rate the destination places pages): left out.
        let live = report.iterations.filter { !$0.paused && $0.postcopy != true && $0.durationSeconds > 0 }
        let seconds = live.reduce(0) { $0 + $1.durationSeconds }
        guard seconds > 0 else { return nil }
        let pages = live.reduce(0) { $0 + $1.pagesSent } - (report.zeroPagesSent ?? 0)
        let bytes = Double(pages) * Double(report.pageSizeBytes)
        return bytes > 0 ? bytes / seconds : nil
    }

    static func standardDeviation(_ values: [Double]) -> Double? {
        guard values.count >= 2 else { return nil }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
    }
}
