import Foundation
import MigrationReporting
import MigrationSweep

/// One case's prediction against its measurement, from `migrate --validate --format json`.
struct AccuracyResult: Codable {
    var label: String
    /// The migration ran under a cap (`--bandwidth`): the link, not the engine, set its pace.
    var capped: Bool
    var outcome: String
    var fallbackProbability: Double
    var predictedTimeSeconds: Double
    var measuredTimeSeconds: Double
    var predictedDowntimeSeconds: Double
    var measuredDowntimeSeconds: Double
    var timeError: Double?
    var downtimeError: Double?
    var bytesError: Double?
    /// Predicted (median) minus measured live rounds.
    var liveIterationsError: Double?

    init(_ testCase: AccuracyCase, validated object: [String: Any]) throws {
        guard let prediction = object["prediction"] as? [String: Any], let report = object["report"] as? [String: Any],
              let time = prediction["totalTimeSeconds"] as? [String: Any], let downtime = prediction["downtimeSeconds"] as? [String: Any] else {
            throw failure("bench accuracy: \(testCase.label): the validation has no prediction or no report")
        }
        label = testCase.label
        capped = testCase.cap != nil
        outcome = report["outcome"] as? String ?? "?"
        fallbackProbability = prediction["fallbackProbability"] as? Double ?? 0
        predictedTimeSeconds = time["p50"] as? Double ?? 0
        measuredTimeSeconds = report["totalTimeSeconds"] as? Double ?? 0
        predictedDowntimeSeconds = downtime["p50"] as? Double ?? 0
        measuredDowntimeSeconds = report["downtimeSeconds"] as? Double ?? 0
        timeError = object["totalTimeError"] as? Double
        downtimeError = object["downtimeError"] as? Double
        bytesError = object["bytesError"] as? Double
        liveIterationsError = object["liveIterationsError"] as? Double
    }

    var line: String {
        String(format: "  %@: %@, time %.3f s predicted %.3f (%@), downtime %.1f ms predicted %.1f (%@), bytes %@, rounds %@",
               label, outcome, measuredTimeSeconds, predictedTimeSeconds, percent(timeError), measuredDowntimeSeconds * 1000,
               predictedDowntimeSeconds * 1000, percent(downtimeError), percent(bytesError),
               liveIterationsError.map { String(format: "%+.0f", $0) } ?? "-")
    }

    private func percent(_ error: Double?) -> String { error.map { String(format: "%+.1f %%", $0 * 100) } ?? "-" }
}

/// The suite's error distribution per metric and the fallback calibration.
struct AccuracySummary: Encodable {
    /// p50 / p90 / max of the magnitudes of some values (nil ones left out).
    struct Distribution: Codable {
        var cases: Int
        var p50: Double
        var p90: Double
        var max: Double

        init(magnitudesOf values: [Double?]) {
            let sorted = values.compactMap { $0.map(abs) }.sorted()
            cases = sorted.count
            p50 = SweepStatistics.percentile(50, of: sorted) ?? 0
            p90 = SweepStatistics.percentile(90, of: sorted) ?? 0
            max = sorted.last ?? 0
        }
    }

    var results: [AccuracyResult]
    /// Of |relative error|: total time, downtime, bytes; of |rounds| for the live iterations.
    var time: Distribution
    /// The time's error of the capped cases and of the uncapped ones apart: the link paces the
    /// first, the engine on shared cores the second (see `repeatability`).
    var timeCapped: Distribution
    var timeUncapped: Distribution
    /// The same uncapped migration's time from run to run, with no prediction.
    var repeatability: AccuracyRepeatability?
    var downtime: Distribution
    var bytes: Distribution
    var liveIterations: Distribution
    /// Converging cases whose downtime was within max(10 %, 3 ms) of the prediction, and how many converged.
    var downtimeWithinGoal: Int
    var converged: Int
    /// Mean of (predicted fallback probability - fell back ? 1 : 0)^2: 0 is perfect, 0.25 a coin.
    var brierScore: Double

    init(_ results: [AccuracyResult], repeatability: AccuracyRepeatability? = nil) {
        self.results = results
        self.repeatability = repeatability
        time = Distribution(magnitudesOf: results.map(\.timeError))
        timeCapped = Distribution(magnitudesOf: results.filter(\.capped).map(\.timeError))
        timeUncapped = Distribution(magnitudesOf: results.filter { !$0.capped }.map(\.timeError))
        downtime = Distribution(magnitudesOf: results.map(\.downtimeError))
        bytes = Distribution(magnitudesOf: results.map(\.bytesError))
        liveIterations = Distribution(magnitudesOf: results.map(\.liveIterationsError))
        let converging = results.filter { $0.outcome == "converged" }
        converged = converging.count
        downtimeWithinGoal = converging.filter {
            abs($0.predictedDowntimeSeconds - $0.measuredDowntimeSeconds) <= max(0.1 * $0.measuredDowntimeSeconds, 0.003)
        }.count
        brierScore = results.isEmpty ? 0 : results.reduce(0) { sum, result in
            let happened = result.outcome == "offlineFallback" ? 1.0 : 0.0
            return sum + (result.fallbackProbability - happened) * (result.fallbackProbability - happened)
        } / Double(results.count)
    }

    var table: String {
        func row(_ name: String, _ d: Distribution, percent: Bool) -> [String] {
            let format = percent ? "%.1f %%" : "%.1f"
            let scale = percent ? 100.0 : 1.0
            return [name, "\(d.cases)", String(format: format, d.p50 * scale), String(format: format, d.p90 * scale), String(format: format, d.max * scale)]
        }
        let rows = [["error", "cases", "p50", "p90", "max"], row("total time", time, percent: true),
                    row("  capped", timeCapped, percent: true), row("  uncapped", timeUncapped, percent: true), row("downtime", downtime, percent: true),
                    row("bytes", bytes, percent: true), row("live rounds", liveIterations, percent: false)]
        return TextColumns.render(rows, rightAligned: [1, 2, 3, 4])
            + "downtime within max(10 %, 3 ms): \(downtimeWithinGoal) of \(converged) converging cases; fallback Brier score \(String(format: "%.3f", brierScore)) (0 is perfect, 0.25 a coin)\n"
            + (repeatability.map { $0.line + "\n" } ?? "")
            + "goals (issue 10): p90 <= 5 % on time and bytes; downtime within max(10 %, 3 ms); calibrated fallback probabilities\n"
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
