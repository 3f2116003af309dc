import MigrationCore
@testable import MigrationSimulation
import XCTest

/// A failed migration leaves the source guest running, exactly once.
final class FailureInjectionTests: XCTestCase {
    func testLinkFailureDuringLivePrecopyAbortsAndKeepsTheSourceRunning() throws {
        var config = Fixtures.hog(policy: PolicyConfiguration(name: .xen4))
        config.linkFailureAtSeconds = 2
        let result = try Simulator.run(config)
        XCTAssertEqual(result.report.outcome, .aborted)
        XCTAssertTrue(result.report.reason.contains("link failed"), result.report.reason)
        XCTAssertTrue(result.sourceGuestRunning)
        XCTAssertEqual(result.sourceResumeCount, 0, "never paused, so never resumed")
    }

    func testLinkFailureDuringThePausedRoundResumesTheSourceOnce() throws {
        let healthy = try Simulator.run(Fixtures.hog(policy: PolicyConfiguration(name: .xen4))).report
        let paused = try XCTUnwrap(healthy.iterations.last)
        var config = Fixtures.hog(policy: PolicyConfiguration(name: .xen4))
        config.linkFailureAtSeconds = paused.startSeconds + paused.durationSeconds / 2
        let result = try Simulator.run(config)
        XCTAssertEqual(result.report.outcome, .aborted)
        XCTAssertTrue(result.sourceGuestRunning)
        XCTAssertEqual(result.sourceResumeCount, 1)
    }

    func testTimeLimitAbortsAnEndlessMigration() throws {
        var config = Fixtures.hog(policy: PolicyConfiguration(name: .qemu, fallbackRounds: 0))
        config.maxSimulatedSeconds = 30
        let result = try Simulator.run(config)
        XCTAssertEqual(result.report.outcome, .aborted)
        XCTAssertTrue(result.report.reason.contains("simulation.maxSeconds"), result.report.reason)
        XCTAssertTrue(result.sourceGuestRunning)
    }

    /// A link failure or the time limit at the very instant an action completes comes first
    /// (they were scheduled first): here the instant "cleared to unpause" completes, so the
    /// clearance is cut short, and the commit rules leave the source paused (xl's rule).
    func testALinkFailureOrTheLimitAtACompletionsInstantComesFirst() throws {
        let base = Fixtures.config(memoryBytes: 64 * Fixtures.mib, workload: .idle, policy: PolicyConfiguration(name: .xen4))
        let healthy = try Simulator.run(base).report
        XCTAssertEqual(healthy.outcome, .converged)
        // The clearance completes at the end (destroying the source takes no time).
        let end = healthy.totalTimeSeconds
        var failing = base
        failing.linkFailureAtSeconds = end
        var limited = base
        limited.maxSimulatedSeconds = end
        for (config, cause) in [(failing, "link failed"), (limited, "simulation.maxSeconds")] {
            let report = try Simulator.run(config).report
            XCTAssertEqual(report.outcome, .aborted, cause)
            XCTAssertEqual(report.sourceLeftPaused, true, cause)
            XCTAssertTrue(report.reason.contains(cause), report.reason)
        }
        // Both at once: the link failure comes first (it was scheduled first), and the limit,
        // finding no action out, cuts nothing short.
        var both = base
        both.linkFailureAtSeconds = end / 2
        both.maxSimulatedSeconds = end / 2
        let report = try Simulator.run(both).report
        XCTAssertEqual(report.outcome, .aborted)
        XCTAssertTrue(report.reason.contains("link failed"), report.reason)
        XCTAssertFalse(report.reason.contains("simulation.maxSeconds"), report.reason)
        // A failure time that is not a time is refused, naming the key.
        var nonsense = base
        nonsense.linkFailureAtSeconds = .nan
        XCTAssertThrowsError(try Simulator.run(nonsense)) { XCTAssertTrue("\($0)".contains("link.failAt"), "\($0)") }
        // A moment later, the migration is over first.
        var later = base
        later.maxSimulatedSeconds = end.nextUp
        XCTAssertEqual(try Simulator.run(later).report.outcome, .converged)
    }

    /// The fluid regions kept from the run before give the same report as regions cut afresh.
    func testAFluidRunIsTheSameAfterAnotherWorkload() throws {
        let first = Fixtures.config(memoryBytes: 256 * Fixtures.mib, workload: .uniform(workingSetPages: 8192, ratePagesPerSecond: 20_000),
                                    policy: PolicyConfiguration(name: .qemu), fidelity: .fluid)
        let second = Fixtures.config(memoryBytes: 256 * Fixtures.mib, workload: .hotCold(workingSetPages: 16_384, hotPages: 1024,
                                                                                         hotRatePagesPerSecond: 30_000, coldRatePagesPerSecond: 100),
                                     policy: PolicyConfiguration(name: .qemu), fidelity: .fluid)
        let cold = try Simulator.run(first).report
        let other = try Simulator.run(second).report
        XCTAssertEqual(try Simulator.run(first).report, cold, "warm cache")
        _ = try Simulator.run(first)
        XCTAssertEqual(try Simulator.run(second).report, other)
        XCTAssertNotEqual(cold, other)
    }
}
