import Foundation
import MigrationReporting

/// `livemig tune`'s answer as one self-contained HTML file: the verdict, the best setting
/// against the defaults (both confirmed with fresh seeds), a scatter of every setting tried
/// (the metric against p95 time) with the Pareto front drawn through it, and the front's table.
public enum TuneHTMLReport {
    public static func render(_ outcome: TuneOutcome, scenario: String) -> String {
        let metric = outcome.objective.rawValue
        let isDowntime = metric.hasSuffix("downtime"), isTime = !isDowntime && metric.hasSuffix("time")
        let scale = isDowntime ? 1000.0 : 1
        let unit = isDowntime ? "ms" : isTime ? "s" : metric == "bytes" ? "x guest memory" : "probability"
        func objective(_ candidate: TuneCandidate) -> Double { candidate.objective * scale }
        func time(_ candidate: TuneCandidate) -> Double { candidate.summary.totalTimeSeconds.p95 }
        let completed = outcome.tried.filter { $0.summary.aborted == 0 }
        let feasible = completed.filter(\.feasible), outside = completed.filter { !$0.feasible }
        var plot = SVGPlot(title: "Every setting tried: \(metric) against p95 time", xLabel: "p95 total time (s)",
                           yLabel: "\(metric) (\(unit))", xLabels: [])
        plot.numericX = true
        plot.series = [
            .init(name: "within the bounds", color: "#1f77b4", ys: feasible.map(objective), joined: false, xs: feasible.map(time)),
            .init(name: "outside", color: "#bbbbbb", ys: outside.map(objective), joined: false, xs: outside.map(time)),
            .init(name: "Pareto front", color: "#d62728", ys: outcome.pareto.map(objective), xs: outcome.pareto.map(time)),
            .init(name: "defaults", color: "#2ca02c", ys: [objective(outcome.defaults)], joined: false, xs: [time(outcome.defaults)]),
        ]
        if let best = outcome.best {
            plot.series.append(.init(name: "best", color: "#000000", ys: [objective(best)], joined: false, xs: [time(best)]))
        }
        let verdict = outcome.improves ? "The best setting beats the policy's defaults (confirmed with fresh seeds)."
            : outcome.best == nil ? "No setting tried meets the bounds." : "No setting beats the policy's defaults here: keep them."
        var html = HTMLPage.head(title: "\(scenario) tuning") + """
        <h1>\(SVGPlot.escape(scenario)): minimize \(SVGPlot.escape(metric))</h1>
        <p class="note">Bounds: \(SVGPlot.escape(outcome.constraints.isEmpty ? "none" : outcome.constraints.map(\.text).joined(separator: ", "))).
        Knobs: \(SVGPlot.escape(outcome.knobs.map(\.key).joined(separator: ", "))). \(outcome.tried.count) settings x \(outcome.runs) runs: a bounded grid refined twice around the best, all on the same seeds.</p>
        <p><strong>\(SVGPlot.escape(verdict))</strong></p>

        """
        let column = (title: "\(metric) (\(unit))", scale: scale)
        html += table("Confirmed with fresh seeds", [("defaults", outcome.confirmedDefaults)] + (outcome.confirmedBest.map { [("best", $0)] } ?? []),
                      outcome, column)
        html += "<figure>\(plot.render())</figure>\n"
        html += table("Pareto front (none better on \(metric), p95 time and bytes at once)",
                      outcome.pareto.map { ($0.overrides.isEmpty ? "defaults" : $0.overrides.joined(separator: " "), $0) }, outcome, column)
        return html + "</body></html>\n"
    }

    private static func table(_ title: String, _ rows: [(String, TuneCandidate)], _ outcome: TuneOutcome,
                              _ column: (title: String, scale: Double)) -> String {
        var out = "<h2>\(SVGPlot.escape(title))</h2><table><tr><th>setting</th><th>\(SVGPlot.escape(column.title))</th>"
            + "<th>p95 time (s)</th><th>p95 downtime (ms)</th><th>bytes (x guest)</th><th>P(fallback)</th><th>within the bounds</th></tr>\n"
        for (label, candidate) in rows {
            let s = candidate.summary
            out += "<tr><td class=\"l\">\(SVGPlot.escape(label))</td><td>\(String(format: "%.4g", candidate.objective * column.scale))</td>"
                + "<td>\(String(format: "%.2f", s.totalTimeSeconds.p95))</td><td>\(String(format: "%.1f", s.downtimeSeconds.p95 * 1000))</td>"
                + "<td>\(String(format: "%.2f", s.meanBytesSent / max(outcome.guestBytes, 1)))</td><td>\(String(format: "%.2f", s.fallbackProbability))</td>"
                + "<td>\(candidate.feasible ? "yes" : "no")</td></tr>\n"
        }
        return out + "</table>\n"
    }
}
