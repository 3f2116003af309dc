import Foundation
import XCTest

/// `livemig job NAME`: watching a migration under way, changing its limits mid-flight, and
/// cancelling it, on real guests (/dev/kvm) and a real receiver on loopback.
final class JobControlCLITests: GuestHostsTestCase {
    /// A 256 MiB guest migrated at 40 Mbit/s with every page whole: about 55 s unless steered.
    private func startCappedMigration(_ name: String, policy: String) throws -> (migration: SpawnedProcess, output: URL, hostA: String, hostB: String) {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB).port
        let started = try hosts.livemig(["guest", "start", name, "--memory", "256M", "--workload", "uniform,workingSet=32MiB,rate=20000",
                                         "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let output = hosts.root.appendingPathComponent("\(name).out")
        let migration = try SpawnedProcess.start(try LivemigProcess.binary().path,
                                                 ["migrate", "--live", name, "127.0.0.1:\(port)", "--bandwidth", "40Mbit/s", "--policy", policy,
                                                  "--no-zero-pages", "--format", "json", "--run-dir", hostA], outputPath: output.path)
        return (migration, output, hostA, hostB)
    }

    /// `job NAME --format json` once the migration has sent something.
    private func jobInfo(_ name: String, _ hostA: String) throws -> [String: Any] {
        var info: [String: Any] = [:]
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 60) {
            let shown = try? self.hosts.livemig(["job", name, "--format", "json", "--run-dir", hostA])
            guard let shown, shown.status == 0, let parsed = try? LivemigProcess.jsonObject(shown.stdout),
                  (parsed["transferredBytes"] as? Double ?? 0) > 0 else { return false }
            info = parsed
            return true
        }, "no job to show for \(name)")
        return info
    }

    private func report(_ output: URL) throws -> [String: Any] {
        let printed = try String(contentsOf: output, encoding: .utf8)
        return try LivemigProcess.jsonObject(String(printed[try XCTUnwrap(printed.firstIndex(of: "{"))...]))
    }

    func testAJobShowsItsProgressAndTakesNewLimitsMidFlight() throws {
        let (migration, output, hostA, hostB) = try startCappedMigration("steer", policy: "qemu")
        let info = try jobInfo("steer", hostA)
        XCTAssertEqual(info["guest"] as? String, "steer")
        XCTAssertEqual(info["phase"] as? String, "precopy")
        XCTAssertGreaterThanOrEqual(info["round"] as? Int ?? 0, 1)
        XCTAssertEqual(info["rateLimitBytesPerSecond"] as? Double ?? 0, 5e6, accuracy: 1)
        XCTAssertEqual(info["streams"] as? Int, 1)
        XCTAssertNil(info["compressionRatio"], "no compression: no ratio")
        XCTAssertGreaterThan(info["remainingBytes"] as? Double ?? 0, 0)
        let table = try hosts.livemig(["job", "steer", "--run-dir", hostA])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("steer: precopy, round"), table.stdout)

        // Out of range, or not a setting: refused before anything is sent.
        let tooSmall = try hosts.livemig(["job", "steer", "--set", "downtimeLimit=0", "--run-dir", hostA])
        XCTAssertNotEqual(tooSmall.status, 0)
        XCTAssertTrue(tooSmall.stderr.contains("downtimeLimit"), tooSmall.stderr)
        let unknown = try hosts.livemig(["job", "steer", "--set", "speed=1Gbit/s", "--run-dir", hostA])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("--set speed: not a setting"), unknown.stderr)

        // A new downtime limit goes to QEMU's rule; the cap is lifted and the migration ends
        // long before the 55 s the cap would take.
        let limit = try hosts.livemig(["job", "steer", "--set", "downtimeLimit=2s", "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(limit.status, 0, limit.stderr)
        let lifted = try hosts.livemig(["job", "steer", "--set", "bandwidth=none", "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(lifted.status, 0, lifted.stderr)
        XCTAssertEqual(migration.wait(seconds: 60), 0, "the migration did not end after the cap was lifted")
        let moved = try report(output)
        XCTAssertEqual(moved["outcome"] as? String, "converged", "\(moved)")
        let bytes = Double(moved["bytesSent"] as? Int ?? 0)
        XCTAssertLessThan(moved["totalTimeSeconds"] as? Double ?? .infinity, 0.8 * bytes / 5e6,
                          "the cap was not lifted: \(moved)")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("steer") }, listing(hostB))

        // Nothing under way any more.
        let after = try hosts.livemig(["job", "steer", "--run-dir", hostA])
        XCTAssertNotEqual(after.status, 0)
    }

    func testXensCountLimitsRefuseADowntimeLimitAndJobCancelStopsTheMigration() throws {
        let (migration, output, hostA, hostB) = try startCappedMigration("stay", policy: "xen4")
        _ = try jobInfo("stay", hostA)
        let refused = try hosts.livemig(["job", "stay", "--set", "downtimeLimit=100ms", "--run-dir", hostA])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("policy xen4 has no downtime limit"), refused.stderr)

        let cancel = try hosts.livemig(["job", "stay", "--cancel", "--run-dir", hostA])
        XCTAssertEqual(cancel.status, 0, cancel.stderr)
        XCTAssertNotNil(migration.wait(seconds: 60), "migrate did not end after the cancel")
        let aborted = try report(output)
        XCTAssertEqual(aborted["outcome"] as? String, "aborted")
        XCTAssertTrue((aborted["reason"] as? String ?? "").hasPrefix("cancelled:"), "\(aborted)")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostA).contains("running") }, listing(hostA))
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { !self.listing(hostB).contains("stay") }, listing(hostB))
    }
}
