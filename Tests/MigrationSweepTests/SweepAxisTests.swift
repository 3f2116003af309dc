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

    func testPathsWithDotsAreAListNotARange() throws {
        XCTAssertEqual(try SweepAxis(parsing: "workload.trace.file=../t/a,../t/b").values, ["../t/a", "../t/b"])
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
            ("a=1..slow/3", "'slow' is not a number"),
            ("a=1..nan/3", "'nan' is not a number"),
            ("a=1..1e400/3", "is not a number"),
            ("a=1..2/20000", "a range takes 1 to 10000"),
            ("a=-1e308..1e308/3", "too wide"),
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

    /// Wilson's interval, checked against published values (Newcombe 1998, table I: 0/10 and
    /// 5/10); percentile intervals hold the estimate and widen with fewer runs.
    func testConfidenceIntervals() throws {
        let none = SweepStatistics.proportionInterval(successes: 0, trials: 10)
        XCTAssertEqual(none[0], 0, accuracy: 1e-4)
        XCTAssertEqual(none[1], 0.2775, accuracy: 1e-4)
        let half = SweepStatistics.proportionInterval(successes: 5, trials: 10)
        XCTAssertEqual(half[0], 0.2366, accuracy: 1e-4)
        XCTAssertEqual(half[1], 0.7634, accuracy: 1e-4)
        XCTAssertEqual(SweepStatistics.proportionInterval(successes: 0, trials: 0), [0, 1])

        let many = (1 ... 1000).map(Double.init), few = (1 ... 20).map(Double.init)
        for p in [50.0, 95, 99] {
            let wide = try XCTUnwrap(SweepStatistics.percentileInterval(p, of: few))
            let narrow = try XCTUnwrap(SweepStatistics.percentileInterval(p, of: many))
            let estimate = try XCTUnwrap(SweepStatistics.percentile(p, of: many))
            XCTAssertTrue(narrow[0] <= estimate && estimate <= narrow[1], "p\(p): \(narrow) holds \(estimate)")
            XCTAssertLessThan((narrow[1] - narrow[0]) / 1000, (wide[1] - wide[0]) / 20, "p\(p): more runs, a narrower interval")
        }
        XCTAssertEqual(SweepStatistics.percentileInterval(99, of: few)?.last, 20, "a p99 of 20 runs reaches to their largest")
        // n = 100, the median: ranks 50 -/+ 1.96 x 5 = 40.2 and 59.8, so X(40) and X(61) (Conover's table: 40 and 61).
        XCTAssertEqual(SweepStatistics.percentileInterval(50, of: (1 ... 100).map(Double.init)), [40, 61])
        XCTAssertNil(SweepStatistics.percentileInterval(50, of: []))
    }
}
