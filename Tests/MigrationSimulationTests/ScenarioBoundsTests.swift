import MigrationCore
import MigrationScenario
@testable import MigrationSimulation
import XCTest

/// Every number a scenario holds is bounded: values at the ends of the documented ranges
/// simulate to an outcome at both fidelities (no trap, no endless loop), and values beyond them
/// are refused naming the file, the key and the range. Before: `workload.rate: 1e300` with
/// `kind: sequential` or `zipf`, `policy.downtimeLimit: 1e300` and `policy.targetDirtyPages:
/// 1e300` trapped converting a Double to Int; `zipf` at 10^12 pages/s ran for ever.
final class ScenarioBoundsTests: XCTestCase {
    private let base = """
        guest: {memory: 64MiB}
        workload: {kind: uniform, rate: 1000}
        link: {bandwidth: 1Gbit/s}
        simulation: {maxSeconds: 8760h}
        """

    private func run(_ overrides: [String], fidelity: Fidelity) throws -> SimulationResult {
        let scenario = try ScenarioLoader.parse(yaml: base, file: "edge.yaml", defaultName: "edge",
                                                overrides: overrides + ["simulation.fidelity=\(fidelity.rawValue)"])
        return try Simulator.run(scenario.config)
    }

    func testValuesAtTheEndsOfEveryRangeSimulateToAnOutcome() throws {
        let slowLink = "link.bandwidth=1bit/s"
        let cases: [[String]] = [
            ["workload.kind=sequential", "workload.rate=1000000000", slowLink],
            ["workload.kind=zipf", "workload.rate=1000000000", slowLink],
            ["workload.kind=zipf", "workload.rate=1000000000", "workload.exponent=100"],
            ["workload.kind=uniform", "workload.rate=1000000000", slowLink],
            ["workload={kind: hotCold, hotSet: 1MiB, hotRate: 1000000000, coldRate: 1000000000}", slowLink],
            ["link.bandwidth=1000Tbit/s"],
            [slowLink],
            ["migration.rateLimit=1bit/s"],
            ["migration.rateLimit=1000Tbit/s"],
            ["link.latency=8760h"], ["link.batchOverhead=8760h"], ["link.failAt=8760h"], ["link.failAt=0"],
            ["source.pageCopyCost=8760h"], ["source.dirtyLogReadCost=8760h"], ["source.pauseCost=8760h"],
            ["guest.deviceState=1GiB", slowLink],
            ["policy.name=qemu", "policy.downtimeLimit=2000s", "link.bandwidth=1000Tbit/s"],
            ["policy.name=qemu", "policy.downtimeLimit=1ms", "policy.autoConverge=true"],
            ["policy.name=qemu", "policy.dirtyLimit=1", "workload.rate=1000000000"],
            ["policy.name=timeout", "policy.dirtyLimit=1000000000", "workload.rate=1000000000", slowLink],
            ["policy.name=timeout", "policy.timeout=24h", slowLink],
            ["policy.name=timeout", "policy.timeout=1ms"],
            // (maxFactor 1000 with such a writer is finite but sends 1000 x memory, a minute and
            // more at page level in a debug build, so it is not run here.)
            ["policy.name=xen3", "policy.maxIterations=1000000", "workload.rate=1000000000"],
            ["policy.name=xen3", "policy.maxFactor=0.001"],
            ["policy.targetDirtyPages=4294967296"],
            ["policy.fallbackRounds=1000000", "policy.fallbackDirtyRatio=0.001"],
            ["policy.fallbackRounds=1", "policy.fallbackDirtyRatio=1000", "workload.rate=1000000000"],
        ]
        for overrides in cases {
            for fidelity in Fidelity.allCases {
                let result = try run(overrides, fidelity: fidelity)
                XCTAssertTrue(result.report.totalTimeSeconds.isFinite, "\(overrides) \(fidelity)")
                XCTAssertLessThanOrEqual(result.report.totalTimeSeconds, 8760 * 3600 + 1, "\(overrides) \(fidelity)")
                XCTAssertLessThanOrEqual(result.sourceResumeCount, 1)
            }
        }
    }

    func testValuesBeyondTheRangesAreRefusedNamingTheKeyAndTheRange() {
        let cases: [(String, String)] = [
            ("workload.rate=1e12", "from 0 to 1000000000"),
            ("link.bandwidth=2000Tbit/s", "from 0 to 1000Tbit/s"),
            ("link.latency=9000h", "from 0 to 8760h"),
            ("simulation.maxSeconds=1e300", "from 0 to 8760h"),
            ("migration.rateLimit=1e300", "from 0 to 1000Tbit/s"),
            ("guest.deviceState=2GiB", "from 0 to 1GiB"),
            ("guest.deviceState=0.5", "whole number of bytes"),
            ("policy.downtimeLimit=1e300", "from 1ms to 2000s"),
            ("policy.timeout=25h", "from 1ms to 24h"),
            ("policy.targetDirtyPages=1e300", "from 0 to 4294967296"),
            ("policy.maxFactor=1e300", "from 0.001 to 1000"),
            ("policy.fallbackRounds=1000001", "from 0 to 1000000"),
            ("policy.dirtyLimit=0.5", "from 1 to 1000000000"),
            ("workload.exponent=1000", "from 0 to 100"),
        ]
        for (override, range) in cases {
            let key = String(override.prefix { $0 != "=" })
            let overrides = override.hasPrefix("workload.exponent") ? ["workload.kind=zipf", override] : [override]
            XCTAssertThrowsError(try run(overrides, fidelity: .fluid), override) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("edge.yaml: \(key): "), message)
                XCTAssertTrue(message.contains(range), message)
            }
        }
    }

    func testTheDirtyLimitTakesBytesAndRefusesAutoConvergeAndXenPolicies() throws {
        let bytes = try ScenarioLoader.parse(yaml: base, file: "edge.yaml", defaultName: "edge",
                                             overrides: ["policy.name=qemu", "policy.dirtyLimit=8MiB/s"])
        XCTAssertEqual(bytes.config.policy.dirtyLimitPagesPerSecond, 2048)
        for (overrides, problem) in [(["policy.name=qemu", "policy.dirtyLimit=100", "policy.autoConverge=true"], "choose one"),
                                     (["policy.name=xen4", "policy.dirtyLimit=100"], "the policy is xen4")] {
            XCTAssertThrowsError(try ScenarioLoader.parse(yaml: base, file: "edge.yaml", defaultName: "edge", overrides: overrides)) {
                XCTAssertTrue("\($0)".contains("edge.yaml") && "\($0)".contains("policy.dirtyLimit") && "\($0)".contains(problem), "\($0)")
            }
        }
    }
}
