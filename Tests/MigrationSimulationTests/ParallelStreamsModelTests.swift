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
            // would carry 64 Gbit/s, but the link carries 40: 0.21 s. The round's last batches
            // are fewer than the streams, and run on fewer: a little more.
            XCTAssertEqual(one, 2.15, accuracy: 0.05, fidelity)
            XCTAssertEqual(one / four, 3.9, accuracy: 0.15, fidelity)
            XCTAssertEqual(one / fourOnTwoCores, 2, accuracy: 0.1, fidelity)
            XCTAssertGreaterThan(one / sixteen, 8.5, fidelity)
            XCTAssertLessThanOrEqual(one / sixteen, 10.01, "the link bounds them (40 / 4 Gbit/s), \(fidelity)")
        }
    }

    /// A paused round of one batch runs on one stream: more streams do not shorten it.
    func testAOneBatchRoundRunsOnOneStream() throws {
        let small = """
            guest: {memory: 4MiB}
            link: {bandwidth: 40Gbit/s}
            source: {streamRate: 1Gbit/s}
            migration: {live: false}
            policy: {name: xen4}
            """
        let one = try run([], yaml: small).downtimeSeconds
        let sixteen = try run(["migration.streams=16"], yaml: small).downtimeSeconds
        XCTAssertEqual(sixteen, one, accuracy: 0.001, "4 MiB is one batch of 1,024 pages")
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

/// `migration.compression: zstd` with `guest.compressRatio` and `source.compressCost`: the data
/// pages shrink to the ratio on the wire, at a CPU cost each that overlaps the link and spreads
/// over the streams; zero markers are not compressed.
final class CompressionModelTests: XCTestCase {
    private let base = """
        guest: {memory: 1GiB, compressRatio: 0.25}
        link: {bandwidth: 1Gbit/s}
        migration: {live: false}
        policy: {name: xen4}
        """

    private func run(_ overrides: [String]) throws -> MigrationReport {
        try Simulator.run(try ScenarioLoader.parse(yaml: base, file: "zstd.yaml", defaultName: "zstd", overrides: overrides).config).report
    }

    func testASlowLinkCarriesAQuarterOfTheBytes() throws {
        for fidelity in ["page", "fluid"] {
            let plain = try run(["simulation.fidelity=\(fidelity)"])
            // A free compression, so that the link alone sets the time.
            let zstd = try run(["simulation.fidelity=\(fidelity)", "migration.compression=zstd", "source.compressCost=0us"])
            XCTAssertEqual(Double(zstd.bytesSent) / Double(plain.bytesSent), 0.25, accuracy: 0.01, fidelity)
            XCTAssertEqual(zstd.totalTimeSeconds / plain.totalTimeSeconds, 0.25, accuracy: 0.02, fidelity)
            XCTAssertEqual(zstd.compressionRatio ?? 0, 4, accuracy: 1e-9, fidelity)
            XCTAssertNil(plain.compressionRatio, fidelity)
        }
    }

    func testOnAFastLinkTheCPUCostBoundsItAndStreamsSpreadIt() throws {
        // 262,144 pages at 8 us each is 2.1 s of compression; at 40 Gbit/s the quarter-size
        // data would take 0.05 s: one stream is CPU-bound, four streams on four cores a quarter of it.
        let one = try run(["link.bandwidth=40Gbit/s", "migration.compression=zstd", "source.compressCost=8us"]).totalTimeSeconds
        let four = try run(["link.bandwidth=40Gbit/s", "migration.compression=zstd", "source.compressCost=8us", "migration.streams=4"]).totalTimeSeconds
        let raw = try run(["link.bandwidth=40Gbit/s"]).totalTimeSeconds
        XCTAssertEqual(one, 2.1, accuracy: 0.1)
        XCTAssertEqual(one / four, 4, accuracy: 0.2)
        XCTAssertLessThan(raw, one, "on a fast link compression costs more than it saves")
    }

    func testZeroMarkersAreNotCompressed() throws {
        let zero = try run(["guest.zeroShare=0.5"])
        let both = try run(["guest.zeroShare=0.5", "migration.compression=zstd"])
        // The data half shrinks to a quarter; the markers stay.
        let dataBytes = Double(zero.bytesSent) - 131_072 * 8
        XCTAssertEqual(Double(zero.bytesSent - both.bytesSent), 0.75 * Double(131_072 * 4096), accuracy: 0.01 * dataBytes)
    }

    func testBadValuesAreRefusedNamingTheKey() {
        for (key, value) in [("guest.compressRatio", "0"), ("guest.compressRatio", "1.5"), ("migration.compression", "lz4"),
                             ("source.compressCost", "-1us")] {
            XCTAssertThrowsError(try run(["\(key)=\(value)"]), "\(key)=\(value)") { error in
                XCTAssertTrue("\(error)".contains(key.split(separator: ".").last!), "\(error)")
            }
        }
    }
}

/// `migration.compression: auto` in the simulator: the engine measures the modelled compression
/// as it would a real one and keeps compressing where it pays (a slow link), not where it does
/// not (a fast one).
final class AutoCompressionModelTests: XCTestCase {
    private func run(_ overrides: [String]) throws -> MigrationReport {
        let yaml = """
            guest: {memory: 1GiB, compressRatio: 0.3}
            workload: {kind: uniform, rate: 2000, workingSet: 64MiB}
            policy: {name: xen4}
            migration: {compression: auto}
            link: {bandwidth: 1Gbit/s}
            """
        return try Simulator.run(try ScenarioLoader.parse(yaml: yaml, file: "auto.yaml", defaultName: "auto", overrides: overrides).config).report
    }

    func testAutoCompressesOnASlowLinkAndNotOnAFastOne() throws {
        for fidelity in ["page", "fluid"] {
            let slow = try run(["simulation.fidelity=\(fidelity)"])
            let slowNone = try run(["simulation.fidelity=\(fidelity)", "migration.compression=none"])
            XCTAssertLessThan(Double(slow.bytesSent), 0.5 * Double(slowNone.bytesSent), "compressed on 1 Gbit/s, \(fidelity)")
            let fast = try run(["simulation.fidelity=\(fidelity)", "link.bandwidth=100Gbit/s"])
            let fastNone = try run(["simulation.fidelity=\(fidelity)", "link.bandwidth=100Gbit/s", "migration.compression=none"])
            XCTAssertGreaterThan(Double(fast.bytesSent), 0.9 * Double(fastNone.bytesSent), "whole on 100 Gbit/s after the probe, \(fidelity)")
            XCTAssertLessThan(fast.totalTimeSeconds, 1.2 * fastNone.totalTimeSeconds, fidelity)
        }
    }
}
