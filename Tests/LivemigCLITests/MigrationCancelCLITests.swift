import Foundation
import XCTest

/// Cancelling a migration before it commits, from the command line: `livemig migrate --cancel
/// NAME` and Ctrl-C of `livemig migrate` both leave the guest running at home (still beating)
/// and nothing on the destination. Real guests on /dev/kvm, a real receiver on loopback.
final class MigrationCancelCLITests: GuestHostsTestCase {
    /// Starts a slow migration of a 512 MiB guest (capped at 8 MB/s, every page whole: about a
    /// minute) and
    /// waits until the source daemon says it is migrating.
    private func startSlowMigration() throws -> (migration: SpawnedProcess, output: URL, hostA: String, hostB: String) {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB).port
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "512M", "--workload", "uniform,workingSet=32MiB,rate=20000",
                                         "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let output = hosts.root.appendingPathComponent("migrate.out")
        let migration = try SpawnedProcess.start(try LivemigProcess.binary().path,
                                                 ["migrate", "--live", "web", "127.0.0.1:\(port)", "--bandwidth", "8MB/s",
                                                  "--no-zero-pages", "--format", "json", "--run-dir", hostA], outputPath: output.path)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostA).contains("migrating") },
                      "the migration did not start: \(listing(hostA))")
        // The destination has the guest arriving by now (its layout came first).
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("incoming") }, listing(hostB))
        return (migration, output, hostA, hostB)
    }

    /// The guest runs at home and beats on; the destination has nothing left.
    private func assertGuestRunsOnlyAtHome(_ hostA: String, _ hostB: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostA).contains("running") }, listing(hostA), file: file, line: line)
        let before = heartbeatCount("web", hostA)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.heartbeatCount("web", hostA) >= before + 3 },
                      "the guest does not beat at home", file: file, line: line)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { !self.listing(hostB).contains("web") },
                      "the destination still has: \(listing(hostB))", file: file, line: line)
    }

    func testMigrateCancelStopsTheMigrationAndTheGuestRunsAtHome() throws {
        let (migration, output, hostA, hostB) = try startSlowMigration()
        let cancel = try hosts.livemig(["migrate", "--cancel", "web", "--run-dir", hostA])
        XCTAssertEqual(cancel.status, 0, cancel.stderr)
        XCTAssertTrue(cancel.stdout.contains("cancelled"), cancel.stdout)
        let status = migration.wait(seconds: 60)
        XCTAssertNotNil(status, "migrate did not end after the cancel")
        XCTAssertNotEqual(status, 0)
        let printed = try String(contentsOf: output, encoding: .utf8)
        let report = try LivemigProcess.jsonObject(String(printed[try XCTUnwrap(printed.firstIndex(of: "{"))...]))
        XCTAssertEqual(report["outcome"] as? String, "aborted")
        XCTAssertTrue((report["reason"] as? String ?? "").hasPrefix("cancelled: migrate --cancel"), "\(report)")
        assertGuestRunsOnlyAtHome(hostA, hostB)
        // Nothing left to cancel.
        let again = try hosts.livemig(["migrate", "--cancel", "web", "--run-dir", hostA])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("not migrating"), again.stderr)
    }

    func testCtrlCOfMigrateCancelsItAndTheGuestRunsAtHome() throws {
        let (migration, _, hostA, hostB) = try startSlowMigration()
        kill(migration.pid, SIGINT)
        XCTAssertNotNil(migration.wait(seconds: 30), "migrate did not exit on SIGINT")
        assertGuestRunsOnlyAtHome(hostA, hostB)
    }
}
