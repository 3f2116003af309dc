import MigrationCore
@testable import MigrationSimulation
import XCTest

/// The page-level and fluid models describe the same migration: on the same scenario their
/// totals agree within a few percent.
final class FidelityAgreementTests: XCTestCase {
    private func assertAgree(_ config: SimulationConfig, tolerance: Double = 0.03, file: StaticString = #filePath, line: UInt = #line) throws {
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

    func testNonConvergingGuestFallsBackInBothModels() throws {
        try assertAgree(Fixtures.hog(policy: PolicyConfiguration(name: .xen4)))
    }
}
