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

    /// `empirical(file: PATH)`: values from a file beside the scenario (one per line), or the
    /// per-interval dirty rates of a trace `livemig observe` wrote.
    func testEmpiricalFromAFileOfValuesAndFromATrace() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("livemig-empirical-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "# measured by iperf\r\n700Mbit/s\r\n850Mbit/s  # busy hour\n\n940Mbit/s\r\n".write(to: directory.appendingPathComponent("link.txt"), atomically: true, encoding: .utf8)
        // Reads every 0.5 s: 100 pages, then 50, then 300 (a range): 200, 100 and 600 pages/s.
        try "livemig-trace 1\npages 1000\n0.5 0-99\n1.0 0-49\n1.5 100-399\n1.5 5\n".write(to: directory.appendingPathComponent("observed.trace"),
                                                                                              atomically: true, encoding: .utf8)
        let text = """
        guest: { memory: 1GiB }
        workload: { kind: uniform, workingSet: 256MiB, rate: "empirical(file: observed.trace)" }
        link: { bandwidth: "empirical(file: link.txt)" }
        """
        let draws = try (1 ... 100).map { seed in
            try ScenarioLoader.parse(yaml: text, file: "mc.yaml", defaultName: "mc", baseDirectory: directory.path, drawSeed: UInt64(seed))
        }
        XCTAssertEqual(Set(draws.map(\.config.link.bandwidthProfile[0].bytesPerSecond)), [87.5e6, 106.25e6, 117.5e6])
        let rates = draws.compactMap { draw -> Double? in
            if case .uniform(65_536, let rate) = draw.config.workload { return rate }
            return nil
        }
        XCTAssertEqual(rates.count, 100)
        XCTAssertEqual(Set(rates), [200, 100, 600], "the trace's intervals' dirty rates (the same-instant read says nothing)")
        let bad: [(String, String)] = [
            ("empirical(file: missing.txt)", "cannot read"),
            ("empirical(file: )", "name the file"),
            ("empirical(file: mixed.txt)", "line 2: every value needs the same unit"),
            ("empirical(file: junk.txt)", "line 1: 'fast' is not a number"),
        ]
        try "1Gbit/s\n100MB/s\n".write(to: directory.appendingPathComponent("mixed.txt"), atomically: true, encoding: .utf8)
        try "fast\n".write(to: directory.appendingPathComponent("junk.txt"), atomically: true, encoding: .utf8)
        for (value, expected) in bad {
            XCTAssertThrowsError(try ScenarioLoader.parse(yaml: "guest: { memory: 1GiB }\nlink: { bandwidth: \"\(value)\" }", file: "mc.yaml",
                                                          defaultName: "mc", baseDirectory: directory.path, drawSeed: 1)) { error in
                XCTAssertTrue("\(error)".contains(expected) && "\(error)".contains("link.bandwidth"), "\(value): \(error)")
            }
        }
    }
}
