import MigrationCore
@testable import MigrationSimulation
import XCTest

/// End-to-end checks of the simulator on hand-computable scenarios.
final class SimulatorSmokeTests: XCTestCase {
    private let gib = 1 << 30

    func testIdleGuestConvergesInOneFullPassAtLinkSpeed() throws {
        for fidelity in Fidelity.allCases {
            let config = SimulationConfig(
                guestMemoryBytes: gib, workload: .idle, link: LinkModel(bytesPerSecond: 125_000_000),
                costs: HostCosts(dirtyLogReadSecondsPerGiB: 0, dirtyLogPeekSecondsPerGiB: 0, pageCopySecondsPerPage: 0, pauseSeconds: 0,
                                 resumeSeconds: 0, deviceStateBytes: 0),
                policy: PolicyConfiguration(name: .xen4), fidelity: fidelity, seed: 7)
            let result = try Simulator.run(config)
            let report = result.report
            XCTAssertEqual(report.outcome, .converged, "\(fidelity)")
            XCTAssertEqual(report.pagesSent, 262_144, "\(fidelity)")
            // 262,144 pages x (4096 + 8) bytes + 256 batches x 16 bytes, at 125 MB/s.
            let expectedBytes = 262_144 * 4104 + 256 * 16
            XCTAssertEqual(report.bytesSent, expectedBytes, "\(fidelity)")
            XCTAssertEqual(report.totalTimeSeconds, Double(expectedBytes) / 125_000_000, accuracy: 1e-6, "\(fidelity)")
            XCTAssertEqual(report.iterations.map(\.paused), [false, true], "\(fidelity)")
            XCTAssertEqual(report.seed, 7)
            XCTAssertFalse(result.sourceGuestRunning)
        }
    }
}
