import Foundation
import XCTest

/// `bench migrate --peer qemu --livemig-only`: livemig's side of the side-by-side benchmark on
/// the shared firmware image, with the share of runs within each cell's downtime limit, and no
/// comparison judged where QEMU did not run. On a real KVM guest (512 MiB, the idle cells).
final class PeerBenchCLITests: XCTestCase {
    func testLivemigsSideAloneCountsTheRunsWithinTheLimit() throws {
        try requireKVMDevice()
        let output = try LivemigProcess.temporaryDirectory(for: self).appendingPathComponent("bench.json").path
        let result = try LivemigProcess.run(["bench", "migrate", "--peer", "qemu", "--livemig-only", "--cells", "idle", "--runs", "1",
                                             "--memory-mi-b", "512", "--output", output])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("within the 30 ms limit (each tool's own figure): QEMU not run, livemig "), result.stdout)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        let summary = try XCTUnwrap(document["summary"] as? [[String: Any]])
        XCTAssertEqual(summary.count, 4, "the idle load's four cells")
        let runs = try XCTUnwrap(document["runs"] as? [[String: Any]])
        for cell in summary {
            XCTAssertEqual(cell["livemigConverged"] as? Int, 1, "\(cell)")
            XCTAssertNil(cell["convergenceGoalMet"], "no QEMU runs, nothing to compare: \(cell)")
            XCTAssertNil(cell["downtimeOverQemuGap"], "\(cell)")
            XCTAssertEqual(cell["qemuWithinLimit"] as? Int, 0)
            // The count within the limit is the cell's runs whose downtime was at most it.
            let label = try XCTUnwrap(cell["cell"] as? String)
            let limit = label.hasSuffix("30 ms limit") ? 0.03 : 0.3
            let downtimes = runs.filter { $0["cell"] as? String == label }.compactMap { $0["downtimeSeconds"] as? Double }
            XCTAssertEqual(downtimes.count, 1, label)
            let within = downtimes.filter { $0 <= limit }.count
            XCTAssertEqual(cell["livemigWithinLimit"] as? Int, within, "\(cell)")
            XCTAssertEqual(cell["livemigWithinLimitGoalMet"] as? Bool, limit == 0.03 ? within == 1 : nil, "\(cell)")
            // An idle guest's pause is a few ms here; a loose bound, for a loaded machine.
            XCTAssertLessThan(downtimes.first ?? 1, 0.3, "\(cell)")
        }
        XCTAssertEqual(Set(runs.compactMap { $0["tool"] as? String }), ["livemig"])
        // Each run says where its pause went, the destination's part included.
        for run in runs {
            let phases = try XCTUnwrap(run["pausePhases"] as? [String: Any], "\(run)")
            XCTAssertNotNil(phases["destination"], "\(phases)")
        }
    }

    /// `--memory-mix` with `--peer`: the guest's RAM holds the mix (30 % of it random, which no
    /// compression shrinks) instead of the firmware's one word a page, which zstd takes down to
    /// a few MiB; the document names the mix. A mix that does not add up is refused, named.
    func testAMemoryMixGoesIntoThePeerBenchsGuest() throws {
        try requireKVMDevice()
        let output = try LivemigProcess.temporaryDirectory(for: self).appendingPathComponent("bench.json").path
        let result = try LivemigProcess.run(["bench", "migrate", "--peer", "qemu", "--livemig-only", "--cells", "transport", "--runs", "1",
                                             "--memory-mi-b", "512", "--memory-mix", "0.3,0.4,0.3", "--output", output])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("both guests' RAM above 2 MiB: memory 30 % zero, 40 % text, 30 % random"), result.stdout)
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        XCTAssertEqual(document["memoryMix"] as? String, "memory 30 % zero, 40 % text, 30 % random")
        let runs = try XCTUnwrap(document["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 3, "the three transport cells")
        for run in runs {
            XCTAssertEqual(run["converged"] as? Bool, true, "\(run)")
            // 150 MiB of random pages at least, compressed or not.
            let bytes = try XCTUnwrap(run["bytesSent"] as? Int, "\(run)")
            XCTAssertGreaterThan(bytes, 150 << 20, "\(run)")
            XCTAssertLessThan(bytes, 512 << 20, "zero pages go as markers: \(run)")
        }
        let refused = try LivemigProcess.run(["bench", "migrate", "--peer", "qemu", "--livemig-only", "--memory-mix", "0.5,0.5,0.5"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("--memory-mix 0.5,0.5,0.5: three shares zero,text,random"), refused.stderr)
    }

    func testLivemigOnlyIsRefusedWithoutAPeer() throws {
        let result = try LivemigProcess.run(["bench", "migrate", "--livemig-only"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("--livemig-only: only with --peer qemu"), result.stderr)
    }
}
