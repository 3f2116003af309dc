import Foundation
import MigrationCore
import MigrationReporting
import MigrationSweep

/// What `migrate --validate` prints: the prediction before the migration, and after it the
/// prediction next to what was measured.
enum ValidationOutput {
    static func prediction(_ summary: SweepPointSummary, origin: String) -> String {
        let time = summary.totalTimeSeconds, downtime = summary.downtimeSeconds
        var lines = ["prediction (\(summary.runs) simulated runs; scenario \(origin)):"]
        lines.append(TextColumns.render([
            ["", "p50", "p95", "p99"],
            ["total time (s)", String(format: "%.3f", time.p50), String(format: "%.3f", time.p95), String(format: "%.3f", time.p99)],
            ["downtime (ms)", String(format: "%.1f", downtime.p50 * 1000), String(format: "%.1f", downtime.p95 * 1000),
             String(format: "%.1f", downtime.p99 * 1000)],
        ], rightAligned: [1, 2, 3]).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        lines.append(String(format: "  offline fallback: %.0f %% (95 %% interval %.0f-%.0f %%); aborted runs: %d",
                            summary.fallbackProbability * 100, summary.fallbackProbabilityInterval[0] * 100,
                            summary.fallbackProbabilityInterval[1] * 100, summary.aborted))
        return lines.joined(separator: "\n") + "\n"
    }

    /// (predicted p50 - measured) / measured; nil when nothing was measured.
    static func relativeError(predicted: Double, measured: Double) -> Double? {
        measured > 0 ? (predicted - measured) / measured : nil
    }

    static func comparison(_ summary: SweepPointSummary, report: MigrationReport) -> String {
        func row(_ name: String, _ scale: Double, _ format: String, p50: Double, p95: Double, measured: Double) -> [String] {
            let error = relativeError(predicted: p50, measured: measured).map { String(format: "%+.1f %%", $0 * 100) } ?? "-"
            return [name, String(format: format, p50 * scale), String(format: format, p95 * scale), String(format: format, measured * scale), error,
                    measured <= p95 ? "yes" : "no"]
        }
        let rows = [
            ["", "predicted p50", "p95", "measured", "p50 error", "within p95"],
            row("total time (s)", 1, "%.3f", p50: summary.totalTimeSeconds.p50, p95: summary.totalTimeSeconds.p95, measured: report.totalTimeSeconds),
            row("downtime (ms)", 1000, "%.1f", p50: summary.downtimeSeconds.p50, p95: summary.downtimeSeconds.p95, measured: report.downtimeSeconds),
            [ "outcome", String(format: "fallback %.0f %%", summary.fallbackProbability * 100), "", report.outcome.rawValue, "", ""],
        ]
        return "predicted against measured:\n" + TextColumns.render(rows, rightAligned: [1, 2, 3, 4]).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
    }

    /// The JSON of a validated migration: the prediction, the report, and the errors (relative
    /// for time, downtime and bytes; in rounds for the live iterations).
    static func json(_ prediction: MigrationValidation.Prediction, origin: String, report: MigrationReport?) throws -> String {
        struct Output: Encodable {
            var scenario: String
            var prediction: SweepPointSummary
            var predictedLiveIterations: Double
            var report: MigrationReport?
            var totalTimeError: Double?
            var downtimeError: Double?
            var bytesError: Double?
            var liveIterationsError: Double?
        }
        let summary = prediction.summary
        let output = Output(scenario: origin, prediction: summary, predictedLiveIterations: prediction.medianLiveIterations, report: report,
                            totalTimeError: report.flatMap { relativeError(predicted: summary.totalTimeSeconds.p50, measured: $0.totalTimeSeconds) },
                            downtimeError: report.flatMap { relativeError(predicted: summary.downtimeSeconds.p50, measured: $0.downtimeSeconds) },
                            bytesError: report.flatMap { relativeError(predicted: summary.meanBytesSent, measured: Double($0.bytesSent)) },
                            liveIterationsError: report.map { prediction.medianLiveIterations - Double($0.liveIterationCount) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(output), as: UTF8.self)
    }
}
