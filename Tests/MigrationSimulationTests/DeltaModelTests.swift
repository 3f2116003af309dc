import MigrationCore
import MigrationScenario
import MigrationSimulation
import XCTest

/// `migration.compression: xbzrle` in the simulator: from the second round on, the data pages the
/// 64 MiB of copies hold go at `guest.deltaRatio` of their size, at `source.deltaCost` each; the
/// first round goes whole; a working set larger than the copies gains in proportion; several
/// streams and bad values are refused naming the key.
final class DeltaModelTests: XCTestCase {
    /// A 64 MiB guest: the copies hold all of it.
    private func run(_ overrides: [String]) throws -> MigrationReport {
        let yaml = """
            guest: {memory: 64MiB, deltaRatio: 0.01}
            workload: {kind: uniform, rate: 20000, workingSet: 32MiB}
            policy: {name: xen4}
            link: {bandwidth: 10Gbit/s}
            migration: {rateLimit: 1Gbit/s}
            """
        return try Simulator.run(try ScenarioLoader.parse(yaml: yaml, file: "delta.yaml", defaultName: "delta", overrides: overrides).config).report
    }

    func testPagesSentAgainGoAsDeltas() throws {
        for fidelity in ["page", "fluid"] {
            let whole = try run(["simulation.fidelity=\(fidelity)"])
            let deltas = try run(["simulation.fidelity=\(fidelity)", "migration.compression=xbzrle"])
            let firstRound = Double(deltas.iterations[0].pagesSent) * 4096
            // Round 1 goes whole either way; the later rounds' pages go as deltas.
            XCTAssertEqual(deltas.iterations[0].pagesSent, whole.iterations[0].pagesSent, fidelity)
            // After round 1, about a hundredth of what goes whole (the cap makes the choice at once).
            XCTAssertLessThan(Double(deltas.bytesSent) - firstRound, 0.05 * (Double(whole.bytesSent) - firstRound), fidelity)
            XCTAssertGreaterThan(deltas.deltaPagesSent ?? 0, 0, fidelity)
            XCTAssertEqual(deltas.compressionRatio ?? 0, 100, accuracy: 1e-9, fidelity)
            XCTAssertNil(whole.deltaPagesSent, fidelity)
        }
    }

    /// A guest and a working set beyond the copies: the direct-mapped copies hold the last 64 MiB
    /// of the first round's pass (a sixteenth of a 1 GiB guest), then a quarter of a 256 MiB
    /// working set; a 64 MiB guest's are all held.
    func testAWorkingSetBeyondTheCopiesGainsInProportion() throws {
        let held = try run(["migration.compression=xbzrle"])
        let beyond = try run(["migration.compression=xbzrle", "guest.memory=1GiB", "workload.workingSet=256MiB", "workload.rate=40000"])
        let heldShare = Double(held.deltaPagesSent ?? 0) / Double(held.pagesSent - held.iterations[0].pagesSent)
        let beyondShare = Double(beyond.deltaPagesSent ?? 0) / Double(beyond.pagesSent - beyond.iterations[0].pagesSent)
        XCTAssertGreaterThan(heldShare, 0.9)
        XCTAssertLessThan(beyondShare, 0.5)
    }

    func testBadValuesAreRefusedNamingTheKey() {
        for (overrides, key) in [(["guest.deltaRatio=0"], "deltaRatio"), (["guest.deltaRatio=2"], "deltaRatio"),
                                 (["source.deltaCost=-1us"], "deltaCost"),
                                 (["migration.compression=xbzrle", "migration.streams=2"], "compression")] {
            XCTAssertThrowsError(try run(overrides), "\(overrides)") { error in
                XCTAssertTrue("\(error)".contains(key), "\(error)")
            }
        }
    }
}
