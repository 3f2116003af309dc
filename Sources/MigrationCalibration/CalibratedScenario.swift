import Foundation
import MigrationCore
import MigrationSimulation

/// Writes a fitted model as a scenario file (docs/scenario-format.md), each value with a
/// comment saying where it came from: fitted from the observation, given on the command line,
/// or a default that nothing here measured. `simulate`, `sweep` and `tune` read it as they read
/// any scenario; a rate that varied during the observation is written as a normal distribution
/// with the spread seen, so a sweep's Monte Carlo runs draw from it.
public struct CalibratedScenario: Sendable {
    /// Where a value of the scenario came from, for its comment.
    public struct Provenance: Sendable {
        /// What was run, as a user would type it (`livemig calibrate web1 --seconds 10`).
        public var command: String
        /// When, as text (UTC, ISO 8601).
        public var timestamp: String
        /// The link's bandwidth as written, in bytes per second, and where it came from, if
        /// anything gave it.
        public var linkBandwidth: (text: String, bytesPerSecond: Double, source: String)?
        public var policy: String

        public init(command: String, timestamp: String, linkBandwidth: (text: String, bytesPerSecond: Double, source: String)?,
                    policy: String) {
            self.command = command
            self.timestamp = timestamp
            self.linkBandwidth = linkBandwidth
            self.policy = policy
        }
    }

    public var name: String
    public var fit: WriteModelFit
    public var guestMemoryBytes: Int
    public var pageSizeBytes: Int
    public var provenance: Provenance
    /// What past migrations said about the link and the host (`calibrate --from-history`).
    public var history: HistoryFit?
    /// This host's costs, measured on the guest.
    public var measuredCosts: MeasuredHostCosts?
    /// The path to the destination, measured by throughput probes (`--destination`,
    /// `--validate`): an uncapped one gives the link's rate, one at the cap its efficiency,
    /// where history has none; either gives the latency.
    public var measuredPaths: [MeasuredPath]
    /// The share of the guest's pages that were all zero at the end of the observation (what
    /// a migration sends as zero-page markers); nil when not measured.
    public var zeroPageShare: Double?

    public init(name: String, fit: WriteModelFit, guestMemoryBytes: Int, pageSizeBytes: Int, provenance: Provenance,
                history: HistoryFit? = nil, measuredCosts: MeasuredHostCosts? = nil, measuredPaths: [MeasuredPath] = [],
                zeroPageShare: Double? = nil) {
        self.zeroPageShare = zeroPageShare
        self.measuredCosts = measuredCosts
        self.measuredPaths = measuredPaths
        self.name = name
        self.fit = fit
        self.guestMemoryBytes = guestMemoryBytes
        self.pageSizeBytes = pageSizeBytes
        self.provenance = provenance
        self.history = history
    }

    /// `link.latency`'s default in a scenario (docs/scenario-format.md).
    static let defaultLatencySeconds = 0.0002

