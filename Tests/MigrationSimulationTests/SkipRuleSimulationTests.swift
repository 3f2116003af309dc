import MigrationCore
@testable import MigrationSimulation
import XCTest

/// Xen 3's skip rule in the page-level simulator: pages dirtied again while their round runs
/// are skipped and go out later; Xen 4 has no such rule.
final class SkipRuleSimulationTests: XCTestCase {
    private let hotWorkload = Workload.hotCold(workingSetPages: 65_536, hotPages: 4096,
                                               hotRatePagesPerSecond: 50_000, coldRatePagesPerSecond: 1000)

    func testXen3SkipsPagesDirtiedDuringTheRoundAndSendsThemLater() throws {
        let report = try Simulator.run(Fixtures.config(memoryBytes: Fixtures.gib, workload: hotWorkload,
                                                       policy: PolicyConfiguration(name: .xen3))).report
        let first = try XCTUnwrap(report.iterations.first)
        XCTAssertGreaterThan(first.pagesSkipped, 1000, "the hot set is rewritten during the 8.6 s first pass")
        // Every page is sent at least once, skipped ones included.
        XCTAssertEqual(first.pagesSent + first.pagesSkipped, 262_144)
        // What a round skipped is dirty, so the next round sends or skips it again.
        for (round, next) in zip(report.iterations, report.iterations.dropFirst()) where !round.paused {
            XCTAssertEqual(round.pagesDirtied, next.pagesSent + next.pagesSkipped, "round \(round.index)")
        }
        XCTAssertEqual(report.iterations.last?.pagesSkipped, 0, "the paused round skips nothing")
    }

    func testXen4SkipsNothing() throws {
        let report = try Simulator.run(Fixtures.config(memoryBytes: Fixtures.gib, workload: hotWorkload,
                                                       policy: PolicyConfiguration(name: .xen4))).report
        XCTAssertEqual(report.iterations.map(\.pagesSkipped).reduce(0, +), 0)
        XCTAssertEqual(report.iterations.first?.pagesSent, 262_144)
    }
}
