import Foundation
import MigrationReporting
import MigrationSweep

/// The sweep's summary as a table: one line per point.
enum SweepTable {
    /// Writes PREFIX.csv, PREFIX.json and PREFIX.html and prints the table (or the JSON).
    /// `timing`: how long the sweep took and on how many jobs; nil for parts merged.
    static func write(_ result: SweepResult, to prefix: String, format: String, timing: (seconds: Double, jobs: Int)?) throws {
        try ScenarioFiles.write(result.csv, to: prefix + ".csv", option: "--output")
        let json: String
        do {
            json = try result.json()
        } catch {
            throw failure(error.description)
        }
        try ScenarioFiles.write(json, to: prefix + ".json", option: "--output")
        try ScenarioFiles.write(SweepHTMLReport.render(result), to: prefix + ".html", option: "--output")
        print(format == "json" ? json : render(result, timing: timing, files: prefix), terminator: "")
    }

    static func render(_ result: SweepResult, timing: (seconds: Double, jobs: Int)?, files: String) -> String {
        let keys = result.plan.axes.map(\.key)
        var out = "\(result.scenario): \(result.plan.pointCount) points x \(result.plan.runs) runs = \(result.plan.simulationCount) simulations"
            + (timing.map { String(format: " in %.2f s on %d jobs\n", $0.seconds, $0.jobs) } ?? ", merged from its parts\n")
        let header = keys + ["time p50", "time p95", "time p99", "downtime p50", "downtime p95", "downtime p99", "P(fallback) [95 % CI]", "aborted"]
        var rows = [header]
        for point in result.points {
            rows.append(keys.map { point.values[$0] ?? "" } + [
                seconds(point.totalTimeSeconds.p50), seconds(point.totalTimeSeconds.p95), seconds(point.totalTimeSeconds.p99),
                milliseconds(point.downtimeSeconds.p50), milliseconds(point.downtimeSeconds.p95), milliseconds(point.downtimeSeconds.p99),
                String(format: "%.2f [%.2f, %.2f]", point.fallbackProbability, point.fallbackProbabilityInterval[0], point.fallbackProbabilityInterval[1]),
                String(point.aborted),
            ])
        }
        out += TextColumns.render(rows)
        let errors = Set(result.points.flatMap(\.errors))
        for error in errors.sorted() { out += "could not simulate: \(error)\n" }
        return out + "every run: \(files).csv; per point: \(files).json; report: \(files).html\n"
    }

    private static func seconds(_ value: Double) -> String { String(format: "%.2f s", value) }
    private static func milliseconds(_ value: Double) -> String { String(format: "%.1f ms", value * 1000) }
}
