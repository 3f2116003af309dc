import Foundation
import MigrationSweep

/// `livemig tune`'s answer as text: the best setting, its confirmation against the defaults,
/// the verdict, and the Pareto front.
enum TuneTable {
    static func render(_ outcome: TuneOutcome, scenario: String) -> String {
        let metric = outcome.objective.rawValue
        var out = "\(scenario): minimize \(metric)"
        out += outcome.constraints.isEmpty ? "" : " subject to \(outcome.constraints.map(\.text).joined(separator: ", "))"
        out += "; knobs \(outcome.knobs.map(\.key).joined(separator: ", ")); \(outcome.tried.count) settings x \(outcome.runs) runs\n"
        out += "search: a bounded grid over the knobs, refined twice around the best (same seeds), confirmed with fresh seeds\n"
        let line = { (label: String, candidate: TuneCandidate) in Self.line(label, candidate, metric, guestBytes: outcome.guestBytes) }
        out += line("defaults", outcome.defaults)
        if let best = outcome.best {
            out += line("best (\(best.stage))", best)
            out += "  setting: \(best.overrides.joined(separator: " "))\n"
        } else {
            out += "no setting tried meets the bounds\n"
        }
        out += "confirmed with fresh seeds:\n"
        out += line("  defaults", outcome.confirmedDefaults)
        if let confirmed = outcome.confirmedBest { out += line("  best", confirmed) }
        if outcome.improves, let best = outcome.confirmedBest {
            let gain = outcome.confirmedDefaults.feasible
                ? String(format: "%.1f %% lower %@", 100 * (1 - best.objective / max(outcome.confirmedDefaults.objective, 1e-12)), metric)
                : "the defaults do not meet the bounds"
            out += "verdict: the best setting beats the policy's defaults (\(gain))\n"
        } else {
            out += "verdict: no setting beats the policy's defaults here; keep them\n"
        }
        out += "Pareto front (\(metric), p95 time, bytes; none better on all three):\n"
        for candidate in outcome.pareto.prefix(12) {
            out += line("  " + (candidate.overrides.isEmpty ? "defaults" : candidate.overrides.joined(separator: " ")), candidate)
        }
        return out
    }

    private static func line(_ label: String, _ candidate: TuneCandidate, _ metric: String, guestBytes: Double) -> String {
        let s = candidate.summary
        return String(format: "%@: %@ %@, p95 time %.2f s, p95 downtime %.1f ms, bytes %.2fx guest, P(fallback) %.2f%@\n",
                      label, metric, format(candidate.objective, metric), s.totalTimeSeconds.p95, s.downtimeSeconds.p95 * 1000,
                      s.meanBytesSent / max(guestBytes, 1), s.fallbackProbability, candidate.feasible ? "" : " (outside the bounds)")
    }

    private static func format(_ value: Double, _ metric: String) -> String {
        if metric.hasSuffix("downtime") { return String(format: "%.1f ms", value * 1000) }
        if metric.hasSuffix("time") { return String(format: "%.2f s", value) }
        return String(format: "%.3f", value)
    }
}
