import Foundation
import XCTest

/// `livemig plan evacuate` on the shipped host file: the schedule, the verdict and the
/// comparison printed; the plan in JSON and HTML; the committed reference plan reproduced; bad
/// parameters in one line.
final class PlanEvacuateCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try LivemigProcess.temporaryDirectory(for: self)
    }

    func testTheShippedHostFileReproducesItsCommittedPlan() throws {
        let output = directory.appendingPathComponent("rack").path
        let result = try LivemigProcess.run(["plan", "evacuate", "scenarios/hosts/evacuate-rack.yaml", "--output", output])
        XCTAssertEqual(result.status, 0, result.stderr)
        for expected in ["plan: ", "every guest's downtime is within 300 ms; that meets the goal of 600 s", "sequential", "all at once", "smallest first",
                         "least-dirtying first", "db ", "idle-3 "] {
            XCTAssertTrue(result.stdout.contains(expected), "'\(expected)' missing from:\n\(result.stdout)")
        }
        let produced = try Data(contentsOf: URL(fileURLWithPath: output + ".json"))
        let committed = try Data(contentsOf: LivemigProcess.packageRoot.appendingPathComponent("results/evacuate-rack-plan.json"))
        XCTAssertEqual(String(decoding: produced, as: UTF8.self), String(decoding: committed, as: UTF8.self),
                       "run scripts/update-results if the model changed on purpose")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: produced) as? [String: Any])
        let plan = try XCTUnwrap(json["plan"] as? [String: Any])
        let guests = try XCTUnwrap(plan["guests"] as? [[String: Any]])
        XCTAssertEqual(guests.count, 12)
        // The plan beats sequential and all at once on the shipped host (the reason to plan).
        let strategies = try XCTUnwrap(json["strategies"] as? [[String: Any]])
        let finish = { (summary: [String: Any]) in summary["finishSeconds"] as? Double ?? .infinity }
        for name in ["sequential", "all at once"] {
            let strategy = try XCTUnwrap(strategies.first { $0["name"] as? String == name })
            let better = (plan["guestsOverLimit"] as? Int ?? 99) < (strategy["guestsOverLimit"] as? Int ?? 0) || finish(plan) < finish(strategy)
            XCTAssertTrue(better, "the plan does not beat \(name)")
        }
        let html = try String(contentsOfFile: output + ".html", encoding: .utf8)
        XCTAssertTrue(html.contains("<svg") && html.contains("db → rack-0"), "no Gantt chart")
        // Self-contained: nothing to fetch (the only URL is SVG's namespace name, never loaded).
        for reference in ["<script", "src=", "href=", "<link", "@import"] {
            XCTAssertFalse(html.contains(reference), "the report refers to something outside it: \(reference)")
        }
    }

    func testBadParametersGetOneLine() throws {
        let host = directory.appendingPathComponent("host.yaml")
        try """
        source: { uplink: 1Gbit/s }
        destinations: [{ name: b, bandwidth: 1Gbit/s, memory: 2GiB }]
        limits: { downtime: 100ms }
        guests: [{ name: big, guest: { memory: 4GiB } }]
        """.write(to: host, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["scenarios/hosts/no-such-host.yaml"], "no-such-host.yaml"),
            (["scenarios/hosts/evacuate-rack.yaml", "--budget", "0"], "--budget"),
            (["scenarios/hosts/evacuate-rack.yaml", "--max-concurrent", "0"], "--max-concurrent"),
            (["scenarios/hosts/evacuate-rack.yaml", "--format", "xml"], "--format xml: not one of table, json"),
            ([host.path], "no destination has room for its 4096 MiB"),
        ]
        try LivemigProcess.assertEachFailsInOneLine(["plan", "evacuate", "--output", directory.appendingPathComponent("bad").path], cases)
    }
}
