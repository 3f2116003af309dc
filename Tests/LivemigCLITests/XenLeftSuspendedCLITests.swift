import Foundation
import XCTest

/// The guards around a Xen domain left suspended as NAME--migratedaway, which act before libxl
/// is opened, so they run on any host: `guest resume NAME --force` resumes only a domain that a
/// migration recorded as left suspended with an unknown outcome, and never while a migration of
/// it runs; `migrate --cancel NAME` finds no migration where none runs. The registration file
/// is RUN_DIR/xen-HASH.migration (FNV-1a of the name), holding pid, state and name.
final class XenLeftSuspendedCLITests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try LivemigProcess.temporaryDirectory(for: self)
    }


    private func registrationPath(_ name: String) -> String {
        let hash = name.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
        return directory.appendingPathComponent("xen-\(String(hash, radix: 16)).migration").path
    }

    private func livemig(_ arguments: [String]) throws -> LivemigProcess.Result {
        try LivemigProcess.run(arguments + ["--xen", "--run-dir", directory.path])
    }

    func testResumeWithoutARecordRefusesAndSaysWhatToCheck() throws {
        let result = try livemig(["guest", "resume", "dom", "--force"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no migration here left dom suspended with an unknown outcome"), result.stderr)
        XCTAssertTrue(result.stderr.contains("xl destroy"), result.stderr)
    }

    func testResumeWithoutForceExplainsWhy() throws {
        let result = try livemig(["guest", "resume", "dom"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("cannot ask the destination"), result.stderr)
    }

    func testAMigrationInProgressBlocksResumeAndARecordWithoutOneBlocksCancel() throws {
        let path = registrationPath("dom")
        try Data("\(getpid())\nleft-suspended\ndom\n".utf8).write(to: URL(fileURLWithPath: path))
        // Locked: as by a `migrate` process that still runs.
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        let blocked = try livemig(["guest", "resume", "dom", "--force"])
        XCTAssertNotEqual(blocked.status, 0)
        XCTAssertTrue(blocked.stderr.contains("a migration of dom is in progress"), blocked.stderr)
        close(fd)

        // Unlocked and left suspended: cancel finds no migration and says how to resume...
        let cancel = try livemig(["migrate", "dom", "--cancel"])
        XCTAssertNotEqual(cancel.status, 0)
        XCTAssertTrue(cancel.stderr.contains("ended leaving it suspended as dom--migratedaway"), cancel.stderr)
        // ...and resume passes the guard (then needs a Xen host; off Xen it says so).
        let resume = try livemig(["guest", "resume", "dom", "--force"])
        if FileManager.default.fileExists(atPath: "/dev/xen/privcmd") { return }
        XCTAssertNotEqual(resume.status, 0)
        XCTAssertTrue(resume.stderr.contains("/dev/xen/privcmd"), resume.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "the record stays until the domain has resumed")
    }

    func testARecordOfAMigrationThatDiedProvesNothingAndIsRemoved() throws {
        let path = registrationPath("dom")
        try Data("999999\nmigrating\ndom\n".utf8).write(to: URL(fileURLWithPath: path))
        let resume = try livemig(["guest", "resume", "dom", "--force"])
        XCTAssertNotEqual(resume.status, 0)
        XCTAssertTrue(resume.stderr.contains("the last one ended without saying so"), resume.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let cancel = try livemig(["migrate", "dom", "--cancel"])
        XCTAssertTrue(cancel.stderr.contains("no migration of dom is in progress"), cancel.stderr)
    }
}
