import MigrationScenario
import MigrationSimulation
import XCTest

/// Monte Carlo scenario values: `normal`, `lognormal`, `uniform` and `empirical` anywhere a
/// number goes, drawn with GSL from the seed, reproducible, in the value's unit, and every
/// malformed one refused naming the key.
final class ScenarioDistributionTests: XCTestCase {
    private let yaml = """
    seed: 9
    guest:
      memory: 1GiB
    workload:
      kind: uniform
      workingSet: 256MiB
      rate: normal(20000 pages/s, 4000 pages/s)
    link:
      bandwidth: uniform(600Mbit/s, 1000Mbit/s)
    policy:
      name: xen3
      maxIterations: empirical(5, 10, 29)
    """

    private func parse(_ text: String, drawSeed: UInt64? = nil, overrides: [String] = []) throws -> Scenario {
        try ScenarioLoader.parse(yaml: text, file: "mc.yaml", defaultName: "mc", overrides: overrides, drawSeed: drawSeed)
    }

    func testEachSeedDrawsItsOwnValuesAndTheSameSeedTheSame() throws {
        let first = try parse(yaml, drawSeed: 1)
        XCTAssertEqual(Set(first.drawnValues.keys), ["workload.rate", "link.bandwidth", "policy.maxIterations"])
        XCTAssertEqual(try parse(yaml, drawSeed: 1).drawnValues, first.drawnValues)
        XCTAssertEqual(try parse(yaml).drawnValues, try parse(yaml, drawSeed: 9).drawnValues, "without a draw seed, the scenario's own")
        let draws = try (1 ... 300).map { try parse(yaml, drawSeed: $0) }
        let bandwidths = draws.map(\.config.link.bandwidthProfile[0].bytesPerSecond)
        XCTAssertTrue(bandwidths.allSatisfy { (75e6 ..< 125e6).contains($0) }, "uniform(600Mbit/s, 1000Mbit/s) in bytes/s")
        XCTAssertGreaterThan(Set(bandwidths).count, 295, "a continuous quantity is not rounded")
        let mean = bandwidths.reduce(0, +) / Double(bandwidths.count)
        XCTAssertEqual(mean, 100e6, accuracy: 3e6)
        let iterations = Set(draws.map(\.config.policy.maxIterations))
        XCTAssertEqual(iterations, [5, 10, 29], "empirical draws only its values, all of them")
        XCTAssertTrue(draws.allSatisfy { $0.drawnValues["workload.rate"]?.hasSuffix("pages/s") == true })
    }

    func testNormalIsTruncatedAtZeroAndLognormalKeepsItsMean() throws {
        let random = GSLRandom(seed: 4)
        let normal = try XCTUnwrap(try ScenarioDistribution.parse("normal(1, 5)", key: "policy.maxIterations"))
        XCTAssertTrue(normal.whole, "a whole-number key gets whole draws")
        XCTAssertFalse(try XCTUnwrap(try ScenarioDistribution.parse("uniform(2, 4)", key: "policy.maxFactor")).whole, "a fractional key keeps fractions")
        for _ in 0 ..< 200 { XCTAssertGreaterThan(try XCTUnwrap(Double(try normal.draw(random))), 0) }
        let lognormal = try XCTUnwrap(try ScenarioDistribution.parse("lognormal(100.0ms, 30.0ms)", key: "k"))
        let values = try (0 ..< 4000).map { _ in try XCTUnwrap(Double(try lognormal.draw(random).dropLast(2))) }
        XCTAssertEqual(values.reduce(0, +) / 4000, 100, accuracy: 3)
        XCTAssertNil(try ScenarioDistribution.parse("1Gbit/s", key: "k"), "a plain value is no distribution")
        XCTAssertNil(try ScenarioDistribution.parse("100 pages/s", key: "k"))
    }

    func testMalformedDistributionsAreRefusedNamingTheKey() {
        let cases: [(String, String)] = [
            ("normal(1Gbit/s, 100Mbit/s)", "every argument needs the same unit"),
            ("normal(1Gbit/s)", "normal takes MEAN, SD"),
            ("normal(5, -1)", "must not be negative"),
            ("lognormal(0, 1)", "mean must be positive"),
            ("uniform(3, 2)", "LOW must not be above HIGH"),
            ("empirical()", "is not a number"),
            ("gamma(1, 2)", "'gamma(1, 2)' is not a bandwidth"),
            ("normal(fast, 1)", "'fast' is not a number"),
        ]
        for (text, expected) in cases {
            let scenario = "guest:\n  memory: 1GiB\nlink:\n  bandwidth: \(text)\n"
            XCTAssertThrowsError(try parse(scenario), text) { error in
                XCTAssertTrue("\(error)".contains("link.bandwidth: ") && "\(error)".contains(expected), "\(text): \(error)")
            }
        }
        // A draw the key refuses is the key's usual error.
        XCTAssertThrowsError(try parse("guest:\n  memory: 1GiB\nlink:\n  bandwidth: 1Gbit/s\npolicy:\n  maxIterations: uniform(0, 0.4)\n")) { error in
            XCTAssertTrue("\(error)".contains("policy.maxIterations"), "\(error)")
        }
    }

    /// Text keys are left alone, and other text that merely looks like a call too.
    func testNamesAndDescriptionsAreNeverDrawn() throws {
        let scenario = try parse("name: uniform(1, 2)\ndescription: Overload(peak)\nguest:\n  memory: 1GiB\nlink:\n  bandwidth: 1Gbit/s\n")
        XCTAssertEqual(scenario.name, "uniform(1, 2)")
        XCTAssertFalse(scenario.hasDistributions)
    }

    func testADistributionCanBeSetFromTheCommandLine() throws {
        let plain = "guest:\n  memory: 1GiB\nlink:\n  bandwidth: 1Gbit/s\n"
        let scenario = try parse(plain, drawSeed: 3, overrides: ["link.latency=uniform(1ms, 2ms)"])
        XCTAssertEqual(Array(scenario.drawnValues.keys), ["link.latency"])
        XCTAssertTrue((0.001 ..< 0.002).contains(scenario.config.link.latencySeconds))
        XCTAssertFalse(try parse(plain).hasDistributions)
    }
}
