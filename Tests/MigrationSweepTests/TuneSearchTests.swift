import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MigrationCore
import MigrationSweep
import XCTest

/// The tuning search on synthetic objectives (a known best), its bounds and knob grids, and
/// the Pareto front.
final class TuneSearchTests: XCTestCase {
    /// A summary whose p95 downtime and p95 time are given (seconds).
    private func summary(downtime: Double, time: Double, bytes: Double = 1e9, fallbacks: Int = 0) -> SweepPointSummary {
        let runs = (0 ..< 4).map { index in
            SweepRun(point: 0, run: index, seed: UInt64(index), outcome: index < fallbacks ? .offlineFallback : .converged,
                     totalTimeSeconds: time, downtimeSeconds: downtime, bytesSent: Int(bytes), liveIterations: 3, error: nil)
        }
        return SweepPointSummary(values: [:], runs: runs)
    }

    /// Downtime falls as maxIterations rises towards 16, time rises with it: the bound on time
    /// decides where the best lies, and the refinement finds a value between the grid's.
    private func evaluate(_ settings: [[String]], _ seed: UInt64) -> [SweepPointSummary] {
        settings.map { setting in
            let iterations = setting.first { $0.hasPrefix("policy.maxIterations=") }.flatMap { Double($0.split(separator: "=")[1]) } ?? 5
            return summary(downtime: 0.001 * (1 + abs(iterations - 16)), time: 10 + iterations)
        }
    }

    func testTheGridAndItsRefinementFindTheBestFeasibleSetting() throws {
        let knob = try TuneKnob.builtIn("policy.maxIterations", linkBytesPerSecond: 1e8)
        let free = try TuneSearch.run(knobs: [knob], objective: .p95Downtime, constraints: [], runs: 4, baseSeed: 1, guestBytes: 1e9) { settings, seed in
            self.evaluate(settings, seed)
        }
        XCTAssertEqual(free.best?.settings["policy.maxIterations"], "16", "between the grid's 12 and 20, found by refining")
        XCTAssertEqual(free.best?.stage, "refine")
        XCTAssertTrue(free.improves, "better than the defaults (maxIterations 5)")

        let bounded = try TuneSearch.run(knobs: [knob], objective: .p95Downtime, constraints: [try TuneConstraint(parsing: "p95-time<=20s")],
                                         runs: 4, baseSeed: 1, guestBytes: 1e9) { settings, seed in self.evaluate(settings, seed) }
        XCTAssertEqual(bounded.best?.settings["policy.maxIterations"], "10", "the bound on time stops it at 10")
        XCTAssertTrue(bounded.tried.allSatisfy { !$0.feasible || $0.summary.totalTimeSeconds.p95 <= 20 })

        let impossible = try TuneSearch.run(knobs: [knob], objective: .p95Downtime, constraints: [try TuneConstraint(parsing: "p95-time<=1s")],
                                            runs: 4, baseSeed: 1, guestBytes: 1e9) { settings, seed in self.evaluate(settings, seed) }
        XCTAssertNil(impossible.best)
        XCTAssertFalse(impossible.improves)
    }

    func testTheParetoFrontKeepsOnlyUndominatedSettings() throws {
        let knob = TuneKnob(key: "k", values: ["1", "2", "3", "4"], whole: true, unit: "")
        let outcome = try TuneSearch.run(knobs: [knob], objective: .p95Downtime, constraints: [], runs: 4, baseSeed: 1, guestBytes: 1e9) { settings, _ in
            settings.map { setting in
                switch setting.first ?? "" {
                case "k=1": self.summary(downtime: 0.010, time: 10)
                case "k=2": self.summary(downtime: 0.005, time: 20)
                case "k=3": self.summary(downtime: 0.006, time: 25)  // worse than k=2 on both
                case "k=4": self.summary(downtime: 0.001, time: 40)
                default: self.summary(downtime: 0.010, time: 11)  // the defaults: dominated by k=1
                }
            }
        }
        XCTAssertEqual(outcome.pareto.map { $0.settings["k"] ?? "defaults" }, ["4", "2", "1"])
    }

    func testBoundsAndKnobsAreCheckedAndNamed() throws {
        XCTAssertEqual(try TuneConstraint(parsing: "p95-downtime<=100ms").limit, 0.1, accuracy: 1e-12)
        XCTAssertEqual(try TuneConstraint(parsing: "bytes <= 3x").limit, 3)
        XCTAssertEqual(try TuneConstraint.list("p95-time<=60s,fallback<=0.1").count, 2)
        for (text, expected) in [("p95-time>=60s", "expected METRIC<=VALUE"), ("speed<=1s", "'speed' is not one of"),
                                 ("bytes<=3", "is not a multiple of guest memory"), ("p95-time<=soon", "is not a duration"),
                                 ("fallback<=2", "is not a probability")] {
            XCTAssertThrowsError(try TuneConstraint(parsing: text)) { XCTAssertTrue("\($0)".contains(expected), "\(text): \($0)") }
        }
        XCTAssertThrowsError(try TuneKnob.builtIn("link.latency", linkBytesPerSecond: 1)) { XCTAssertTrue("\($0)".contains("--knob link.latency=V1,V2")) }
        XCTAssertThrowsError(try TuneKnob(axis: SweepAxis(key: "a", values: ["3", "1"]))) { XCTAssertTrue("\($0)".contains("ascending")) }
        XCTAssertEqual(try TuneKnob.builtIn("migration.rateLimit", linkBytesPerSecond: 1e8).values, ["25000000B/s", "50000000B/s", "75000000B/s", "100000000B/s"])
        XCTAssertThrowsError(try TuneSearch.run(knobs: [], objective: .bytes, constraints: [], runs: 1, baseSeed: 1, guestBytes: 1) { _, _ in [] })
    }

    /// The tuning report: well-formed SVG with a marker per completed setting and the front, a
    /// row per Pareto setting, the verdict, nothing fetched.
    func testTheReportShowsEverySettingAndTheFront() throws {
        let knob = try TuneKnob.builtIn("policy.maxIterations", linkBytesPerSecond: 1e8)
        let outcome = try TuneSearch.run(knobs: [knob], objective: .p95Downtime, constraints: [try TuneConstraint(parsing: "p95-time<=25s")],
                                         runs: 4, baseSeed: 1, guestBytes: 1e9) { settings, seed in self.evaluate(settings, seed) }
        let html = TuneHTMLReport.render(outcome, scenario: "synthetic <1>")
        XCTAssertTrue(html.contains("synthetic &lt;1&gt;"))
        XCTAssertTrue(html.contains("The best setting beats the policy's defaults"))
        XCTAssertFalse(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"))
        let svg = try XCTUnwrap(html.range(of: "<svg").flatMap { start in html.range(of: "</svg>").map { String(html[start.lowerBound ..< $0.upperBound]) } })
        XCTAssertTrue(XMLParser(data: Data(svg.utf8)).parse())
        let markers = svg.components(separatedBy: "<circle").count - 1
        XCTAssertEqual(markers, outcome.tried.count + outcome.pareto.count + 1 + 1, "every setting, the front, the defaults and the best")
        XCTAssertEqual(html.components(separatedBy: "<tr>").count - 1, (1 + 2) + (1 + outcome.pareto.count), "two tables with their headers")
    }
}
