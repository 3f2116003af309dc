import MigrationCore
import MigrationScenario
import MigrationSimulation
import XCTest

/// `migration.streams` with `source.streamRate` and `source.cores`: a migration whose single
/// stream is CPU-bound below the link goes faster on more streams, up to the cores the streams
/// run on and the link they share; per-batch costs overlap; one stream is the old model.
final class ParallelStreamsModelTests: XCTestCase {
    /// An offline migration of an idle 1 GiB guest, so that the time is the copy alone.
    private let base = """
        guest: {memory: 1GiB}
        link: {bandwidth: 40Gbit/s}
        source: {streamRate: 4Gbit/s}
        migration: {live: false}
        policy: {name: xen4}
        """

    private func run(_ overrides: [String], yaml: String? = nil) throws -> MigrationReport {
        try Simulator.run(try ScenarioLoader.parse(yaml: yaml ?? base, file: "streams.yaml", defaultName: "streams", overrides: overrides).config).report
    }

    func testMoreStreamsGoFasterUpToTheCoresAndTheLink() throws {
        for fidelity in ["page", "fluid"] {
            let one = try run(["simulation.fidelity=\(fidelity)"]).totalTimeSeconds
            let four = try run(["simulation.fidelity=\(fidelity)", "migration.streams=4"]).totalTimeSeconds
            let fourOnTwoCores = try run(["simulation.fidelity=\(fidelity)", "migration.streams=4", "source.cores=2"]).totalTimeSeconds
            let sixteen = try run(["simulation.fidelity=\(fidelity)", "migration.streams=16"]).totalTimeSeconds
            // 1 GiB at 4 Gbit/s is 2.15 s; on 4 streams 0.54 s; on 2 cores 1.07 s; 16 streams
            // would carry 64 Gbit/s, but the link carries 40: 0.21 s.
            XCTAssertEqual(one, 2.15, accuracy: 0.05, fidelity)
            XCTAssertEqual(one / four, 4, accuracy: 0.1, fidelity)
            XCTAssertEqual(one / fourOnTwoCores, 2, accuracy: 0.05, fidelity)
            XCTAssertEqual(one / sixteen, 10, accuracy: 0.3, "the link bounds them (40 / 4 Gbit/s), \(fidelity)")
        }
    }

    func testOneStreamWithoutAStreamRateIsTheModelItWas() throws {
        let plain = """
            guest: {memory: 256MiB}
            workload: {kind: uniform, rate: 20000, workingSet: 64MiB}
            link: {bandwidth: 1Gbit/s, batchOverhead: 1ms}
            policy: {name: xen4}
            """
        for fidelity in ["page", "fluid"] {
            let before = try run(["simulation.fidelity=\(fidelity)"], yaml: plain)
            let one = try run(["simulation.fidelity=\(fidelity)", "migration.streams=1"], yaml: plain)
            XCTAssertEqual(before.totalTimeSeconds, one.totalTimeSeconds, fidelity)
            XCTAssertEqual(before.bytesSent, one.bytesSent, fidelity)
            // Without a stream rate, more streams only overlap the batches' fixed cost: 1 ms
            // a batch over about 90 batches is most of a second less on 8 streams.
            let eight = try run(["simulation.fidelity=\(fidelity)", "migration.streams=8"], yaml: plain)
            XCTAssertLessThan(eight.totalTimeSeconds, before.totalTimeSeconds, fidelity)
            XCTAssertGreaterThan(eight.totalTimeSeconds, 256.0 * 1_048_576 / 125_000_000, "the link's 1 Gbit/s still bounds it, \(fidelity)")
        }
    }

    func testBadValuesAreRefusedNamingTheKey() {
        for (key, value) in [("migration.streams", "0"), ("migration.streams", "17"), ("migration.streams", "2.5"),
                             ("source.cores", "0"), ("source.streamRate", "0"), ("source.streamRate", "fast")] {
            XCTAssertThrowsError(try run(["\(key)=\(value)"]), "\(key)=\(value)") { error in
                XCTAssertTrue("\(error)".contains(key.split(separator: ".").last!), "\(error)")
            }
        }
    }
}
