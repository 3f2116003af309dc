import Foundation
import MigrationCore
import MigrationScenario
import MigrationSimulation
import XCTest

/// The committed reference results in `results/` are what the simulator produces today from
/// the shipped scenarios with their own seeds: determinism across runs and builds, and a guard
/// against unnoticed changes to the models (`scripts/update-results` regenerates them).
final class ReferenceResultsTests: XCTestCase {
    private var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testEveryShippedScenarioReproducesItsCommittedResult() throws {
        let scenarios = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("scenarios").path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(scenarios.count, 5)
        for file in scenarios {
            let name = String(file.dropLast(".yaml".count))
            let scenario = try ScenarioLoader.load(path: root.appendingPathComponent("scenarios/\(file)").path)
            var report = try Simulator.run(scenario.config).report
            report.scenario = scenario.name
            let data = try Data(contentsOf: root.appendingPathComponent("results/\(name).json"))
            let committed = try JSONDecoder().decode(MigrationReport.self, from: data)
            XCTAssertEqual(report, committed, "\(name): run scripts/update-results if the model changed on purpose")
        }
    }

    func testReferenceOutcomesAreTheOnesTheScenariosDescribe() throws {
        func outcome(_ name: String) throws -> MigrationReport {
            try JSONDecoder().decode(MigrationReport.self,
                                     from: Data(contentsOf: root.appendingPathComponent("results/\(name).json")))
        }
        XCTAssertEqual(try outcome("idle-1g").outcome, .converged)
        XCTAssertEqual(try outcome("memory-hog-2g").outcome, .offlineFallback)
        // The seed document measured 10.4 s for its 1024 MiB guest; the calibrated scenario
        // predicts it within 5 %.
        XCTAssertEqual(try outcome("seed-1g").totalTimeSeconds, 10.4, accuracy: 0.52)
    }
}
