import Foundation
import XCTest

/// QEMU's two ways of slowing a guest that dirties memory faster than the link carries it, on
/// real KVM guests over loopback: the dirty limit and auto-converge. Without either, the guest
/// below falls back offline under qemu's default fallback; with either, it converges live, its
/// last live round dirtying far fewer pages than its first.
final class GuestThrottleCLITests: GuestHostsTestCase {
    /// Migrates a fresh 32 MiB guest writing `rate` pages/s over a 16 MiB working set at
    /// 200 Mbit/s (about 6,100 pages/s) under qemu; returns the report.
    private func migrate(_ name: String, rate: Int, extra: [String], hostA: String, portB: Int) throws -> [String: Any] {
        try startAndMigrate(name, memory: "32M", workload: "uniform,workingSet=16MiB,rate=\(rate)", hostA: hostA, portB: portB,
                            ["--bandwidth", "200Mbit/s", "--policy", "qemu"] + extra)
    }

    private func liveRounds(_ report: [String: Any]) -> [[String: Any]] {
        (report["iterations"] as? [[String: Any]] ?? []).filter { $0["paused"] as? Bool != true }
    }

    func testTheDirtyLimitAndAutoConvergeBringAFastWriterToConverge() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try hosts.startLoopbackReceiver(hostB).port
        let plain = try migrate("plain", rate: 40_000, extra: [], hostA: hostA, portB: portB)
        XCTAssertEqual(plain["outcome"] as? String, "offlineFallback", "without a throttle it cannot converge: \(plain["reason"] ?? "")")
        XCTAssertEqual(plain["maxThrottlePercent"] as? Int, 0)

        let limited = try migrate("limited", rate: 40_000, extra: ["--dirty-limit", "1000"], hostA: hostA, portB: portB)
        XCTAssertEqual(limited["outcome"] as? String, "converged", "\(limited["reason"] ?? "")")
        XCTAssertGreaterThan(limited["maxThrottlePercent"] as? Int ?? 0, 50, "40,000 writes/s slowed toward 1,000 dirty pages/s")

        let converged = try migrate("auto", rate: 40_000, extra: ["--auto-converge"], hostA: hostA, portB: portB)
        XCTAssertEqual(converged["outcome"] as? String, "converged", "\(converged["reason"] ?? "")")
        XCTAssertGreaterThanOrEqual(converged["maxThrottlePercent"] as? Int ?? 0, 20)

        for (label, report) in [("dirty limit", limited), ("auto-converge", converged)] {
            // A round lasts as long as sending what the last one left dirty takes, so the pages a
            // round leaves dirty fall only when the guest is slowed: from nearly the whole
            // working set (4,096 pages) to under the 30 % of it that fits the downtime limit.
            let dirtied = liveRounds(report).dropFirst().map { $0["pagesDirtied"] as? Int ?? 0 }
            print("\(label): throttle \(report["maxThrottlePercent"] ?? 0) %, pages left dirty per round \(dirtied), total \(report["totalTimeSeconds"] ?? 0) s")
            XCTAssertGreaterThan(dirtied.first ?? 0, 3000, "\(label): unslowed, the guest dirties most of its working set: \(dirtied)")
            XCTAssertLessThan(dirtied.last ?? .max, 2000, "\(label): the guest dirties less once slowed: \(dirtied)")
        }
    }
}
