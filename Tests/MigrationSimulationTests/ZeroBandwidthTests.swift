import MigrationCore
import MigrationScenario
@testable import MigrationSimulation
import XCTest

/// A link whose bandwidth profile drops to 0 (documented as valid): the link stalls. A stretch
/// of 0 delays the migration; 0 for ever ends it at simulation.maxSeconds as `aborted`, with
/// the source guest running, at both fidelities. (Before: "an event needs a finite time" trap.)
final class ZeroBandwidthTests: XCTestCase {
    private func scenario(_ profile: String, fidelity: Fidelity, extra: String = "") throws -> SimulationConfig {
        let yaml = """
            guest: {memory: 64MiB}
            workload: {kind: uniform, rate: 1000}
            link:
              profile:
            \(profile)
            simulation: {fidelity: \(fidelity.rawValue), maxSeconds: 1h}
            \(extra)
            """
        return try ScenarioLoader.parse(yaml: yaml, file: "zero.yaml", defaultName: "zero").config
    }

    func testBandwidthZeroForEverAbortsAtTheTimeLimitWithTheSourceRunning() throws {
        for fidelity in Fidelity.allCases {
            let config = try scenario("    - {at: 0s, bandwidth: 1Gbit/s}\n    - {at: 0.1s, bandwidth: 0}", fidelity: fidelity)
            let result = try Simulator.run(config)
            XCTAssertEqual(result.report.outcome, .aborted, "\(fidelity)")
            XCTAssertEqual(result.report.totalTimeSeconds, 3600, accuracy: 0.01, "\(fidelity)")
            XCTAssertTrue(result.report.reason.contains("simulation.maxSeconds"), result.report.reason)
            XCTAssertTrue(result.report.reason.contains("never ends (link.profile: the bandwidth stays 0)"), result.report.reason)
            XCTAssertTrue(result.sourceGuestRunning, "\(fidelity)")
            XCTAssertLessThanOrEqual(result.sourceResumeCount, 1)
        }
    }

    func testAStretchOfZeroDelaysTheMigrationByItsLength() throws {
        for fidelity in Fidelity.allCases {
            let steady = try Simulator.run(try scenario("    - {at: 0s, bandwidth: 1Gbit/s}", fidelity: fidelity)).report
            let gap = try Simulator.run(try scenario(
                "    - {at: 0s, bandwidth: 1Gbit/s}\n    - {at: 0.2s, bandwidth: 0}\n    - {at: 10.2s, bandwidth: 1Gbit/s}",
                fidelity: fidelity)).report
            XCTAssertEqual(steady.outcome, .converged, "\(fidelity)")
            XCTAssertEqual(gap.outcome, .converged, "\(fidelity): \(gap.reason)")
            // Ten more seconds of wall time; the guest dirties more meanwhile, so a little more.
            XCTAssertGreaterThanOrEqual(gap.totalTimeSeconds, steady.totalTimeSeconds + 10, "\(fidelity)")
            XCTAssertLessThan(gap.totalTimeSeconds, steady.totalTimeSeconds + 12, "\(fidelity)")
        }
    }

    func testZeroDuringThePausedRoundResumesTheSourceOnceAtTheLimit() throws {
        // Offline: the guest is paused first, and the link stalls during the copy.
        for fidelity in Fidelity.allCases {
            let config = try scenario("    - {at: 0s, bandwidth: 1Gbit/s}\n    - {at: 0.1s, bandwidth: 0}", fidelity: fidelity,
                                      extra: "migration: {live: false}")
            let result = try Simulator.run(config)
            XCTAssertEqual(result.report.outcome, .aborted, "\(fidelity)")
            XCTAssertTrue(result.sourceGuestRunning, "\(fidelity)")
            XCTAssertEqual(result.sourceResumeCount, 1, "\(fidelity): paused, then resumed once at the limit")
        }
    }

    func testARateLimitSoSmallThatItsWaitOverflowsEndsAtTheTimeLimit() throws {
        for fidelity in Fidelity.allCases {
            var config = Fixtures.config(memoryBytes: 64 * Fixtures.mib, workload: .idle, policy: PolicyConfiguration(name: .xen4),
                                         fidelity: fidelity)
            config.engine.rateLimitBytesPerSecond = 1e-310
            config.maxSimulatedSeconds = 60
            let result = try Simulator.run(config)
            XCTAssertEqual(result.report.outcome, .aborted, "\(fidelity)")
            XCTAssertTrue(result.report.reason.contains("never ends (migration.rateLimit)"), result.report.reason)
            XCTAssertTrue(result.sourceGuestRunning)
        }
    }
}
