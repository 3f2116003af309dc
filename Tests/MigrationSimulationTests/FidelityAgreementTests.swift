import MigrationCore
@testable import MigrationSimulation
import XCTest

/// The page-level and fluid models describe the same migration: on the same scenario their
/// totals agree within a few percent, and their live rounds within one.
final class FidelityAgreementTests: XCTestCase {
    private func assertAgree(_ config: SimulationConfig, tolerance: Double = 0.03, iterationTolerance: Int = 1,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        var page = config
        page.fidelity = .page
        var fluid = config
        fluid.fidelity = .fluid
        let pageReport = try Simulator.run(page).report
        let fluidReport = try Simulator.run(fluid).report
        XCTAssertEqual(pageReport.outcome, fluidReport.outcome, "outcome", file: file, line: line)
        for (name, a, b) in [("totalTimeSeconds", pageReport.totalTimeSeconds, fluidReport.totalTimeSeconds),
                             ("bytesSent", Double(pageReport.bytesSent), Double(fluidReport.bytesSent))] {
            XCTAssertLessThanOrEqual(abs(a - b) / a, tolerance, "\(name): page \(a) vs fluid \(b)", file: file, line: line)
        }
        XCTAssertLessThanOrEqual(abs(pageReport.liveIterationCount - fluidReport.liveIterationCount), iterationTolerance,
                                 "live rounds: page \(pageReport.liveIterationCount) vs fluid \(fluidReport.liveIterationCount)",
                                 file: file, line: line)
    }


    func testUniformWritesUnderXen4() throws {
        try assertAgree(Fixtures.config(memoryBytes: Fixtures.gib,
                                        workload: .uniform(workingSetPages: 131_072, ratePagesPerSecond: 5000),
                                        policy: PolicyConfiguration(name: .xen4)))
    }

    func testHotColdWithTheXen3SkipRule() throws {
        try assertAgree(Fixtures.config(memoryBytes: Fixtures.gib,
                                        workload: .hotCold(workingSetPages: 65_536, hotPages: 4096,
                                                           hotRatePagesPerSecond: 3000, coldRatePagesPerSecond: 200),
                                        policy: PolicyConfiguration(name: .xen3)))
    }

    func testZipfUnderQemu() throws {
        try assertAgree(Fixtures.config(memoryBytes: 2 * Fixtures.gib,
                                        workload: .zipf(workingSetPages: 262_144, ratePagesPerSecond: 20_000, exponent: 0.99),
                                        bytesPerSecond: 1.25e9, policy: PolicyConfiguration(name: .qemu)))
    }

    /// A sweep under QEMU's rule, which syncs between batches once the pending pages fall
    /// under its threshold: the fluid model sends each round's end in halves to see that
    /// moment (it once sent every round whole and took 3.0 s where page level took 5.1 s).
    /// The sweep's pages are dirtied in the order they are sent, which the fluid model's
    /// independent regions do not capture: the totals agree within 10 %, not 3, and the page
    /// level runs 11 short rounds where the fluid model runs 7 (a known gap, in the note).
    func testASweepUnderQemu() throws {
        try assertAgree(Fixtures.config(memoryBytes: Fixtures.gib, workload: .sequential(regionPages: 32_768, ratePagesPerSecond: 20_000),
                                        policy: PolicyConfiguration(name: .qemu)), tolerance: 0.1, iterationTolerance: 4)
    }

    func testNonConvergingGuestFallsBackInBothModels() throws {
        try assertAgree(Fixtures.hog(policy: PolicyConfiguration(name: .xen4)))
    }
}
