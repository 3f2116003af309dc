import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MigrationCore
import MigrationReporting
import MigrationScenario
import MigrationSweep
import XCTest

/// The sweep's HTML report: self-contained (no script, nothing fetched), three plots whose SVG
/// is well-formed XML with a point per varied value, and a table row per point. (Rendering in a
/// real browser: `scripts/check-reports`, run by CI.)
final class SweepHTMLReportTests: XCTestCase {
    private let scenario = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scenarios/memory-hog-2g.yaml").path

    private func report(_ axes: [String]) throws -> (html: String, result: SweepResult) {
        let plan = try SweepPlan(axes: try axes.map { try SweepAxis(parsing: $0) }, runs: 5, baseSeed: 1)
        let configs = try (0 ..< plan.pointCount).map {
            try ScenarioLoader.load(path: scenario, overrides: ["simulation.fidelity=fluid"] + plan.overrides(ofPoint: $0)).config
        }
        let result = SweepResult(scenario: "hog <&>", plan: plan, runs: try SweepRunner.run(plan, configs: configs, jobs: 2))
        return (SweepHTMLReport.render(result), result)
    }

    private func svgs(_ html: String) -> [String] {
        var found: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "<svg"), let end = rest.range(of: "</svg>", range: start.upperBound ..< rest.endIndex) {
            found.append(String(rest[start.lowerBound ..< end.upperBound]))
            rest = rest[end.upperBound...]
        }
        return found
    }

    func testThreeWellFormedPlotsAndARowPerPoint() throws {
        let (html, result) = try report(["link.bandwidth=1000Mbit/s..4000Mbit/s/4", "policy.name=xen3,xen4"])
        XCTAssertFalse(html.contains("<script"), "no script")
        XCTAssertFalse(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"), "nothing fetched")
        XCTAssertTrue(html.contains("hog &lt;&amp;&gt;"), "names are escaped")
        let plots = svgs(html)
        XCTAssertEqual(plots.count, 3)
        for plot in plots {
            let parser = XMLParser(data: Data(plot.utf8))
            XCTAssertTrue(parser.parse(), "not well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
            // One marker per bandwidth for each policy's line.
            XCTAssertEqual(plot.components(separatedBy: "<circle").count - 1, 4 * 2)
        }
        XCTAssertEqual(html.components(separatedBy: "<tr>").count - 1, 1 + result.plan.pointCount)
        XCTAssertTrue(html.contains("p50 policy.name=xen3") && html.contains("p50 policy.name=xen4"), "one line per policy")
    }

    func testASweepOfSeedsAloneStillPlotsItsOnePoint() throws {
        let (html, _) = try report([])
        let plots = svgs(html)
        XCTAssertEqual(plots.count, 3)
        XCTAssertTrue(plots[0].contains("all 5 runs"))
        XCTAssertTrue(plots.allSatisfy { XMLParser(data: Data($0.utf8)).parse() })
    }
}
