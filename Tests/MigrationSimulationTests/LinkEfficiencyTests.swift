import MigrationCore
import MigrationScenario
import MigrationSimulation
import XCTest

/// `link.efficiency`: the share of the nominal bandwidth and of the cap that transfers achieve,
/// applied where the simulated migration runs (every bandwidth step and the cap).
final class LinkEfficiencyTests: XCTestCase {
    private let base = """
        guest: {memory: 256MiB}
        workload: {kind: idle}
        link:
          profile:
            - {at: 0s, bandwidth: 1Gbit/s}
            - {at: 10s, bandwidth: 2Gbit/s}
        migration: {rateLimit: 800Mbit/s}
        """

    private func config(_ overrides: [String]) throws -> SimulationConfig {
        try ScenarioLoader.parse(yaml: base, file: "eff.yaml", defaultName: "eff", overrides: overrides).config
    }

    func testEfficiencyScalesEveryBandwidthStepAndTheCap() throws {
        let full = try config([])
        let scaled = try config(["link.efficiency=0.75"])
        XCTAssertEqual(scaled.linkEfficiency, 0.75)
        XCTAssertEqual(scaled.engine.rateLimitBytesPerSecond, 100e6, "the setting keeps the nominal cap, which a real migration runs under")
        // An idle guest's one pass at 75 % of the cap takes 4/3 as long.
        let fullTime = try Simulator.run(full).report.totalTimeSeconds
        let scaledTime = try Simulator.run(scaled).report.totalTimeSeconds
        XCTAssertEqual(scaledTime / fullTime, 4.0 / 3.0, accuracy: 0.02)
    }

    func testEfficiencyOutsideItsRangeIsRefused() {
        for value in ["0", "1.5", "-0.2", "nan"] {
            XCTAssertThrowsError(try config(["link.efficiency=\(value)"]), value) { error in
                XCTAssertTrue("\(error)".contains("link.efficiency"), "\(error)")
            }
        }
    }
}
