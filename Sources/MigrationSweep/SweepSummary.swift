import Foundation
import MigrationCore

/// What a sweep found at one point: percentiles of time and downtime over its runs, the share
/// that fell back offline, and the runs that did not complete.
public struct SweepPointSummary: Sendable, Equatable, Codable {
    public struct Percentiles: Sendable, Equatable, Codable {
        public var p50: Double
        public var p95: Double
        public var p99: Double
        /// 95 % confidence intervals [low, high] of p50, p95 and p99 (`SweepStatistics`).
        public var p50Interval: [Double]
        public var p95Interval: [Double]
        public var p99Interval: [Double]
    }

    /// The varied keys and their values here.
    public var values: [String: String]
    public var runs: Int
    public var totalTimeSeconds: Percentiles
    public var downtimeSeconds: Percentiles
    public var meanBytesSent: Double
    /// Runs that fell back to offline migration, over all runs.
    public var fallbackProbability: Double
    /// Its 95 % confidence interval [low, high] (Wilson).
    public var fallbackProbabilityInterval: [Double]
    /// Runs that did not complete (`aborted`, or could not run: see `errors`).
    public var aborted: Int
    /// Runs that could not be simulated at all (their scenario was refused, e.g. a draw out of
    /// range): left out of every statistic above, counted here.
    public var failed: Int
    public var errors: [String]

    public init(values: [String: String], runs all: [SweepRun]) {
        self.values = values
        let sample = all.filter { $0.error == nil }
        failed = all.count - sample.count
        errors = Array(Set(all.compactMap(\.error))).sorted()
        runs = sample.count
        func percentiles(_ numbers: [Double]) -> Percentiles {
            let sorted = numbers.sorted()  // once: each statistic below sorts an already sorted array in linear time
            func at(_ p: Double) -> Double { SweepStatistics.percentile(p, of: sorted) ?? 0 }
            func interval(_ p: Double) -> [Double] { SweepStatistics.percentileInterval(p, of: sorted) ?? [0, 0] }
            return Percentiles(p50: at(50), p95: at(95), p99: at(99), p50Interval: interval(50), p95Interval: interval(95), p99Interval: interval(99))
        }
        totalTimeSeconds = percentiles(sample.map(\.totalTimeSeconds))
        downtimeSeconds = percentiles(sample.map(\.downtimeSeconds))
        meanBytesSent = sample.isEmpty ? 0 : sample.reduce(0) { $0 + Double($1.bytesSent) } / Double(sample.count)
        let fallbacks = sample.filter { $0.outcome == .offlineFallback }.count
        fallbackProbability = sample.isEmpty ? 0 : Double(fallbacks) / Double(sample.count)
        fallbackProbabilityInterval = SweepStatistics.proportionInterval(successes: fallbacks, trials: sample.count)
        aborted = sample.filter { $0.outcome == .aborted }.count + failed
    }
}

/// A finished sweep: what was asked, every run, and a summary per point.
public struct SweepResult: Sendable {
    public let scenario: String
    public let plan: SweepPlan
    public let runs: [SweepRun]
    /// Every point's summary, in plan order (computed once: the table, JSON and HTML read it).
    public let points: [SweepPointSummary]

    public init(scenario: String, plan: SweepPlan, runs: [SweepRun]) {
        self.scenario = scenario
        self.plan = plan
        self.runs = runs
        points = (0 ..< plan.pointCount).map { point in
            let values = Dictionary(uniqueKeysWithValues: zip(plan.axes.map(\.key), plan.values(ofPoint: point)))
            return SweepPointSummary(values: values, runs: Array(runs[point * plan.runs ..< (point + 1) * plan.runs]))
        }
    }

    /// One row per run: the varied values, what the run drew (Monte Carlo: a column per
    /// distribution, "KEY (drawn)"), the seed and what happened.
    public var csv: String {
        let drawnKeys = Set(runs.flatMap { $0.draws?.keys.map { $0 } ?? [] }).sorted()
        var lines = [(plan.axes.map(\.key) + drawnKeys.map { "\($0) (drawn)" }
            + ["seed", "outcome", "totalTimeSeconds", "downtimeSeconds", "bytesSent", "liveIterations", "error"])
            .map(Self.csvField).joined(separator: ",")]
        for run in runs {
            let fields = plan.values(ofPoint: run.point) + drawnKeys.map { run.draws?[$0] ?? "" } + [String(run.seed), run.outcome.rawValue, "\(run.totalTimeSeconds)",
                                                            "\(run.downtimeSeconds)", String(run.bytesSent), String(run.liveIterations),
                                                            run.error ?? ""]
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private struct Document: Encodable {
        var scenario: String
        var runsPerPoint: Int
        var baseSeed: UInt64
        var axes: [SweepAxis]
        var points: [SweepPointSummary]
    }

    /// The plan and the summary of every point.
    public func json() throws(HostFailure) -> String {
        let document = Document(scenario: scenario, runsPerPoint: plan.runs, baseSeed: plan.baseSeed,
                                axes: plan.axes, points: points)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
        } catch {
            throw HostFailure("the sweep's JSON: \(error)")
        }
    }
}