    /// The scenario file's text.
    public var yaml: String {
        let model = fit.model
        let observed = "\(format(fit.observedSeconds, 1)) s of the dirty log, \(fit.reads) reads every \(format(fit.intervalSeconds * 1000, 0)) ms"
        var lines = [
            "# Calibrated by `\(provenance.command)` at \(provenance.timestamp).",
            "# Each value says where it came from: fitted (from \(observed)), given, or a default",
            "# that nothing here measured. The fit's dirty counts against the observed ones are in",
            "# the comment at the end.",
            "name: \(name)",
            "description: \(name) as calibrated from \(observed)",
            "guest:",
            "  memory: \(sizeText(guestMemoryBytes))  # observed: the pages the dirty log covers",
        ]
        if pageSizeBytes != 4096 { lines.append("  pageSize: \(pageSizeBytes)  # observed: the dirty log's page size") }
        if let costs = measuredCosts {
            lines.append("  deviceState: \(costs.deviceStateBytes)B  # measured: the vCPU and device state captured here")
        }
        if let zeroPageShare, zeroPageShare > 0 {
            lines.append("  zeroShare: \(format(zeroPageShare, 4))  # measured: pages all zero at the end of the observation (sent as markers)")
        }
        lines.append("workload:")
        lines.append("  kind: \(model.kind.rawValue)  # fitted: \(kindReason)")
        if model.kind != .idle {
            switch model.placement {
            case .contiguous(let first):
                lines.append("  placement: contiguous  # fitted: \(percent(dominantShare)) of the writes in one block")
                lines.append("  offset: \(first)  # fitted: the block's first page")
            case .scattered:
                lines.append("  placement: scattered  # fitted: no block holds most of the writes")
            }
            lines.append("  workingSet: \(model.workingSetPages)  # fitted: pages\(workingSetReason)")
        }
        switch model.kind {
        case .idle:
            break
        case .uniform, .sequential:
            lines.append("  rate: \(rateText(model.ratePagesPerSecond, spread: model.rateSpreadPagesPerSecond))  # fitted: page writes/s\(spreadReason)")
        case .hotCold:
            lines.append("  hotSet: \(model.hotPages)  # fitted: pages dirty far more often than the rest")
            lines.append("  hotRate: \(rateText(model.ratePagesPerSecond, spread: model.rateSpreadPagesPerSecond))  # fitted: page writes/s on the hot set\(spreadReason)")
            lines.append("  coldRate: \(whole(model.coldRatePagesPerSecond))  # fitted: page writes/s on the rest")
        }
        let link = linkLines()
        lines += link.lines
        lines.append("policy:")
        lines.append("  name: \(provenance.policy)  # given")
        lines += sourceLines(linkBytesPerSecond: link.bytesPerSecond, latencySeconds: link.latencySeconds)
        lines.append("# Fit: distinct pages dirtied per interval, observed -> model:")
        for check in fit.checks {
            lines.append("#   \(format(check.seconds * 1000, 0)) ms: \(format(check.observedDirtyPages, 0)) -> \(format(check.predictedDirtyPages, 0)) (\(signedPercent(check.relativeError)))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `source:` section: the costs measured here (`measuredCosts`), the pause's fixed part
    /// from history where there is one (it is end to end), the simulator's defaults for the
    /// rest, each saying which. The simulator's pause cost ends before the downtime starts (as
    /// the executor's does: the downtime runs from the pause's completion), so the fixed part
    /// the history measured goes whole into `resumeCost`, which the downtime holds.
    private func sourceLines(linkBytesPerSecond: Double, latencySeconds: Double) -> [String] {
        var lines: [String] = []
        if let costs = measuredCosts {
            lines.append("  dirtyLogReadCost: \(format(costs.dirtyLogReadSecondsPerGiB * 1000, 4))ms  # measured: per GiB, the median of \(costs.samples) reads and clears of this guest's dirty log")
            lines.append("  pauseCost: \(format(costs.pauseSeconds * 1000, 4))ms  # measured: the median of \(costs.samples) pauses of this guest's vCPU")
        }
        if let history, let overhead = history.pauseOverheadSeconds {
            // The simulator's other fixed parts of a pause: the final dirty-log read, the
            // device state over the link, the ready / cleared round trips.
            let defaults = HostCosts()
            let readPerGiB = measuredCosts?.dirtyLogReadSecondsPerGiB ?? defaults.dirtyLogReadSecondsPerGiB
            let stateBytes = measuredCosts?.deviceStateBytes ?? defaults.deviceStateBytes
            let others = readPerGiB * Double(guestMemoryBytes) / 1_073_741_824
                + Double(stateBytes) / linkBytesPerSecond + 3 * latencySeconds
            let rest = "\(format(max(0, overhead - others) * 1000, 3))ms"
            lines.append("  resumeCost: \(rest)  # from history: what the pause's fixed part, \(format(overhead * 1000, 1)) ms (median of \(history.pausedRuns) migrations), leaves after the other fixed costs")
        } else if measuredCosts != nil {
            lines.append("  # resumeCost: the default; it is the destination's load and start, which no guest here shows (a migration's history does)")
        }
        let rest = lines.isEmpty ? "# Host costs (source.*) are the simulator's defaults, not measured here."
            : "# The other host costs (source.*) are the simulator's defaults, not measured here."
        return (lines.isEmpty ? [] : ["source:"] + lines) + [rest]
    }

    private var dominantShare: Double {
        let total = fit.blocks.reduce(0) { $0 + $1.hits }
        return total > 0 ? Double(fit.blocks.first?.hits ?? 0) / Double(total) : 0
    }

    private var kindReason: String {
        switch fit.model.kind {
        case .idle: "fewer than \(whole(WriteModelFitter.idleRatePagesPerSecond)) page write/s seen"
        case .uniform: "the pages were dirtied at one rate"
        case .hotCold: "the pages' dirty counts fall in two groups"
        case .sequential: "each read found one run of pages, a sweep"
        }
    }

    private var workingSetReason: String {
        if case .contiguous = fit.model.placement { return ", the block's length" }
        return ", the size whose dirty counts over \(fit.checks.count) interval lengths fit best (\(fit.distinctPages) seen)"
    }

    private var spreadReason: String {
        fit.model.rateSpreadPagesPerSecond > 0 ? "; the spread is the rate's from one stretch of the observation to the next" : ""
    }

    private func rateText(_ mean: Double, spread: Double) -> String {
        let meanText = whole(mean)
        guard spread >= 0.01 * mean, spread > 0 else { return "\(meanText)" }
        return "normal(\(meanText) pages/s, \(whole(spread)) pages/s)"
    }

    private func sizeText(_ bytes: Int) -> String {
        let mebibyte = 1 << 20
        return bytes % mebibyte == 0 ? "\(bytes / mebibyte)MiB" : "\(bytes)B"
    }
}

func format(_ value: Double, _ places: Int) -> String { String(format: "%.\(places)f", value) }

/// A rate or count as a whole number for the file (clamped, never trapping).
func whole(_ value: Double) -> Int { CheckedConversion.clampedInt(value, to: 0 ... Int.max) }

func percent(_ share: Double) -> String { "\(format(share * 100, 0)) %" }

func signedPercent(_ share: Double) -> String { (share >= 0 ? "+" : "") + "\(format(share * 100, 1)) %" }
