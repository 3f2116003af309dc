import Foundation
import XCTest

/// `migrate --compress zstd` with real KVM guests and a real receiver: the pages the guest
/// wrote go as zstd frames, alone and on data streams, and the destination's memory is verified
/// against the source's digest; an unknown compression is refused before anything moves.
final class CompressionCLITests: GuestHostsTestCase {
    func testAGuestMovesCompressedWithItsMemoryVerified() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB).port
        for (name, extra) in [("solo", [String]()), ("multi", ["--streams", "3"])] {
            let report = try startAndMigrate(name, memory: "64M", workload: "uniform,workingSet=16MiB,rate=2000", hostA: hostA, portB: port,
                                             ["--compress", "zstd", "--verify-memory"] + extra)
            XCTAssertNotEqual(report["outcome"] as? String, "aborted", "\(report)")
            XCTAssertEqual(report["memoryVerified"] as? Bool, true, "\(report)")
            // The guest program stamps one word of each page it writes: such pages shrink a lot.
            XCTAssertGreaterThan(report["compressionRatio"] as? Double ?? 0, 10, "\(report)")
            XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains(name) }, listing(hostB))
        }
        let table = try hosts.livemig(["guest", "start", "shown", "--memory", "16M", "--workload", "uniform,workingSet=4MiB,rate=500",
                                       "--run-dir", hostA])
        XCTAssertEqual(table.status, 0, table.stderr)
        let moved = try hosts.livemig(["migrate", "--live", "shown", "127.0.0.1:\(port)", "--compress", "zstd", "--run-dir", hostA])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssertTrue(moved.stdout.contains("compression ") && moved.stdout.contains("x (zstd"), moved.stdout)
    }

    /// `--compress auto` under a 100 Mbit/s cap: the engine measures the first batch and keeps
    /// compressing (the guest program's pages shrink far more than it costs).
    func testAutoCompressesUnderASlowCap() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB).port
        let report = try startAndMigrate("auto", memory: "64M", workload: "uniform,workingSet=32MiB,rate=500", hostA: hostA, portB: port,
                                         ["--compress", "auto", "--bandwidth", "100Mbit/s", "--verify-memory"])
        XCTAssertEqual(report["memoryVerified"] as? Bool, true, "\(report)")
        XCTAssertGreaterThan(report["compressionRatio"] as? Double ?? 0, 10, "\(report)")
        // The written pages went as small frames: far less than their 4 KiB each on the wire.
        let pagesSent = Double(report["pagesSent"] as? Int ?? 0), bytesSent = Double(report["bytesSent"] as? Int ?? 0)
        XCTAssertLessThan(bytesSent, 0.1 * pagesSent * 4096, "\(report)")
    }

    /// `--compress xbzrle` under a cap that makes pre-copy run several rounds: the pages the guest
    /// wrote again go as deltas against the copies sent before (the program stamps one word of a
    /// page, so a delta is a few bytes), and the destination's memory, rebuilt from them, equals
    /// the source's; with several streams deltas are refused before anything moves.
    func testPagesSentAgainGoAsDeltasWithTheMemoryVerified() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let port = try hosts.startLoopbackReceiver(hostB).port
        // 8,192 pages written at 20,000 a second: the first round takes seconds at 100 Mbit/s, and
        // the pages rewritten meanwhile go again, as deltas.
        let report = try startAndMigrate("delta", memory: "64M", workload: "uniform,workingSet=32MiB,rate=20000", hostA: hostA, portB: port,
                                         ["--compress", "xbzrle", "--bandwidth", "100Mbit/s", "--verify-memory"])
        XCTAssertNotEqual(report["outcome"] as? String, "aborted", "\(report)")
        XCTAssertEqual(report["memoryVerified"] as? Bool, true, "\(report)")
        XCTAssertGreaterThan(report["deltaPagesSent"] as? Int ?? 0, 1000, "\(report)")
        XCTAssertGreaterThan(report["compressionRatio"] as? Double ?? 0, 50, "\(report)")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { self.listing(hostB).contains("delta") }, listing(hostB))
        let started = try hosts.livemig(["guest", "start", "multi", "--memory", "16M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let refused = try hosts.livemig(["migrate", "--live", "multi", "127.0.0.1:\(port)", "--compress", "xbzrle", "--streams", "3",
                                         "--run-dir", hostA])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--compress xbzrle with --streams 3"), refused.stderr)
        XCTAssertTrue(listing(hostA).contains("running"), listing(hostA))
    }

    func testAnUnknownCompressionIsRefused() throws {
        let hostA = hosts.runDirectory("a")
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "16M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let refused = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:1", "--compress", "lz4", "--run-dir", hostA])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--compress lz4: zstd, auto, xbzrle or none"), refused.stderr)
        XCTAssertTrue(listing(hostA).contains("running"), listing(hostA))
    }
}
