import MigrationCore
import MigrationScenario
@testable import MigrationSimulation
import XCTest

/// Post-copy in the simulator: the hand-over cuts the downtime of a guest that cannot converge,
/// its faults and their cost (the degradation), page and fluid fidelity agreeing, and a link
/// failure after the hand-over leaving the source paused and never resumed.
final class PostcopyModelTests: XCTestCase {
    private func hog(_ postcopy: PostcopySwitch, fidelity: Fidelity = .page) -> SimulationConfig {
        var config = Fixtures.hog(policy: PolicyConfiguration(name: .xen4), fidelity: fidelity)
        config.engine.postcopy = postcopy
        return config
    }

    func testAGuestThatCannotConvergeRunsOnTheDestinationAfterMillisecondsInsteadOfSeconds() throws {
        let offline = try Simulator.run(hog(.never)).report
        let postcopy = try Simulator.run(hog(.insteadOfFallback)).report
        XCTAssertEqual(offline.outcome, .offlineFallback)
        XCTAssertEqual(postcopy.outcome, .postcopy)
        XCTAssertGreaterThan(offline.downtimeSeconds, 0.1, "the hog's paused round carries its working set")
        XCTAssertLessThan(postcopy.downtimeSeconds, 0.02)
        XCTAssertEqual(postcopy.iterations.dropLast().map(\.pagesSent), offline.iterations.dropLast().map(\.pagesSent),
                       "the same live rounds before the hand-over")
        let report = try XCTUnwrap(postcopy.postcopy)
        XCTAssertEqual(report.pagesSent, report.pagesMissingAtStart)
        XCTAssertEqual(report.pagesMissingAtStart, offline.iterations.last?.pagesSent)
        // The hog writes its 32,768-page working set at 100,000 pages/s: it touches missing
        // pages at once, and stalls on them.
        let faults = try XCTUnwrap(report.faults)
        XCTAssertGreaterThan(faults, 1000)
        XCTAssertLessThanOrEqual(faults, report.pagesMissingAtStart)
        XCTAssertEqual(report.pagesRequested, faults, "each fault asks for a page once")
        let stall = try XCTUnwrap(report.guestStallShare)
        XCTAssertGreaterThan(stall, 0.05)
        XCTAssertLessThan(stall, 1)
        let latency = try XCTUnwrap(report.faultLatencyMeanSeconds)
        // At least the round trip, at most half a 4 MiB batch at 1 Gbit/s plus a page and the trip.
        XCTAssertGreaterThanOrEqual(latency, 0.0004)
        XCTAssertLessThan(latency, 0.0004 + 0.02)
        XCTAssertEqual(postcopy.totalTimeSeconds, offline.totalTimeSeconds, accuracy: offline.totalTimeSeconds * 0.02,
                       "the same pages cross the same link")
    }

    func testAnIdleGuestFaultsOnNothing() throws {
        var config = Fixtures.config(memoryBytes: 64 * Fixtures.mib, workload: .idle, policy: PolicyConfiguration(name: .xen4))
        config.engine.postcopy = .afterLiveRounds(1)
        let report = try Simulator.run(config).report
        // Nothing dirty after round 1: Xen 4 converges and never hands over.
        XCTAssertEqual(report.outcome, .converged)
        XCTAssertNil(report.postcopy)
    }

    func testPageAndFluidFidelityAgreeOnTheFaultsAndTheTime() throws {
        let page = try XCTUnwrap(Simulator.run(hog(.afterLiveRounds(1))).report.postcopy)
        let fluid = try XCTUnwrap(Simulator.run(hog(.afterLiveRounds(1), fidelity: .fluid)).report.postcopy)
        XCTAssertEqual(Double(fluid.pagesMissingAtStart), Double(page.pagesMissingAtStart), accuracy: Double(page.pagesMissingAtStart) * 0.05)
        XCTAssertEqual(fluid.durationSeconds, page.durationSeconds, accuracy: page.durationSeconds * 0.05)
        let pageFaults = Double(try XCTUnwrap(page.faults))
        XCTAssertEqual(Double(try XCTUnwrap(fluid.faults)), pageFaults, accuracy: pageFaults * 0.3)
        XCTAssertEqual(try XCTUnwrap(fluid.guestStallShare), try XCTUnwrap(page.guestStallShare), accuracy: 0.15)
    }

    func testTheSameSeedGivesTheSameReport() throws {
        XCTAssertEqual(try Simulator.run(hog(.afterLiveRounds(2))).report, try Simulator.run(hog(.afterLiveRounds(2))).report)
    }

    func testALinkFailureAfterTheHandOverLeavesTheSourcePausedAndNeverResumed() throws {
        let healthy = try Simulator.run(hog(.afterLiveRounds(1))).report
        let postcopy = try XCTUnwrap(healthy.postcopy)
        var config = hog(.afterLiveRounds(1))
        config.linkFailureAtSeconds = postcopy.startSeconds + postcopy.durationSeconds / 2
        let result = try Simulator.run(config)
        XCTAssertEqual(result.report.outcome, .aborted)
        XCTAssertEqual(result.report.sourceLeftPaused, true)
        XCTAssertTrue(result.report.reason.contains("post-copy was cut short"), result.report.reason)
        XCTAssertFalse(result.sourceGuestRunning)
        XCTAssertEqual(result.sourceResumeCount, 0, "the destination's copy ran on: the source's is stale")
    }
}

/// The scenario keys: `migration.postcopy` and `migration.postcopyAfter`.
final class PostcopyScenarioKeyTests: XCTestCase {
    private func scenario(_ migration: String) -> String {
        """
        name: pc
        guest:
          memory: 64MiB
        workload:
          kind: idle
        link:
          bandwidth: 1Gbit/s
        policy:
          name: xen4
        migration:
        \(migration)
        """
    }

    func testTheKeysSetTheEngine() throws {
        let fallback = try ScenarioLoader.parse(yaml: scenario("  postcopy: fallback"), file: "pc.yaml", defaultName: "pc")
        XCTAssertEqual(fallback.config.engine.postcopy, .insteadOfFallback)
        let after = try ScenarioLoader.parse(yaml: scenario("  postcopyAfter: 2"), file: "pc.yaml", defaultName: "pc")
        XCTAssertEqual(after.config.engine.postcopy, .afterLiveRounds(2))
        let none = try ScenarioLoader.parse(yaml: scenario("  live: true"), file: "pc.yaml", defaultName: "pc")
        XCTAssertEqual(none.config.engine.postcopy, .never)
    }

    func testBadValuesAreNamed() {
        for (text, expected) in [("  postcopyAfter: 0", "postcopyAfter"), ("  postcopy: maybe", "postcopy"),
                                 ("  postcopy: never\n  postcopyAfter: 2", "postcopy: never"),
                                 ("  live: false\n  postcopy: fallback", "migration.postcopy: asks for post-copy in a migration that is not live"),
                                 ("  streams: 2\n  postcopyAfter: 1", "migration.postcopyAfter: asks for post-copy with 2 streams")] {
            XCTAssertThrowsError(try ScenarioLoader.parse(yaml: scenario(text), file: "pc.yaml", defaultName: "pc"), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
