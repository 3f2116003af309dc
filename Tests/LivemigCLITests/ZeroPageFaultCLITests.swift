import Foundation
import XCTest

/// A faulty stream where the zero pages go: a `zeroPages` record lost or damaged on the way
/// (`LIVEMIG_FAULT` on the receiver). The destination must not run a guest missing those
/// pages, and the source guest runs on at home. Real guests on /dev/kvm, a receiver on loopback.
final class ZeroPageFaultCLITests: GuestHostsTestCase {
    /// Migrates a fresh guest (mostly zero pages) to a receiver told to commit `fault`;
    /// returns the report.
    private func migrate(withReceiverFault fault: String, name: String) throws -> (report: [String: Any], hostA: String, hostB: String) {
        let (hostA, hostB) = (hosts.runDirectory("a-\(name)"), hosts.runDirectory("b-\(name)"))
        setenv("LIVEMIG_FAULT", fault, 1)
        let port: Int
        do {
            defer { unsetenv("LIVEMIG_FAULT") }
            port = try hosts.startLoopbackReceiver(hostB).port
        }
        let started = try hosts.livemig(["guest", "start", name, "--memory", "64M", "--workload", "uniform,workingSet=8MiB,rate=2000",
                                         "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let moved = try LivemigProcess.run(["migrate", "--live", name, "127.0.0.1:\(port)", "--format", "json", "--run-dir", hostA])
        XCTAssertNotEqual(moved.status, 0, "the migration must fail: \(moved.stdout)")
        let printed = moved.stdout
        let report = try LivemigProcess.jsonObject(String(printed[try XCTUnwrap(printed.firstIndex(of: "{"), moved.stderr)...]))
        return (report, hostA, hostB)
    }

    private func assertRunsOnlyAtHome(_ name: String, _ hostA: String, _ hostB: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostA).contains("running") }, listing(hostA), file: file, line: line)
        let before = heartbeatCount(name, hostA)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.heartbeatCount(name, hostA) >= before + 3 },
                      "the guest does not beat at home", file: file, line: line)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { !self.listing(hostB).contains(name) }, listing(hostB), file: file, line: line)
    }

    func testALostZeroPagesRecordLeavesTheGuestIncompleteThereAndRunningHere() throws {
        let (report, hostA, hostB) = try migrate(withReceiverFault: "drop:zeroPages#1", name: "zlost")
        XCTAssertEqual(report["outcome"] as? String, "aborted", "\(report)")
        // The destination's completeness check misses the lost record's pages.
        XCTAssertTrue((report["reason"] as? String ?? "").contains("every page"), "\(report)")
        assertRunsOnlyAtHome("zlost", hostA, hostB)
    }

    func testADamagedZeroPagesRecordIsRefusedAndTheGuestRunsHere() throws {
        let (report, hostA, hostB) = try migrate(withReceiverFault: "corrupt:zeroPages#2", name: "zbad")
        XCTAssertEqual(report["outcome"] as? String, "aborted", "\(report)")
        XCTAssertTrue((report["reason"] as? String ?? "").contains("zeroPages"), "\(report)")
        assertRunsOnlyAtHome("zbad", hostA, hostB)
    }
}
