import Foundation
import XCTest

/// `migrate --validate`: a prediction first, the migration refused when it breaks a limit,
/// else run and compared.
final class ValidatedMigrationCLITests: GuestHostsTestCase {
    func testValidatePredictsRefusesOverALimitAndComparesAfterwards() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try hosts.startLoopbackReceiver(hostB).port
        for name in ["va", "vb"] {
            let started = try hosts.livemig(["guest", "start", name, "--memory", "128M", "--workload", "uniform,workingSet=16MiB,rate=5000",
                                             "--run-dir", hostA])
            XCTAssertEqual(started.status, 0, started.stderr)
        }
        // QEMU's 300 ms downtime budget cannot meet a 1 ms limit: refused, and nothing moves.
        let refused = try LivemigProcess.run(["migrate", "--live", "vb", "127.0.0.1:\(portB)", "--policy", "qemu", "--bandwidth", "1Gbit/s",
                                              "--max-downtime", "1", "--validate", "--validation-runs", "50", "--run-dir", hostA])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("p95 downtime") && refused.stderr.contains("Not migrated"), refused.stderr)
        XCTAssertTrue(refused.stdout.contains("prediction (50 simulated runs"), refused.stdout)
        XCTAssertTrue(listing(hostA).contains("vb"), "a refused migration leaves the guest here")

        let moved = try LivemigProcess.run(["migrate", "--live", "va", "127.0.0.1:\(portB)", "--policy", "qemu", "--bandwidth", "1Gbit/s",
                                            "--validate", "--validation-runs", "50", "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        let output = try LivemigProcess.jsonObject(moved.stdout)
        XCTAssertEqual((output["prediction"] as? [String: Any])?["runs"] as? Int, 50, "\(output)")
        XCTAssertEqual((output["report"] as? [String: Any])?["outcome"] as? String, "converged", "\(output)")
        let measured = try XCTUnwrap((output["report"] as? [String: Any])?["measured"] as? [String: Any], "\(output)")
        let writes = try XCTUnwrap(measured["guestWritesPerSecond"] as? Double, "\(measured)")
        XCTAssertGreaterThan(writes, 1000, "the guest program's own count while live (5,000 asked)")
        // Over a migration of a fifth of a second (zero pages go as markers), the count's
        // bursts show: a quarter over the asked rate at most.
        XCTAssertLessThan(writes, 6250)
        let timeError = try XCTUnwrap(output["totalTimeError"] as? Double, "\(output)")
        // No history yet: the link's efficiency at the cap came from a throughput probe. The
        // time is held to its order of magnitude here; the accuracy suite holds the model to 5 %.
        XCTAssertLessThan(abs(timeError), 0.9, "\(output)")
        let calibrated = try String(contentsOfFile: "\(hostA)/va.calibrated.yaml", encoding: .utf8)
        XCTAssertTrue(calibrated.contains("efficiency:") && calibrated.contains("measured: the share of the cap"), calibrated)
        XCTAssertTrue((output["scenario"] as? String ?? "").contains("va.calibrated.yaml"), "\(output)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(hostA)/va.calibrated.yaml"))

        let misplaced = try LivemigProcess.run(["migrate", "--live", "vb", "127.0.0.1:\(portB)", "--max-time", "5", "--run-dir", hostA])
        XCTAssertNotEqual(misplaced.status, 0)
        XCTAssertTrue(misplaced.stderr.contains("belong to --validate"), misplaced.stderr)
    }
}
