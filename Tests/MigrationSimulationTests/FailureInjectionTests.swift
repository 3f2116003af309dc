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
}
