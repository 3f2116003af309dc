import MigrationCore
import MigrationScenario
import MigrationSimulation
import XCTest

/// `guest.zeroShare`: the share of memory that is zero pages when the migration starts goes as
/// 8-byte markers in the first full pass, at both fidelities, live and offline; later rounds
/// send whole pages.
final class ZeroPageModelTests: XCTestCase {
    private let base = """
        guest: {memory: 256MiB}
        workload: {kind: uniform, rate: 2000, workingSet: 32MiB}
        link:
          profile:
            - {at: 0s, bandwidth: 1Gbit/s}
        policy: {name: xen4}
        """

    private func run(_ overrides: [String]) throws -> MigrationReport {
        try Simulator.run(try ScenarioLoader.parse(yaml: base, file: "zero.yaml", defaultName: "zero", overrides: overrides).config).report
    }

    func testTheFirstPassSendsTheZeroShareAsMarkers() throws {
        for fidelity in ["page", "fluid"] {
            let plain = try run(["simulation.fidelity=\(fidelity)"])
            let zero = try run(["simulation.fidelity=\(fidelity)", "guest.zeroShare=0.75"])
            XCTAssertNil(plain.zeroPagesSent, fidelity)
            let guestPages = 65_536
            XCTAssertEqual(Double(try XCTUnwrap(zero.zeroPagesSent)), 0.75 * Double(guestPages), accuracy: 2, fidelity)
            // Each zero page saved its 4 KiB; later rounds (dirtied pages) are sent whole. The
            // rounds differ a little (a shorter first round leaves fewer dirty pages), so the
            // saving is compared on the first pass's share of the bytes.
            let saved = Double(plain.bytesSent - zero.bytesSent)
            XCTAssertGreaterThan(saved, 0.95 * 0.75 * Double(guestPages) * 4096, fidelity)
            XCTAssertLessThan(zero.totalTimeSeconds, 0.5 * plain.totalTimeSeconds, fidelity)
            XCTAssertEqual(zero.outcome, plain.outcome, fidelity)
        }
    }

    func testAnOfflineMigrationSendsItsZeroPagesAsMarkersToo() throws {
        let plain = try run(["migration.live=false"])
        let zero = try run(["migration.live=false", "guest.zeroShare=0.5"])
        XCTAssertEqual(zero.zeroPagesSent, 32_768)
        // One pass, the same pages: exactly the zero pages' data less on the wire.
        XCTAssertEqual(zero.pagesSent, plain.pagesSent)
        XCTAssertEqual(plain.bytesSent - zero.bytesSent, 32_768 * 4096)
    }

    func testTheShareIsCheckedNamingTheKey() {
        for value in ["-0.1", "1.5", "nan"] {
            XCTAssertThrowsError(try run(["guest.zeroShare=\(value)"]), value) { error in
                XCTAssertTrue("\(error)".contains("zeroShare"), "\(error)")
            }
        }
    }
}
