import MigrationCore
import MigrationScenario
import MigrationSimulation
import MigrationSweep
import XCTest

/// Sharded sweeps: N parts cover every simulation once, in order, and merged they are the
/// unsharded sweep; parts of different sweeps, a part given twice or one missing are refused.
final class SweepShardTests: XCTestCase {
    private let scenario = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scenarios/seed-1g.yaml").path

    func testPartsCoverEverySimulationOnce() throws {
        for total in [1, 7, 30, 1000] {
            for count in [1, 3, 7, 40] {
                let ranges = try (1 ... count).map { try SweepShard(index: $0, count: count).simulations(of: total) }
                XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0 ..< total), "\(total) in \(count) parts")
            }
        }
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "1/100001"] {
            XCTAssertThrowsError(try SweepShard(parsing: bad)) { XCTAssertTrue("\($0)".contains("--shard"), "\($0)") }
        }
    }

    func testMergedPartsAreTheWholeSweep() throws {
        let plan = try SweepPlan(axes: [try SweepAxis(parsing: "policy.maxIterations=2..4/3")], runs: 4, baseSeed: 5)
        let configs = try (0 ..< plan.pointCount).map {
            try ScenarioLoader.load(path: scenario, overrides: ["simulation.fidelity=fluid"] + plan.overrides(ofPoint: $0)).config
        }
        let whole = SweepResult(scenario: "seed-1g", plan: plan, runs: try SweepRunner.run(plan, configs: configs, jobs: 2))
        let parts = try (1 ... 5).map { index in
            let shard = try SweepShard(index: index, count: 5)
            let part = SweepPart(result: "seed-1g", fingerprint: "f1", plan: plan, shard: shard,
                                 runs: try SweepRunner.run(plan, configs: configs, jobs: 2, shard: shard))
            // Through the file format, as a cluster's tasks hand them over.
            return ("part-\(index)", try JSONDecoder().decode(SweepPart.self, from: Data(try part.json().utf8)))
        }
        let merged = try SweepPart.merge(parts.reversed())
        XCTAssertEqual(merged.runs, whole.runs)
        XCTAssertEqual(merged.csv, whole.csv)
        XCTAssertEqual(try merged.json(), try whole.json())

        XCTAssertThrowsError(try SweepPart.merge(Array(parts.dropLast()))) { XCTAssertTrue("\($0)".contains("parts 5 of 5 are missing"), "\($0)") }
        XCTAssertThrowsError(try SweepPart.merge(parts + [parts[0]])) { XCTAssertTrue("\($0)".contains("given twice"), "\($0)") }
        var other = parts[1].1
        other.baseSeed = 6
        XCTAssertThrowsError(try SweepPart.merge([parts[0], ("other", other)])) { XCTAssertTrue("\($0)".contains("part of another sweep"), "\($0)") }
        var otherScenario = parts[1].1
        otherScenario.fingerprint = "f2"
        XCTAssertThrowsError(try SweepPart.merge([parts[0], ("set", otherScenario)])) { XCTAssertTrue("\($0)".contains("its scenario, --set"), "\($0)") }
        var forged = parts[1].1
        forged.runs[0].seed = 999
        XCTAssertThrowsError(try SweepPart.merge([parts[0], ("forged", forged)])) { XCTAssertTrue("\($0)".contains("not in the sweep's plan"), "\($0)") }
        var beyond = parts[1].1
        beyond.runs[0].point = 1 << 62
        XCTAssertThrowsError(try SweepPart.merge([parts[0], ("beyond", beyond)])) { XCTAssertTrue("\($0)".contains("not in the sweep's plan"), "\($0)") }
        for bad in [#"{"index":1,"count":0}"#, #"{"index":1,"count":4611686018427387904}"#, #"{"index":-1,"count":3}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(SweepShard.self, from: Data(bad.utf8)), bad)
        }
        var cut = parts[2].1
        cut.runs.removeLast()
        XCTAssertThrowsError(try SweepPart.merge([parts[0], parts[1], ("cut", cut), parts[3], parts[4]])) {
            XCTAssertTrue("\($0)".contains("does not hold its simulations"), "\($0)")
        }
        XCTAssertThrowsError(try SweepPart.merge([])) { XCTAssertTrue("\($0)".contains("name the parts"), "\($0)") }
    }
}
