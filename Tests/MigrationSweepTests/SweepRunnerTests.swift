import MigrationCore
import MigrationScenario
import MigrationSimulation
import MigrationSweep
import XCTest

/// The sweep on a shipped scenario: every point and seed simulated, the same results on one
/// thread and on several, each run equal to `simulate` with that point's values and seed, and
/// the summaries computed from the runs.
final class SweepRunnerTests: XCTestCase {
    private let scenario = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scenarios/memory-hog-2g.yaml").path

    private func configs(_ plan: SweepPlan) throws -> [SimulationConfig] {
        try (0 ..< plan.pointCount).map { try ScenarioLoader.load(path: scenario, overrides: ["simulation.fidelity=fluid"] + plan.overrides(ofPoint: $0)).config }
    }

    func testEveryRunIsTheSimulationOfItsPointAndSeedWhateverTheJobs() throws {
        let plan = try SweepPlan(axes: [try SweepAxis(parsing: "link.bandwidth=1Gbit/s,10Gbit/s"), try SweepAxis(parsing: "policy.name=xen3,xen4")],
                                 runs: 3, baseSeed: 11)
        let points = try configs(plan)
        let serial = try SweepRunner.run(plan, configs: points, jobs: 1)
        let parallel = try SweepRunner.run(plan, configs: points, jobs: 3)
        XCTAssertEqual(serial, parallel)
        XCTAssertEqual(serial.count, 12)
        for run in serial {
            var config = points[run.point]
            config.seed = run.seed
            let alone = try Simulator.run(config).report
            XCTAssertEqual(run.totalTimeSeconds, alone.totalTimeSeconds, "point \(run.point) run \(run.run)")
            XCTAssertEqual(run.outcome, alone.outcome)
            XCTAssertEqual(run.seed, 11 + UInt64(run.run))
        }
        // A 2 GiB hog: the faster link can only help.
        let result = SweepResult(scenario: "memory-hog-2g", plan: plan, runs: serial)
        let slow = result.points.filter { $0.values["link.bandwidth"] == "1Gbit/s" }
        let fast = result.points.filter { $0.values["link.bandwidth"] == "10Gbit/s" }
        for (s, f) in zip(slow, fast) { XCTAssertLessThan(f.totalTimeSeconds.p50, s.totalTimeSeconds.p50, "\(s.values)") }
    }

    func testTheFilesHoldEveryRunAndEveryPoint() throws {
        let plan = try SweepPlan(axes: [try SweepAxis(parsing: "policy.maxIterations=2..4/3")], runs: 2, baseSeed: 1)
        let runs = try SweepRunner.run(plan, configs: try configs(plan), jobs: 2)
        let result = SweepResult(scenario: "memory-hog-2g", plan: plan, runs: runs)
        let lines = result.csv.split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 6)
        XCTAssertEqual(lines[0], "policy.maxIterations,seed,outcome,totalTimeSeconds,downtimeSeconds,bytesSent,liveIterations,error")
        XCTAssertTrue(lines[1].hasPrefix("2,1,"), String(lines[1]))
        let json = try JSONSerialization.jsonObject(with: Data(try result.json().utf8)) as? [String: Any]
        let points = try XCTUnwrap(json?["points"] as? [[String: Any]])
        XCTAssertEqual(points.count, 3)
        XCTAssertEqual((points[2]["values"] as? [String: String])?["policy.maxIterations"], "4")
        XCTAssertEqual(points[0]["runs"] as? Int, 2)
        let fallback = try XCTUnwrap(points[0]["fallbackProbability"] as? Double)
        XCTAssertEqual(fallback, Double(runs.prefix(2).filter { $0.outcome == .offlineFallback }.count) / 2)
    }

    func testBadJobsAreRefused() throws {
        let plan = try SweepPlan(axes: [], runs: 1, baseSeed: 1)
        XCTAssertThrowsError(try SweepRunner.run(plan, configs: try configs(plan), jobs: 0)) { XCTAssertTrue("\($0)".contains("--jobs 0")) }
    }
}
