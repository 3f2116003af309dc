import MigrationCore
import MigrationSweep
import XCTest

/// `--vary` as users write it: lists, ranges in one unit, and every malformed form refused in
/// one line that quotes it.
final class SweepAxisTests: XCTestCase {
    func testAListKeepsEachValueAsWritten() throws {
        let axis = try SweepAxis(parsing: "link.bandwidth=1Gbit/s, 10Gbit/s,100Mbit/s")
        XCTAssertEqual(axis.key, "link.bandwidth")
        XCTAssertEqual(axis.values, ["1Gbit/s", "10Gbit/s", "100Mbit/s"])
    }

    func testARangeOfWholeNumbersStaysWhole() throws {
        XCTAssertEqual(try SweepAxis(parsing: "policy.maxIterations=5..30/6").values, ["5", "10", "15", "20", "25", "30"])
    }

    func testARangeKeepsItsUnitAndGivesFractionsWhereNeeded() throws {
        XCTAssertEqual(try SweepAxis(parsing: "link.bandwidth=100Mbit/s..400Mbit/s/4").values,
                       ["100Mbit/s", "200Mbit/s", "300Mbit/s", "400Mbit/s"])
        XCTAssertEqual(try SweepAxis(parsing: "policy.downtimeLimit=1ms..2ms/3").values, ["1ms", "1.5ms", "2ms"])
        XCTAssertEqual(try SweepAxis(parsing: "seed=7..7/1").values, ["7"])
    }

    func testMalformedAxesAreRefusedNamingTheProblem() {
        let cases: [(String, String)] = [
            ("link.bandwidth", "expected KEY=V1,V2,..."),
            ("=1,2", "the key is empty"),
            ("link..bandwidth=1", "the key is empty"),
            ("a=1,,2", "an empty value"),
            ("a=", "an empty value"),
            ("a=1..5", "needs its number of values"),
            ("a=1..5/0", "a range takes 1 to 10000"),
            ("a=1..5/1", "one value cannot span"),
            ("a=100Mbit/s..1Gbit/s/3", "both ends need the same unit"),
            ("a=fast..slow/3", "'fast' is not a number"),
            ("a=1..nan/3", "'nan' is not a number"),
            ("a=1..1e400/3", "is not a number"),
            ("a=1..2/20000", "a range takes 1 to 10000"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try SweepAxis(parsing: text), text) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(expected) && message.contains("--vary"), "\(text): \(message)")
            }
        }
    }

    func testThePlanIsTheCrossProductWithTheLastKeyFastest() throws {
        let plan = try SweepPlan(axes: [SweepAxis(key: "a", values: ["1", "2"]), SweepAxis(key: "b", values: ["x", "y", "z"])],
                                 runs: 4, baseSeed: UInt64.max - 1)
        XCTAssertEqual(plan.pointCount, 6)
        XCTAssertEqual(plan.simulationCount, 24)
        XCTAssertEqual(plan.overrides(ofPoint: 0), ["a=1", "b=x"])
        XCTAssertEqual(plan.overrides(ofPoint: 4), ["a=2", "b=y"])
        XCTAssertEqual((0 ..< 4).map(plan.seed(ofRun:)), [UInt64.max - 1, UInt64.max, 0, 1], "seeds wrap, never trap")
        XCTAssertEqual(try SweepPlan(axes: [], runs: 3, baseSeed: 1).pointCount, 1, "no --vary: one point, many seeds")
    }

    func testImpossiblePlansAreRefused() {
        let axis = SweepAxis(key: "a", values: (0 ..< 10_000).map(String.init))
        XCTAssertThrowsError(try SweepPlan(axes: [axis, SweepAxis(key: "b", values: (0 ..< 10_000).map(String.init))], runs: 1, baseSeed: 1))
        XCTAssertThrowsError(try SweepPlan(axes: [axis], runs: 10_000, baseSeed: 1))
        XCTAssertThrowsError(try SweepPlan(axes: [], runs: 0, baseSeed: 1)) { XCTAssertTrue("\($0)".contains("--runs 0")) }
        XCTAssertThrowsError(try SweepPlan(axes: [axis, axis], runs: 1, baseSeed: 1)) { XCTAssertTrue("\($0)".contains("varied twice")) }
    }

    func testPercentilesAreNearestRank() {
        let values = (1 ... 20).map(Double.init)
        XCTAssertEqual(SweepStatistics.percentile(50, of: values), 10)
        XCTAssertEqual(SweepStatistics.percentile(95, of: values), 19)
        XCTAssertEqual(SweepStatistics.percentile(99, of: values), 20)
        XCTAssertNil(SweepStatistics.percentile(50, of: []))
    }
}
