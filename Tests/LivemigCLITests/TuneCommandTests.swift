import Foundation
import XCTest

/// `livemig tune` on a shipped scenario: a verdict against the policy's defaults confirmed
/// with fresh seeds, the Pareto front, every setting in the JSON; bad parameters in one line.
final class TuneCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try LivemigProcess.temporaryDirectory(for: self)
    }


    /// xen4 on the 2 GiB hog: its default 5 rounds fall back offline with seconds of downtime;
    /// fewer rounds send less before the same pause, so a better setting exists and is found.
    func testTuningTheHogFindsASettingThatBeatsTheDefaults() throws {
        let output = directory.appendingPathComponent("hog").path
        let result = try LivemigProcess.run(["tune", "scenarios/memory-hog-2g.yaml", "--set", "policy.name=xen4", "--set", "simulation.fidelity=fluid",
                                             "--minimize", "bytes", "--knob", "policy.maxIterations=1,2,3,5,8", "--knobs", "policy.maxIterations",
                                             "--runs", "3", "--output", output])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("verdict: the best setting beats the policy's defaults"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Pareto front"), result.stdout)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + ".json"))) as? [String: Any])
        let tried = try XCTUnwrap(json["tried"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(tried.count, 5)
        let best = try XCTUnwrap(json["best"] as? [String: Any])
        XCTAssertEqual((best["settings"] as? [String: String])?["policy.maxIterations"], "1", "the fewest rounds send the least")
    }

    func testBadParametersGetOneLine() throws {
        let cases: [([String], String)] = [
            (["--minimize", "speed"], "--minimize speed: not one of"),
            (["--subject-to", "p95-time>=1s"], "expected METRIC<=VALUE"),
            (["--knobs", "link.latency"], "--knob link.latency=V1,V2"),
            (["--knob", "policy.maxIterations=5,2"], "ascending"),
        ]
        try LivemigProcess.assertEachFailsInOneLine(["tune", "--output", directory.appendingPathComponent("bad").path], cases)
        // A bound nothing meets is an answer, not an error.
        let impossible = try LivemigProcess.run(["tune", "--knob", "policy.maxIterations=2,29", "--knobs", "policy.maxIterations", "--runs", "2",
                                                 "--set", "simulation.fidelity=fluid", "--subject-to", "p95-time<=1ms",
                                                 "--output", directory.appendingPathComponent("none").path])
        XCTAssertEqual(impossible.status, 0, impossible.stderr)
        XCTAssertTrue(impossible.stdout.contains("no setting tried meets the bounds"), impossible.stdout)
    }
}
