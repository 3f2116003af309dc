import Foundation
import XCTest

/// The paused round of a capped live migration runs at the link's rate (QEMU's stop-and-copy
/// is not rate limited either); `--cap-paused-round` keeps the cap there. On real KVM guests
/// over loopback: a guest that never converges under xen4 falls back with its 8 MiB working set
/// dirty, which takes about 0.67 s at 100 Mbit/s and a few ms at loopback's rate. Each report
/// says where its pause went (`pausePhases`), by the source's clock and the destination's.
final class PausedRoundCLITests: GuestHostsTestCase {
    private func downtime(_ name: String, extra: [String], hostA: String, portB: Int) throws -> (seconds: Double, pausedPages: Int) {
        let report = try startAndMigrate(name, memory: "32M", workload: "uniform,workingSet=8MiB,rate=20000", hostA: hostA, portB: portB,
                                         ["--bandwidth", "100Mbit/s", "--policy", "xen4"] + extra)
        let paused = try XCTUnwrap((report["iterations"] as? [[String: Any]])?.last { $0["paused"] as? Bool == true }, "\(report)")
        let downtime = try XCTUnwrap(report["downtimeSeconds"] as? Double)
        // Where the pause went, by the source's clock: the phases add up to the downtime.
        let allPhases = try XCTUnwrap(report["pausePhases"] as? [String: Any], "\(report)")
        let phases = allPhases.compactMapValues { $0 as? Double }
        XCTAssertEqual(phases.count, 5, "\(phases)")
        XCTAssertEqual(phases.values.reduce(0, +), downtime, accuracy: 1e-6, "\(phases)")
        XCTAssertGreaterThan(phases["finalPagesSeconds"] ?? 0, 0, "\(phases)")
        // The destination's own clock: it loaded the state, checked the guest whole and
        // started it, each inside the wait the source saw for it.
        let there = try XCTUnwrap(allPhases["destination"] as? [String: Double], "the destination's figures: \(allPhases)")
        let (load, check, unpause) = (there["stateLoadSeconds"] ?? -1, there["checkSeconds"] ?? -1, there["unpauseSeconds"] ?? -1)
        XCTAssertGreaterThan(load, 0, "\(there)")
        XCTAssertGreaterThan(check, 0, "\(there)")
        XCTAssertGreaterThan(unpause, 0, "\(there)")
        XCTAssertLessThanOrEqual(check, (phases["destinationReadySeconds"] ?? 0) * 1.01 + 1e-4, "\(there) within \(phases)")
        XCTAssertLessThanOrEqual(unpause, (phases["clearedToRunningSeconds"] ?? 0) * 1.01 + 1e-4, "\(there) within \(phases)")
        // Before the pause, the source waited for the destination to read what the sockets held.
        let drain = try XCTUnwrap((report["measured"] as? [String: Any])?["drainBeforePauseSeconds"] as? Double, "\(report)")
        XCTAssertGreaterThan(drain, 0)
        XCTAssertLessThan(drain, 1, "the drain's wait is bounded at 1 s and did not run out")
        return (downtime, paused["pagesSent"] as? Int ?? 0)
    }

    func testThePausedRoundRunsAtLineRateUnlessAskedToKeepTheCap() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try hosts.startLoopbackReceiver(hostB).port
        let lineRate = try downtime("lr", extra: [], hostA: hostA, portB: portB)
        let capped = try downtime("cp", extra: ["--cap-paused-round"], hostA: hostA, portB: portB)
        // Both paused rounds carry most of the working set (2,048 pages).
        for (label, run) in [("line rate", lineRate), ("capped", capped)] {
            XCTAssertGreaterThan(run.pausedPages, 1000, "\(label): \(run)")
        }
        // At 100 Mbit/s (12.5 MB/s) the paused pages alone take pages x 4 KiB / 12.5 MB/s.
        let cappedFloor = Double(capped.pausedPages) * 4096 / 12.5e6
        XCTAssertGreaterThan(capped.seconds, cappedFloor * 0.9, "the capped paused round is paced: \(capped)")
        XCTAssertLessThan(lineRate.seconds, Double(lineRate.pausedPages) * 4096 / 12.5e6 / 3,
                          "the paused round at line rate takes a fraction of the capped time: \(lineRate) against \(capped)")
    }
}
