import MigrationCore
import MigrationScenario
@testable import MigrationSimulation
import XCTest

/// The simulator models the paused round as the executor runs it: at the link's rate by
/// default, at the cap with `migration.capPausedRound`; the live rounds are capped either way.
/// Both fidelities.
final class PausedRoundRateTests: XCTestCase {
    /// A guest that never converges under xen4: 64 MiB rewritten at 100,000 pages/s, 10 Gbit/s
    /// link, 1 Gbit/s cap; it falls back with the working set in the paused round.
    private func run(capsPausedRound: Bool, fidelity: Fidelity) throws -> MigrationReport {
        let yaml = """
            guest: {memory: 1GiB}
            workload: {kind: uniform, workingSet: 16384, rate: 100000}
            link: {bandwidth: 10Gbit/s, latency: 0.2ms}
            migration: {rateLimit: 1Gbit/s, capPausedRound: \(capsPausedRound)}
            policy: {name: xen4}
            simulation: {fidelity: \(fidelity.rawValue)}
            """
        return try Simulator.run(try ScenarioLoader.parse(yaml: yaml, file: "paused.yaml", defaultName: "paused").config).report
    }

    func testThePausedRoundRunsAtTheLinksRateUnlessCapped() throws {
        for fidelity in [Fidelity.page, .fluid] {
            let lineRate = try run(capsPausedRound: false, fidelity: fidelity)
            let capped = try run(capsPausedRound: true, fidelity: fidelity)
            XCTAssertEqual(lineRate.outcome, .offlineFallback, "\(fidelity)")
            let pausedPages = Double(try XCTUnwrap(capped.iterations.last?.pagesSent))
            XCTAssertGreaterThan(pausedPages, 10_000, "\(fidelity): the working set is in the paused round")
            let bytes = pausedPages * 4104
            // Capped: at least the pages at 1 Gbit/s; at line rate: near them at 10 Gbit/s.
            XCTAssertGreaterThan(capped.downtimeSeconds, bytes / 1.25e8, "\(fidelity)")
            XCTAssertLessThan(lineRate.downtimeSeconds, bytes / 1.25e8 / 5, "\(fidelity)")
            XCTAssertGreaterThan(lineRate.downtimeSeconds, bytes / 1.25e9, "\(fidelity)")
            // The live rounds are the same: capped in both.
            XCTAssertEqual(lineRate.iterations.dropLast().map(\.pagesSent), capped.iterations.dropLast().map(\.pagesSent), "\(fidelity)")
        }
    }

    /// The simulator reports the pause's phases as a real migration does, the destination's
    /// part included (its unpause is the model's `resumeSeconds`): both fidelities.
    func testTheSimulatorBreaksThePauseDownLikeARealMigration() throws {
        for fidelity in [Fidelity.page, .fluid] {
            let yaml = """
                guest: {memory: 1GiB}
                workload: {kind: uniform, workingSet: 4096, rate: 2000}
                link: {bandwidth: 10Gbit/s, latency: 0.2ms}
                source: {pauseCost: 1ms, resumeCost: 3ms}
                policy: {name: qemu}
                simulation: {fidelity: \(fidelity.rawValue)}
                """
            let report = try Simulator.run(try ScenarioLoader.parse(yaml: yaml, file: "phases.yaml", defaultName: "phases").config).report
            let phases = try XCTUnwrap(report.pausePhases, "\(fidelity)")
            XCTAssertEqual(phases.totalSeconds, report.downtimeSeconds, accuracy: 1e-9, "\(fidelity)")
            let there = try XCTUnwrap(phases.destination, "\(fidelity): \(phases)")
            XCTAssertEqual(there.unpauseSeconds, 0.003, accuracy: 1e-12, "\(fidelity)")
            // What is left of the waits on the destination: the round trips over the link.
            XCTAssertEqual(try XCTUnwrap(phases.transitSeconds), 3 * 0.0002, accuracy: 1e-9, "\(fidelity): \(phases)")
        }
    }
}
