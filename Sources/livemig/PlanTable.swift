import Foundation
import MigrationReporting
import MigrationSweep

/// `livemig plan evacuate`'s answer as text: the schedule (each guest's start, end and
/// downtime), the predicted finish, the verdict, and the strategies compared.
enum PlanTable {
    static func render(_ report: EvacuationPlanReport) -> String {
        let plan = report.plan
        var out = "evacuating \(report.host): \(plan.guests.count) guests, downtime limit \(ms(report.downtimeLimitSeconds)) ms\n"
        out += "search: \(report.method)\n"
        out += "plan: \(plan.concurrency) at a time, host empty after \(String(format: "%.1f", plan.finishSeconds)) s\n"
        out += columns([["guest", "destination", "start (s)", "end (s)", "downtime (ms)", "rounds", "outcome"]] + plan.guests.map { guest in
            [guest.name, guest.destination, s(guest.startSeconds), s(guest.endSeconds), ms(guest.downtimeSeconds),
             "\(guest.iterations)", guest.outcome + (guest.downtimeSeconds > report.downtimeLimitSeconds ? " (over the limit)" : "")]
        })
        out += "verdict: \(report.verdict)\n"
        out += "compared:\n"
        out += columns([["strategy", "at once", "empty after (s)", "worst downtime (ms)", "over the limit"]] + ([plan] + report.strategies).map {
            [$0.name, "\($0.concurrency)", s($0.finishSeconds), ms($0.worstDowntimeSeconds), "\($0.guestsOverLimit)"]
        })
        return out
    }

    static func s(_ seconds: Double) -> String { String(format: "%.2f", seconds) }
    static func ms(_ seconds: Double) -> String { String(format: "%.1f", seconds * 1000) }

    static func columns(_ rows: [[String]]) -> String {
        TextColumns.render(rows, rightAligned: [2, 3, 4, 5])
    }
}
