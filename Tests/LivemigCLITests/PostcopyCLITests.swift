import Foundation
import XCTest

/// `migrate --postcopy-after N` end to end with real KVM guests and real receivers: a guest that
/// writes faster than the capped link carries runs on the destination after one live round, its
/// missing pages fault there (userfaultfd) and are asked for on the return path, every page
/// arrives as the source paused it (a page-wise digest), and the guest runs on there; plain and
/// over mutual TLS (the return path passes the same certificate check). Bad combinations are
/// refused before anything moves.
final class PostcopyCLITests: GuestHostsTestCase {
    /// The guest writes 50,000 pages a second over a 32 MiB working set; 100 Mbit/s carries about
    /// 3,000: pre-copy would never converge.
    private let hog = "uniform,workingSet=32MiB,rate=50000"

    func testAGuestThatCannotConvergeRunsOnTheDestinationWhileItsPagesCome() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB).port
        let report = try startAndMigrate("hog", memory: "64M", workload: hog, hostA: hostA, portB: port,
                                         ["--postcopy-after", "1", "--bandwidth", "100Mbit/s", "--verify-memory"])
        assertPostcopied(report, hostA: hostA, hostB: hostB)
    }

    func testPostcopyOverMutualTLS() throws {
        let pki = try makeLoopbackCertificates()
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB, extraArguments: ["--tls-dir", "\(pki)/hostb"]).port
        let report = try startAndMigrate("hog", memory: "64M", workload: hog, hostA: hostA, portB: port,
                                         ["--postcopy-after", "1", "--bandwidth", "100Mbit/s", "--verify-memory", "--tls-dir", "\(pki)/hosta"])
        assertPostcopied(report, hostA: hostA, hostB: hostB)
        // The destination checked two certificates: the main connection's and the return path's.
        let log = (try? String(contentsOfFile: "\(hostB)/incoming.log", encoding: .utf8)) ?? ""
        XCTAssertEqual(log.components(separatedBy: "TLS peer: ").count - 1, 2, log)
    }

    /// The outcome, the destination's counts, the memory check, and the guest beating on B only.
    private func assertPostcopied(_ report: [String: Any], hostA: String, hostB: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(report["outcome"] as? String, "postcopy", "\(report)", file: file, line: line)
        let postcopy = report["postcopy"] as? [String: Any] ?? [:]
        XCTAssertGreaterThan(postcopy["pagesMissingAtStart"] as? Int ?? 0, 0, "\(postcopy)", file: file, line: line)
        XCTAssertEqual(postcopy["pagesSent"] as? Int, postcopy["pagesMissingAtStart"] as? Int, "each missing page sent once", file: file, line: line)
        // The guest writes all over its working set: it touches missing pages at once.
        XCTAssertGreaterThan(postcopy["faults"] as? Int ?? 0, 0, "\(postcopy)", file: file, line: line)
        XCTAssertGreaterThan(postcopy["requests"] as? Int ?? 0, 0, "\(postcopy)", file: file, line: line)
        XCTAssertNotNil(postcopy["faultLatencyMeanSeconds"] as? Double, "\(postcopy)", file: file, line: line)
        XCTAssertEqual(report["memoryVerified"] as? Bool, true, "every page arrived as the source paused it", file: file, line: line)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("running") }, listing(hostB), file: file, line: line)
        XCTAssertFalse(listing(hostA).contains("hog"), listing(hostA), file: file, line: line)
        let before = heartbeatCount("hog", hostB)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.heartbeatCount("hog", hostB) >= before + 3 }, "the guest beats on there",
                      file: file, line: line)
    }

    /// The link fails in the middle of post-copy's push (the destination finds the mark after
    /// its second batch damaged; the first mark is the drain before the pause), with thousands of
    /// pages still missing, the guest program's own counters page likely among them: the guest
    /// has run on the destination, so neither copy may run on (QEMU loses the guest here). Both
    /// are held paused: the source's `guest resume` is refused even with `--force` (its copy is
    /// stale), the destination's too (it lacks pages); the destination's daemon still answers
    /// (it never reads the held guest's memory), and a stop discards either.
    func testALinkFailureDuringThePushHoldsBothCopiesPaused() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let report = try migrateIntoFaultyReceiver("corrupt:drainMark#3", hostA: hostA, hostB: hostB)
        XCTAssertTrue((report["reason"] as? String ?? "").contains("post-copy was cut short"), "\(report)")
        let postcopy = try XCTUnwrap(report["postcopy"] as? [String: Any], "the hand-over happened: \(report)")
        XCTAssertLessThan(postcopy["pagesSent"] as? Int ?? .max, postcopy["pagesMissingAtStart"] as? Int ?? 0,
                          "cut short with pages still missing: \(postcopy)")
        XCTAssertTrue(listing(hostA).contains("paused"), listing(hostA))
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("held (post-copy cut short)") }, listing(hostB))
        let resumedHere = try hosts.livemig(["guest", "resume", "hog", "--force", "--run-dir", hostA])
        XCTAssertNotEqual(resumedHere.status, 0)
        XCTAssertTrue(resumedHere.stderr.contains("stale") && resumedHere.stderr.contains("even with --force"), resumedHere.stderr)
        let resumedThere = try hosts.livemig(["guest", "resume", "hog", "--run-dir", hostB])
        XCTAssertNotEqual(resumedThere.status, 0)
        XCTAssertTrue(resumedThere.stderr.contains("lacks pages only its source has"), resumedThere.stderr)
        XCTAssertTrue(listing(hostA).contains("paused") && listing(hostB).contains("held"), listing(hostA) + listing(hostB))
        for host in [hostA, hostB] {
            let stopped = try hosts.livemig(["guest", "stop", "hog", "--run-dir", host])
            XCTAssertEqual(stopped.status, 0, stopped.stderr)
        }
    }

    /// The destination cannot take the hand-over (it finds `postcopyStart` damaged): it has not
    /// run the guest and releases it, so the source resumes it and the guest runs on at home.
    func testAHandOverTheDestinationRefusesLeavesTheGuestRunningAtHome() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        _ = try migrateIntoFaultyReceiver("corrupt:postcopyStart", hostA: hostA, hostB: hostB)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 10) { self.listing(hostA).contains("running") }, listing(hostA))
        XCTAssertFalse(listing(hostB).contains("hog"), listing(hostB))
        let before = heartbeatCount("hog", hostA)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.heartbeatCount("hog", hostA) >= before + 2 }, "the guest beats on at home")
    }

    /// Starts the hog on A and migrates it with post-copy after one round to a receiver on B told
    /// to commit `fault` (`LIVEMIG_FAULT`, debug builds); asserts the migration aborted and
    /// returns its report.
    private func migrateIntoFaultyReceiver(_ fault: String, hostA: String, hostB: String,
                                           file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        setenv("LIVEMIG_FAULT", fault, 1)
        let receiver = Result { try hosts.startLoopbackReceiver(hostB).port }
        unsetenv("LIVEMIG_FAULT")
        let port = try receiver.get()
        let started = try hosts.livemig(["guest", "start", "hog", "--memory", "64M", "--workload", hog, "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr, file: file, line: line)
        let moved = try hosts.livemig(["migrate", "--live", "hog", "127.0.0.1:\(port)", "--postcopy-after", "1", "--bandwidth", "100Mbit/s",
                                       "--format", "json", "--run-dir", hostA])
        let report = try LivemigProcess.jsonObject(moved.stdout)
        XCTAssertEqual(report["outcome"] as? String, "aborted", moved.stdout + moved.stderr, file: file, line: line)
        return report
    }

    /// Post-copy needs one stream to a destination and a live guest: other combinations are
    /// refused naming the problem, before a connection, and the guest keeps running.
    func testBadCombinationsAreRefusedAndTheGuestStays() throws {
        let hostA = hosts.runDirectory("a")
        let started = try hosts.livemig(["guest", "start", "pc", "--memory", "16M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let cases: [([String], String)] = [
            (["migrate", "--live", "pc", "127.0.0.1:1", "--postcopy-after", "0"], "--postcopy-after 0"),
            (["migrate", "--live", "pc", "127.0.0.1:1", "--postcopy-after", "1001"], "--postcopy-after 1001"),
            (["migrate", "--live", "pc", "127.0.0.1:1", "--postcopy-after", "1", "--streams", "4"], "post-copy runs on one stream"),
            (["migrate", "pc", "127.0.0.1:1", "--postcopy-after", "1"], "post-copy needs a live migration"),
            (["migrate", "--live", "pc", "127.0.0.1:1", "--set", "migration.postcopyAfter=1", "--set", "migration.streams=2"],
             "migration.postcopyAfter: asks for post-copy with 2 streams"),
        ]
        for (arguments, expected) in cases {
            let refused = try hosts.livemig(arguments + ["--run-dir", hostA])
            XCTAssertNotEqual(refused.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(refused.stderr.contains(expected), "\(arguments): \(refused.stderr)")
        }
        XCTAssertTrue(listing(hostA).contains("running"), listing(hostA))
    }
}
