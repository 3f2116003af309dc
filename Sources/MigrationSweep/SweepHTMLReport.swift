import Foundation
import MigrationReporting

/// A sweep as one self-contained HTML file: inline SVG plots of time and downtime against the
/// first varied key (p50 lines, p50-p95 and p95-p99 bands), the fallback probability with its
/// 95 % interval, and a table of every point. No script and no network: it opens anywhere.
public enum SweepHTMLReport {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    /// The most lines per plot: one per combination of the other varied keys.
    static let maxGroups = 6

    public static func render(_ result: SweepResult) -> String {
        let plan = result.plan
        let points = result.points
        let xKey = plan.axes.first?.key ?? "runs"
        let xLabels = plan.axes.first?.values ?? ["all \(plan.runs) runs"]
        // Points grouped by the other keys' values, in plan order (the first key varies slowest,
        // so group g holds points g, g + stride, ...).
        let stride = plan.axes.dropFirst().reduce(1) { $0 * $1.values.count }
        let groups = (0 ..< stride).prefix(maxGroups).map { group in
            (label: plan.axes.dropFirst().map { "\($0.key)=\(points[group].values[$0.key] ?? "")" }.joined(separator: " "),
             points: (0 ..< xLabels.count).map { points[$0 * stride + group] })
        }
        var html = HTMLPage.head(title: "\(result.scenario) sweep") + """
        <h1>\(SVGPlot.escape(result.scenario)): \(plan.pointCount) points &times; \(plan.runs) runs</h1>
        <p class="note">livemig sweep; run r of every point uses seed \(plan.baseSeed) + r. Varied: \(plan.axes.isEmpty ? "nothing (seeds only)" : plan.axes.map { SVGPlot.escape("\($0.key) (\($0.values.count) values)") }.joined(separator: ", ")).\(stride > maxGroups ? " The plots show the first \(maxGroups) of \(stride) combinations of the other keys; the table has all." : "")</p>

        """
        for (metric, title, unit) in [("time", "Total time", "s"), ("downtime", "Downtime", "ms")] {
            var plot = SVGPlot(title: "\(title) against \(xKey)", xLabel: xKey, yLabel: "\(title.lowercased()) (\(unit))", xLabels: xLabels)
            let scale = unit == "ms" ? 1000.0 : 1
            func pick(_ point: SweepPointSummary) -> SweepPointSummary.Percentiles { metric == "time" ? point.totalTimeSeconds : point.downtimeSeconds }
            for (index, group) in groups.enumerated() {
                let color = palette[index % palette.count]
                let name = groups.count == 1 ? "p50" : "p50 \(group.label)"
                plot.series.append(.init(name: name, color: color, ys: group.points.map { pick($0).p50 * scale }))
                if groups.count == 1 {
                    plot.bands.append(.init(name: "p50-p95", color: color, lows: group.points.map { pick($0).p50 * scale },
                                            highs: group.points.map { pick($0).p95 * scale }))
                    plot.bands.append(.init(name: "p95-p99", color: "#999999", lows: group.points.map { pick($0).p95 * scale },
                                            highs: group.points.map { pick($0).p99 * scale }))
                }
            }
            html += "<figure>\(plot.render())</figure>\n"
        }
        var fallback = SVGPlot(title: "Offline fallback probability (95 % interval)", xLabel: xKey, yLabel: "P(fallback)", xLabels: xLabels)
        fallback.yRange = 0 ... 1
        for (index, group) in groups.enumerated() {
            fallback.series.append(.init(name: groups.count == 1 ? "P(fallback)" : group.label, color: palette[index % palette.count],
                                         ys: group.points.map(\.fallbackProbability), errorBars: group.points.map(\.fallbackProbabilityInterval)))
        }
        html += "<figure>\(fallback.render())</figure>\n"
        html += table(result, points: points)
        return html + "</body></html>\n"
    }

    private static func table(_ result: SweepResult, points: [SweepPointSummary]) -> String {
        let keys = result.plan.axes.map(\.key)
        func cell(_ text: String) -> String { "<td>\(SVGPlot.escape(text))</td>" }
        func range(_ values: [Double], _ scale: Double, _ format: String) -> String {
            values.count == 2 ? String(format: "[\(format), \(format)]", values[0] * scale, values[1] * scale) : ""
        }
        var out = "<h2>Points</h2><table><tr>" + (keys + ["time p50 (s)", "95 % interval", "time p95", "time p99", "downtime p50 (ms)", "95 % interval",
                                                         "downtime p95", "downtime p99", "P(fallback)", "95 % interval", "aborted"])
            .map { "<th>\(SVGPlot.escape($0))</th>" }.joined() + "</tr>\n"
        for point in points {
            let time = point.totalTimeSeconds, down = point.downtimeSeconds
            out += "<tr>" + keys.map { cell(point.values[$0] ?? "") }.joined()
                + cell(String(format: "%.3f", time.p50)) + cell(range(time.p50Interval, 1, "%.3f"))
                + cell(String(format: "%.3f", time.p95)) + cell(String(format: "%.3f", time.p99))
                + cell(String(format: "%.1f", down.p50 * 1000)) + cell(range(down.p50Interval, 1000, "%.1f"))
                + cell(String(format: "%.1f", down.p95 * 1000)) + cell(String(format: "%.1f", down.p99 * 1000))
                + cell(String(format: "%.3f", point.fallbackProbability)) + cell(range(point.fallbackProbabilityInterval, 1, "%.3f"))
                + cell(String(point.aborted)) + "</tr>\n"
        }
        return out + "</table>\n"
    }
}
