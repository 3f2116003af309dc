import Foundation
import XCTest

/// `migrate --streams N` end to end with real KVM guests and real receivers: the pages go on N
/// data streams beside the main connection, plain and over mutual TLS (each data stream passes
/// the same certificate check), the destination's memory is verified against the source's
/// digest, and the guest runs on there; a count out of range is refused before anything moves.
final class ParallelStreamsCLITests: GuestHostsTestCase {
    func testAGuestMovesOnFourStreamsWithItsMemoryVerified() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB).port
        let report = try startAndMigrate("web", memory: "64M", workload: "uniform,workingSet=16MiB,rate=2000", hostA: hostA, portB: port,
                                         ["--streams", "4", "--verify-memory"])
        XCTAssertNotEqual(report["outcome"] as? String, "aborted", "\(report)")
        XCTAssertEqual(report["memoryVerified"] as? Bool, true, "the destination checked its memory against the source's digest")
        XCTAssertEqual(report["dataStreams"] as? Int, 4, "\(report)")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("running") }, listing(hostB))
        XCTAssertFalse(listing(hostA).contains("web"), listing(hostA))
        let before = heartbeatCount("web", hostB)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.heartbeatCount("web", hostB) >= before + 3 }, "the guest beats on there")
    }

    func testFourStreamsOverMutualTLS() throws {
        let pki = try makeLoopbackCertificates()
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB, extraArguments: ["--tls-dir", "\(pki)/hostb"]).port
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "64M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let moved = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:\(port)", "--streams", "4", "--tls-dir", "\(pki)/hosta",
                                       "--verify-memory", "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        let report = try LivemigProcess.jsonObject(moved.stdout)
        XCTAssertEqual(report["memoryVerified"] as? Bool, true, moved.stdout)
        XCTAssertEqual(report["dataStreams"] as? Int, 4, moved.stdout)
        // The destination's daemon checked five certificates: the main connection's and each data stream's.
        let log = (try? String(contentsOfFile: "\(hostB)/incoming.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(log.components(separatedBy: "TLS peer: ").count - 1, 5, log)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("running") }, listing(hostB))
    }

    func testAStreamCountOutOfRangeIsRefusedAndTheGuestStays() throws {
        let hostA = hosts.runDirectory("a")
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "16M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        for count in ["0", "17"] {
            let refused = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:1", "--streams", count, "--run-dir", hostA])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.stderr.contains("--streams \(count)") && refused.stderr.contains("from 1 to 16"), refused.stderr)
        }
        XCTAssertTrue(listing(hostA).contains("running"), listing(hostA))
    }

    /// A capped migration on 3 streams, watched and cancelled: `job` shows the streams, the cancel
    /// shuts every connection, the guest runs on at home and the destination keeps nothing.
    func testACancelledJobOnThreeStreamsLeavesTheGuestAtHome() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB).port
        let started = try hosts.livemig(["guest", "start", "busy", "--memory", "256M", "--workload", "uniform,workingSet=32MiB,rate=20000",
                                         "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let output = hosts.root.appendingPathComponent("busy.out")
        let migration = try SpawnedProcess.start(try LivemigProcess.binary().path,
                                                 ["migrate", "--live", "busy", "127.0.0.1:\(port)", "--bandwidth", "40Mbit/s", "--streams", "3",
                                                  "--no-zero-pages", "--format", "json", "--run-dir", hostA], outputPath: output.path)
        var info: [String: Any] = [:]
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 60) {
            let shown = try? self.hosts.livemig(["job", "busy", "--format", "json", "--run-dir", hostA])
            guard let shown, shown.status == 0, let parsed = try? LivemigProcess.jsonObject(shown.stdout),
                  (parsed["transferredBytes"] as? Double ?? 0) > 0 else { return false }
            info = parsed
            return true
        }, "no job to show")
        XCTAssertEqual(info["streams"] as? Int, 3, "\(info)")
        let cancel = try hosts.livemig(["job", "busy", "--cancel", "--run-dir", hostA])
        XCTAssertEqual(cancel.status, 0, cancel.stderr)
        XCTAssertNotNil(migration.wait(seconds: 60), "migrate did not end after the cancel")
        let printed = try String(contentsOf: output, encoding: .utf8)
        let report = try LivemigProcess.jsonObject(String(printed[try XCTUnwrap(printed.firstIndex(of: "{"))...]))
        XCTAssertEqual(report["outcome"] as? String, "aborted", "\(report)")
        XCTAssertTrue((report["reason"] as? String ?? "").hasPrefix("cancelled:"), "\(report)")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostA).contains("running") }, listing(hostA))
        let before = heartbeatCount("busy", hostA)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.heartbeatCount("busy", hostA) >= before + 3 }, "the guest beats on at home")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { !self.listing(hostB).contains("busy") }, listing(hostB))
    }
}
