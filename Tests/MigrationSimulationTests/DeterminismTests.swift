import MigrationCore
@testable import MigrationSimulation
import XCTest

/// One seed reproduces a run exactly; another seed draws other writes.
final class DeterminismTests: XCTestCase {
    private func run(seed: UInt64) throws -> MigrationReport {
        let workload = Workload.hotCold(workingSetPages: 65_536, hotPages: 4096, hotRatePagesPerSecond: 20_000,
                                        coldRatePagesPerSecond: 2000)
        return try Simulator.run(Fixtures.config(memoryBytes: Fixtures.gib, workload: workload,
                                                 policy: PolicyConfiguration(name: .xen3), seed: seed)).report
    }

    func testSameSeedGivesTheSameReport() throws {
        let first = try run(seed: 42)
        let second = try run(seed: 42)
        XCTAssertEqual(first, second)
        XCTAssertEqual(first.seed, 42)
    }

    func testDifferentSeedsDrawDifferentWrites() throws {
        let first = try run(seed: 42)
        let second = try run(seed: 43)
        XCTAssertNotEqual(first.iterations.map(\.pagesDirtied), second.iterations.map(\.pagesDirtied))
    }

    func testZipfAndSequentialAndPhasesAreDeterministicToo() throws {
        let workloads: [Workload] = [
            .zipf(workingSetPages: 100_000, ratePagesPerSecond: 30_000, exponent: 1.1),
            .sequential(regionPages: 50_000, ratePagesPerSecond: 40_000),
            .phases([WorkloadPhase(durationSeconds: 1, workload: .idle),
                     WorkloadPhase(durationSeconds: 1, workload: .uniform(workingSetPages: 10_000, ratePagesPerSecond: 9000))]),
        ]
        for workload in workloads {
            let config = Fixtures.config(memoryBytes: 512 * Fixtures.mib, workload: workload,
                                         policy: PolicyConfiguration(name: .xen4), seed: 9)
            XCTAssertEqual(try Simulator.run(config).report, try Simulator.run(config).report, workload.kindName)
        }
    }
}
