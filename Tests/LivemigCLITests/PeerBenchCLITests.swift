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
        for cell in summary {
            XCTAssertEqual(cell["livemigConverged"] as? Int, 1, "\(cell)")
            XCTAssertNil(cell["convergenceGoalMet"], "no QEMU runs, nothing to compare: \(cell)")
            XCTAssertNil(cell["downtimeOverQemuGap"], "\(cell)")
            let within = try XCTUnwrap(cell["livemigWithinLimit"] as? Int, "\(cell)")
            XCTAssertEqual(cell["qemuWithinLimit"] as? Int, 0)
            // An idle guest's pause fits a 30 ms (and a 300 ms) limit.
            XCTAssertEqual(within, 1, "\(cell)")
            let label = try XCTUnwrap(cell["cell"] as? String)
            XCTAssertEqual(cell["livemigWithinLimitGoalMet"] as? Bool, label.hasSuffix("30 ms limit") ? true : nil, "\(cell)")
        }
        let runs = try XCTUnwrap(document["runs"] as? [[String: Any]])
        XCTAssertEqual(Set(runs.compactMap { $0["tool"] as? String }), ["livemig"])
        // Each run says where its pause went, the destination's part included.
        for run in runs {
            let phases = try XCTUnwrap(run["pausePhases"] as? [String: Any], "\(run)")
            XCTAssertNotNil(phases["destination"], "\(phases)")
        }
    }

    func testLivemigOnlyIsRefusedWithoutAPeer() throws {
        let result = try LivemigProcess.run(["bench", "migrate", "--livemig-only"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("--livemig-only: only with --peer qemu"), result.stderr)
    }
}
