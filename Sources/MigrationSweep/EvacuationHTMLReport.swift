import Foundation
import MigrationReporting

/// `livemig plan evacuate`'s answer as one self-contained HTML file: the verdict, a Gantt
/// chart of the chosen schedule (each guest's live pre-copy and its pause, the goal as a
/// line), the measured run's chart beside it after `--execute`, the strategies compared, and
/// the schedule as a table.
public enum EvacuationHTMLReport {
    static let liveColor = "#4a7fb5", pauseColor = "#d62728", overColor = "#ff7f0e"

    public static func render(_ report: EvacuationPlanReport) -> String {
        var html = HTMLPage.head(title: "\(report.host) evacuation plan") + """
        <h1>Evacuating \(SVGPlot.escape(report.host))</h1>
        <p class="note">\(SVGPlot.escape(report.description ?? "")) Downtime limit per guest: \(EvacuationPlanReport.milliseconds(report.downtimeLimitSeconds)). Search: \(SVGPlot.escape(report.method)).</p>
        <p><strong>\(SVGPlot.escape("livemig's plan: \(report.plan.concurrency) at a time; \(report.verdict)."))</strong></p>

        """
        html += "<figure>\(gantt(report.plan, title: "livemig's plan (predicted)", report: report).render())</figure>\n"
        if let measured = report.measured {
            html += "<figure>\(gantt(measured, title: "the plan run for real (measured)", report: report).render())</figure>\n"
        }
        html += comparison(report)
        html += schedule(report.plan, title: "The schedule", measured: report.measured)
        return html + "</body></html>\n"
    }

    static func gantt(_ summary: EvacuationScheduleSummary, title: String, report: EvacuationPlanReport) -> SVGGantt {
        let rows = summary.guests.map { guest in
            let liveEnd = guest.pausedAtSeconds ?? guest.endSeconds
            // A guest that did not move (aborted, failed, unknown) is drawn over the limit.
            var segments = [SVGGantt.Segment(
                startSeconds: guest.startSeconds, endSeconds: liveEnd, color: guest.moved ? liveColor : overColor,
                title: "\(guest.name): live pre-copy, \(guest.iterations) rounds, \(String(format: "%.1f", guest.startSeconds))-\(String(format: "%.1f", liveEnd)) s\(guest.moved ? "" : " (\(guest.outcome))")")]
            // Only a guest that was paused has a pause to draw.
            if let pausedAt = guest.pausedAtSeconds {
                segments.append(.init(startSeconds: pausedAt, endSeconds: guest.endSeconds,
                                      color: guest.downtimeSeconds > report.downtimeLimitSeconds || !guest.moved ? overColor : pauseColor,
                                      title: "\(guest.name): paused \(String(format: "%.1f", guest.downtimeSeconds * 1000)) ms (\(guest.outcome))"))
            }
            return SVGGantt.Row(label: "\(guest.name) → \(guest.destination)", segments: segments)
        }
        return SVGGantt(title: title, rows: rows,
                        legend: [("live pre-copy", liveColor), ("paused", pauseColor), ("over the limit or aborted", overColor)],
                        marker: report.finishBySeconds.map { ($0, "goal \(EvacuationPlanReport.seconds($0))") })
    }

    private static func comparison(_ report: EvacuationPlanReport) -> String {
        var out = "<h2>Against the usual strategies</h2><table><tr><th>strategy</th><th>at once</th><th>host empty after (s)</th>"
            + "<th>worst downtime (ms)</th><th>guests over the limit</th></tr>\n"
        for summary in [report.plan] + report.strategies {
            out += "<tr><td class=\"l\">\(SVGPlot.escape(summary.name))</td><td>\(summary.concurrency)</td>"
                + "<td>\(String(format: "%.1f", summary.finishSeconds))</td><td>\(String(format: "%.1f", summary.worstDowntimeSeconds * 1000))</td>"
                + "<td>\(summary.guestsOverLimit)</td></tr>\n"
        }
        return out + "</table>\n"
    }

    private static func schedule(_ plan: EvacuationScheduleSummary, title: String, measured: EvacuationScheduleSummary?) -> String {
        var out = "<h2>\(SVGPlot.escape(title))</h2><table><tr><th>guest</th><th>destination</th><th>memory (MiB)</th><th>start (s)</th>"
            + "<th>end (s)</th><th>downtime (ms)</th><th>rounds</th><th>outcome</th>"
            + (measured == nil ? "" : "<th>measured start (s)</th><th>measured end (s)</th><th>measured downtime (ms)</th><th>measured outcome</th>")
            + "</tr>\n"
        for guest in plan.guests {
            out += "<tr><td class=\"l\">\(SVGPlot.escape(guest.name))</td><td class=\"l\">\(SVGPlot.escape(guest.destination))</td>"
                + "<td>\(guest.memoryBytes >> 20)</td><td>\(String(format: "%.2f", guest.startSeconds))</td><td>\(String(format: "%.2f", guest.endSeconds))</td>"
                + "<td>\(String(format: "%.1f", guest.downtimeSeconds * 1000))</td><td>\(guest.iterations)</td><td class=\"l\">\(guest.outcome)</td>"
            if let measured {
                if let real = measured.guests.first(where: { $0.name == guest.name }) {
                    out += "<td>\(String(format: "%.2f", real.startSeconds))</td><td>\(String(format: "%.2f", real.endSeconds))</td>"
                        + "<td>\(String(format: "%.1f", real.downtimeSeconds * 1000))</td><td class=\"l\">\(SVGPlot.escape(real.outcome))</td>"
                } else {
                    out += "<td colspan=\"4\" class=\"l\">not run</td>"
                }
            }
            out += "</tr>\n"
        }
        return out + "</table>\n"
    }
}
