import Foundation
import MigrationCore
import MigrationReporting
import MigrationSweep

/// `livemig plan evacuate`'s answer as text: the schedule (each guest's start, end and
/// downtime), the predicted finish, the verdict, and the strategies compared.
enum PlanTable {
    static func render(_ report: EvacuationPlanReport) -> String {
        let plan = report.plan
        var out = "evacuating \(report.host): \(plan.order.count) guests, downtime limit \(ms(report.downtimeLimitSeconds)) ms\n"
        out += "search: \(report.method)\n"
        out += "plan: \(plan.concurrency) at a time, host empty after \(String(format: "%.1f", plan.finishSeconds)) s\n"
        out += TextColumns.render([["guest", "destination", "start (s)", "end (s)", "downtime (ms)", "rounds", "outcome"]] + plan.guests.map { guest in
            [guest.name, guest.destination, s(guest.startSeconds), s(guest.endSeconds), ms(guest.downtimeSeconds),
             "\(guest.iterations)", guest.outcome + (guest.downtimeSeconds > report.downtimeLimitSeconds ? " (over the limit)" : "")]
        }, rightAligned: [2, 3, 4, 5])
        if !plan.notMoved.isEmpty { out += "not moved (the time limit came first): \(plan.notMoved.joined(separator: ", "))\n" }
        out += "verdict: \(report.verdict)\n"
        out += "compared:\n"
        out += TextColumns.render([["strategy", "at once", "empty after (s)", "worst downtime (ms)", "over the limit"]] + ([plan] + report.strategies).map {
            [$0.name, "\($0.concurrency)", s($0.finishSeconds), ms($0.worstDowntimeSeconds), "\($0.guestsOverLimit)"]
        }, rightAligned: [1, 2, 3, 4])
        return out
    }

    /// The plan beside the run: each guest's planned and measured end and downtime, and the
    /// evacuation's planned and measured finish.
    static func plannedAgainstMeasured(_ plan: EvacuationScheduleSummary, _ measured: EvacuationScheduleSummary) -> String {
        var rows = [["guest", "planned end (s)", "measured end (s)", "planned downtime (ms)", "measured downtime (ms)", "measured outcome"]]
        for guest in plan.guests {
            let real = measured.guests.first { $0.name == guest.name }
            let outcome = real.map { $0.outcome + ($0.outcome == MigrationOutcome.converged.rawValue ? "" : $0.reason.map { ": \($0)" } ?? "") } ?? "not run"
            rows.append([guest.name, s(guest.endSeconds), real.map { s($0.endSeconds) } ?? "-", ms(guest.downtimeSeconds),
                         real.map { ms($0.downtimeSeconds) } ?? "-", outcome])
        }
        var out = TextColumns.render(rows, rightAligned: [1, 2, 3, 4])
        out += String(format: "host empty after: planned %.2f s, measured %.2f s (%+.1f %%)\n", plan.finishSeconds, measured.finishSeconds,
                      100 * (measured.finishSeconds / max(plan.finishSeconds, 1e-9) - 1))
        return out
    }

    /// What became of the guests that did not move, in one line, or nil when all moved: those
    /// still here (aborted, resumed, or never started), those left paused here whose outcome is
    /// unknown, and those whose migration did not stop.
    static func unmoved(_ measured: EvacuationScheduleSummary) -> String? {
        let notMoved = measured.guests.filter { !$0.moved }
        guard !notMoved.isEmpty else { return nil }
        let leftPaused = notMoved.filter { $0.sourceLeftPaused == true }.map(\.name)
        let unknown = notMoved.filter { $0.outcomeUnknown == true }.map(\.name)
        let here = notMoved.filter { $0.sourceLeftPaused != true && $0.outcomeUnknown != true }.map(\.name)
        var parts: [String] = []
        if !here.isEmpty { parts.append("still running here: \(here.joined(separator: ", "))") }
        if !leftPaused.isEmpty {
            parts.append("left paused here, outcome unknown (check the destination; then livemig guest resume NAME --force): \(leftPaused.joined(separator: ", "))")
        }
        if !unknown.isEmpty { parts.append("outcome unknown, the migration may still run (livemig list): \(unknown.joined(separator: ", "))") }
        return "not every guest moved; " + parts.joined(separator: "; ")
    }

    static func s(_ seconds: Double) -> String { String(format: "%.2f", seconds) }
    static func ms(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1000) }
}
