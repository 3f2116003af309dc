import Foundation
import XCTest

/// A migration that loses its connection after the source cleared the destination to run the
/// guest leaves the source paused (the outcome is unknown there). `livemig guest resume` asks
/// the destination: it resumes only if the guest is absent there, refuses while it runs there
/// (the paused copy is then discarded with `guest stop`), and needs `--force` when the
/// destination cannot be reached. The lost connection is made by the receiver's fault hook
/// (`LIVEMIG_FAULT`), at exactly that point.
final class UnknownCommitOutcomeCLITests: GuestHostsTestCase {
    private func assertBeats(_ name: String, _ runDirectory: String, file: StaticString = #filePath, line: UInt = #line) {
        let before = heartbeatCount(name, runDirectory)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.heartbeatCount(name, runDirectory) >= before + 3 },
                      "\(name) does not beat in \(runDirectory)", file: file, line: line)
    }

    /// Starts a receiver on B with `fault`, a guest on A, and migrates it: the source must end
    /// paused with an unknown outcome. Returns the run directories and the receiver's port.
    private func migrateIntoFault(_ fault: String) throws -> (hostA: String, hostB: String, port: Int) {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        setenv("LIVEMIG_FAULT", fault, 1)
        let port = try hosts.startLoopbackReceiver(hostB).port
        unsetenv("LIVEMIG_FAULT")
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "128M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let moved = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:\(port)", "--format", "json", "--run-dir", hostA])
        XCTAssertNotEqual(moved.status, 0)
        let report = try LivemigProcess.jsonObject(moved.stdout)
        XCTAssertEqual(report["outcome"] as? String, "aborted")
        XCTAssertTrue((report["reason"] as? String ?? "").contains("left paused"), "\(report)")
        XCTAssertTrue(listing(hostA).contains("paused"), listing(hostA))
        // While the outcome is unknown the paused copy may not move anywhere else.
        let again = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:\(port)", "--run-dir", hostA])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("settle that first"), again.stderr)
        return (hostA, hostB, port)
    }

    func testResumeRunsTheGuestAgainWhenTheDestinationNeverRanIt() throws {
        let (hostA, hostB, _) = try migrateIntoFault("exit-on:clearedToUnpause")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { !self.listing(hostB).contains("web") }, listing(hostB))
        let resumed = try hosts.livemig(["guest", "resume", "web", "--run-dir", hostA])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(listing(hostA).contains("running"), listing(hostA))
        assertBeats("web", hostA)
    }

    func testResumeIsRefusedWhileTheGuestRunsOnTheDestination() throws {
        let (hostA, hostB, _) = try migrateIntoFault("withhold:running")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("running") }, listing(hostB))
        let resumed = try hosts.livemig(["guest", "resume", "web", "--run-dir", hostA])
        XCTAssertNotEqual(resumed.status, 0)
        XCTAssertTrue(resumed.stderr.contains("committed on 127.0.0.1"), resumed.stderr)
        XCTAssertTrue(listing(hostA).contains("paused"), "the source copy must stay paused: \(listing(hostA))")
        // The operator discards the paused copy; the guest runs in exactly one place.
        XCTAssertEqual(try hosts.livemig(["guest", "stop", "web", "--run-dir", hostA]).status, 0)
        XCTAssertFalse(listing(hostA).contains("web"))
        assertBeats("web", hostB)
    }

    /// The destination ran the guest and then passed it on: it no longer has it, yet the
    /// migration committed there, so the source's paused copy is stale. Resume refuses (it
    /// asks about this migration's nonce, which the destination recorded at its commit).
    func testResumeIsRefusedAfterTheGuestRanThereAndMovedOn() throws {
        let (hostA, hostB, _) = try migrateIntoFault("withhold:running")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("running") }, listing(hostB))
        let hostC = hosts.runDirectory("c")
        let portC = try hosts.startLoopbackReceiver(hostC).port
        let onward = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:\(portC)", "--run-dir", hostB])
        XCTAssertEqual(onward.status, 0, onward.stderr)
        XCTAssertFalse(listing(hostB).contains("web"), listing(hostB))
        let resumed = try hosts.livemig(["guest", "resume", "web", "--run-dir", hostA])
        XCTAssertNotEqual(resumed.status, 0, "a stale copy must not run: the guest runs on C")
        XCTAssertTrue(resumed.stderr.contains("committed on 127.0.0.1"), resumed.stderr)
        XCTAssertTrue(listing(hostA).contains("paused"), listing(hostA))
        XCTAssertTrue(listing(hostC).contains("running"), listing(hostC))
    }

    func testResumeNeedsForceWhenTheDestinationCannotBeAsked() throws {
        let (hostA, hostB, _) = try migrateIntoFault("exit-on:clearedToUnpause")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { !self.listing(hostB).contains("web") }, listing(hostB))
        hosts.stopReceivers()
        let refused = try hosts.livemig(["guest", "resume", "web", "--run-dir", hostA])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--force"), refused.stderr)
        XCTAssertTrue(listing(hostA).contains("paused"), listing(hostA))
        let forced = try hosts.livemig(["guest", "resume", "web", "--force", "--run-dir", hostA])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        assertBeats("web", hostA)
    }
}
