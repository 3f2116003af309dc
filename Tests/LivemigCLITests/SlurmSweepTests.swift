import Foundation
import XCTest

/// A sweep as a Slurm array job on a real (single-node) cluster: `scripts/sweep-on-slurm`
/// submits N tasks that each run one shard, then merges them; the result must be exactly the
/// unsharded sweep's. Needs the cluster (`scripts/slurm-single-node up`, as `.ci/run` does) and
/// LIVEMIG_SLURM=1; without them it is skipped, saying so.
final class SlurmSweepTests: XCTestCase {
    func testAnArrayJobGivesTheUnshardedSweep() throws {
        guard ProcessInfo.processInfo.environment["LIVEMIG_SLURM"] == "1" else {
            throw XCTSkip("SLURM TESTS NOT RUN: start a one-node cluster (scripts/slurm-single-node up), export its SLURM_CONF and set LIVEMIG_SLURM=1")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("livemig-slurm-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sweep = ["scenarios/memory-hog-2g.yaml", "--vary", "policy.maxIterations=2..6/5", "--vary", "link.bandwidth=1Gbit/s,2Gbit/s",
                     "--set", "simulation.fidelity=fluid", "--runs", "4"]
        let onSlurm = directory.appendingPathComponent("slurm").path
        let script = LivemigProcess.packageRoot.appendingPathComponent("scripts/sweep-on-slurm").path
        let binary = try LivemigProcess.binary().path
        let submitted = try LivemigProcess.runExecutable("/usr/bin/env", ["LIVEMIG=\(binary)", "LIVEMIG_SLURM_TIMEOUT=600", script, "4", onSlurm, "--"] + sweep)
        XCTAssertEqual(submitted.status, 0, submitted.stdout + submitted.stderr)
        XCTAssertTrue(submitted.stdout.contains("10 points x 4 runs = 40 simulations, merged from its parts"), submitted.stdout)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        for index in 1 ... 4 {
            XCTAssertTrue(files.contains("slurm.part-\(index)-of-4.json"), "task \(index) wrote its part: \(files)")
            XCTAssertTrue(files.contains { $0.hasPrefix("slurm.slurm-") && $0.hasSuffix("_\(index).log") }, "array task \(index) ran under Slurm: \(files)")
        }
        let alone = directory.appendingPathComponent("alone").path
        let unsharded = try LivemigProcess.run(["sweep"] + sweep + ["--output", alone])
        XCTAssertEqual(unsharded.status, 0, unsharded.stderr)
        for suffix in [".csv", ".json"] {
            XCTAssertEqual(try String(contentsOfFile: onSlurm + suffix, encoding: .utf8), try String(contentsOfFile: alone + suffix, encoding: .utf8), suffix)
        }
    }
}
