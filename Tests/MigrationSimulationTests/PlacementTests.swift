import MigrationCore
import MigrationScenario
@testable import MigrationSimulation
import XCTest

/// `workload.placement`: a working set scattered over memory (the default) or one contiguous
/// block from `workload.offset`, as the built-in guest program writes it.
final class PlacementTests: XCTestCase {
    private let base = """
        guest: {memory: 64MiB}
        workload: {kind: uniform, workingSet: 4MiB, rate: 20000}
        link: {bandwidth: 1Gbit/s}
        policy: {name: xen3}
        """

    private func config(_ overrides: [String]) throws -> SimulationConfig {
        try ScenarioLoader.parse(yaml: base, file: "place.yaml", defaultName: "place", overrides: overrides).config
    }

    /// Frames the workload dirties in 2 s of writes.
    private func dirtiedFrames(_ config: SimulationConfig) throws -> [Int] {
        var memory = try SimulatedParts.page(config).memory
        memory.advance(from: 0, to: 2, rateScale: 1)
        return memory.peek().pageNumbers
    }

    func testAContiguousWorkingSetDirtiesOnlyItsBlock() throws {
        let contiguous = try config(["workload.placement=contiguous", "workload.offset=32MiB"])
        XCTAssertEqual(contiguous.placement, .contiguous(firstPage: 8192))
        let frames = try dirtiedFrames(contiguous)
        XCTAssertGreaterThan(frames.count, 900, "20,000 writes over 1,024 pages touch nearly all of them")
        XCTAssertTrue(frames.allSatisfy { (8192 ..< 9216).contains($0) }, "\(frames.first ?? -1)...\(frames.last ?? -1)")

        let scattered = try dirtiedFrames(try config([]))
        XCTAssertGreaterThan(scattered.count, 900)
        XCTAssertGreaterThan(scattered.last! - scattered.first!, 8 * 1024, "the default spreads the working set over memory")
    }

    func testASequentialSweepStartsAtTheOffset() throws {
        let sweep = try config(["workload.kind=sequential", "workload.rate=400", "workload.placement=contiguous",
                                "workload.offset=1000"])
        // 2 s at 400 pages/s over a 1,024-page region from page 1000: pages 1000 ..< 1800.
        let frames = try dirtiedFrames(sweep)
        XCTAssertTrue(frames == Array(1000 ..< 1800), "\(frames.count) pages, \(frames.first ?? -1)...\(frames.last ?? -1)")
        // Past the region's end the sweep wraps to its start, not to page 0.
        let wrapped = try dirtiedFrames(try config(["workload.kind=sequential", "workload.rate=700", "workload.placement=contiguous",
                                                    "workload.offset=1000"]))
        XCTAssertTrue(wrapped == Array(1000 ..< 2024), "\(wrapped.count) pages, \(wrapped.first ?? -1)...\(wrapped.last ?? -1)")
    }

    func testPlacementMovesWhatXen3SkipsAndNothingAtFluidFidelity() throws {
        // The same writes in another place: Xen 3's sweep meets them at another point of its pass.
        let low = try Simulator.run(try config(["workload.placement=contiguous", "workload.offset=0"])).report
        let high = try Simulator.run(try config(["workload.placement=contiguous", "workload.offset=60MiB"])).report
        XCTAssertNotEqual(low.iterations.first?.pagesSkipped, high.iterations.first?.pagesSkipped)
        // A block at the end of memory is passed last: more of it is dirtied again before the
        // sweep gets there, so pass 1 skips more of it than of a block at the start.
        XCTAssertGreaterThan(high.iterations.first!.pagesSkipped, low.iterations.first!.pagesSkipped)

        let fluid = ["simulation.fidelity=fluid"]
        let fluidLow = try Simulator.run(try config(fluid + ["workload.placement=contiguous", "workload.offset=0"])).report
        let fluidHigh = try Simulator.run(try config(fluid + ["workload.placement=contiguous", "workload.offset=60MiB"])).report
        XCTAssertEqual(fluidLow.totalTimeSeconds, fluidHigh.totalTimeSeconds, "the fluid model's pages have no place")
    }

    func testBadPlacementsAreRefusedNamingTheKey() {
        let cases: [([String], String)] = [
            (["workload.offset=1MiB"], "workload.offset: only with placement: contiguous"),
            (["workload.placement=packed"], "workload.placement: 'packed' is not one of scattered, contiguous"),
            (["workload.placement=contiguous", "workload.offset=62MiB"], "workload.offset: a working set of 1024 pages from page 15872 runs past"),
            (["workload.placement=contiguous", "workload.offset=65MiB"], "workload.offset"),
        ]
        for (overrides, expected) in cases {
            XCTAssertThrowsError(try config(overrides), "\(overrides)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(overrides): \(error)")
                XCTAssertTrue("\(error)".contains("place.yaml"), "\(error)")
            }
        }
    }
}
