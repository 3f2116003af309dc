import Foundation
import XCTest

/// `livemig sweep` as a user runs it: the table, the two files, the default place for them,
/// the same numbers as `simulate` for a point and a seed, and one clear line for each bad input.
final class SweepCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try LivemigProcess.temporaryDirectory(for: self)
    }


    func testASweepPrintsAPointPerLineAndWritesEveryRun() throws {
        let output = directory.appendingPathComponent("hog").path
        let result = try LivemigProcess.run(["sweep", "scenarios/memory-hog-2g.yaml", "--vary", "link.bandwidth=1Gbit/s,10Gbit/s",
                                             "--vary", "policy.name=xen3,xen4", "--runs", "3", "--jobs", "2", "--output", output])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("4 points x 3 runs = 12 simulations"), result.stdout)
        XCTAssertTrue(result.stdout.contains("P(fallback)"), result.stdout)
        XCTAssertEqual(result.stdout.split(separator: "\n").filter { $0.hasPrefix("10Gbit/s ") }.count, 2, result.stdout)
        XCTAssertEqual(result.stderr, "", "no progress bar when standard error is not a terminal")
        let csv = try String(contentsOfFile: output + ".csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 13)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + ".json"))) as? [String: Any])
        XCTAssertEqual((json["points"] as? [Any])?.count, 4)

        // A run of the sweep is `simulate` with that point's values and seed.
        let fields = csv[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let alone = try LivemigProcess.run(["simulate", "scenarios/memory-hog-2g.yaml", "--set", "link.bandwidth=\(fields[0])",
                                            "--policy", fields[1], "--seed", fields[2], "--format", "json"])
        let report = try LivemigProcess.jsonObject(alone.stdout)
        // (Foundation's JSON reader on Linux may lose the last digit of a double.)
        XCTAssertEqual(try XCTUnwrap((report["totalTimeSeconds"] as? NSNumber)?.doubleValue), try XCTUnwrap(Double(fields[4])), accuracy: 1e-9)
        XCTAssertEqual(report["outcome"] as? String, fields[3])
    }

    func testWithoutOutputTheFilesGoUnderResults() throws {
        let result = try LivemigProcess.run(["sweep", "--runs", "2", "--vary", "policy.maxIterations=2..3/2"], in: directory)
        XCTAssertEqual(result.status, 0, result.stderr)
        for suffix in ["csv", "json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("results/seed-1g-sweep.\(suffix)").path))
        }
    }

    func testBadInputsGetOneLineNamingThem() throws {
        let cases: [([String], String)] = [
            (["--vary", "link.bandwidht=1Gbit/s"], "link.bandwidht: unknown key"),
            (["--vary", "link.bandwidth=1Gbit/s..2Gbit/s/0"], "a range takes 1 to 10000"),
            (["--vary", "link.bandwidth=fast"], "link.bandwidth=fast"),
            (["--runs", "0"], "--runs 0"),
            (["--jobs", "0"], "--jobs 0"),
            (["--vary", "policy.name=xen3", "--vary", "policy.name=xen4"], "varied twice"),
            (["--vary", "guest.memory=0"], "guest.memory"),
            (["--format", "csv"], "--format csv"),
        ]
        try LivemigProcess.assertEachFailsInOneLine(["sweep", "--output", directory.appendingPathComponent("bad").path], cases)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("bad.csv").path), "nothing written")
    }

    /// Three parts, as three cluster tasks would run them, merged: the same files as one sweep.
    func testShardsMergedEqualTheUnshardedSweep() throws {
        let arguments = ["sweep", "scenarios/seed-1g.yaml", "--vary", "policy.maxIterations=2..6/5", "--vary", "link.bandwidth=1Gbit/s,2Gbit/s",
                         "--runs", "3"]
        let partsPrefix = directory.appendingPathComponent("parts/s").path
        for index in 1 ... 3 {
            let part = try LivemigProcess.run(arguments + ["--shard", "\(index)/3", "--output", partsPrefix])
            XCTAssertEqual(part.status, 0, part.stderr)
            XCTAssertTrue(part.stdout.contains("part \(index) of 3: 10 of 30 simulations"), part.stdout)
        }
        let merged = directory.appendingPathComponent("merged").path
        let merge = try LivemigProcess.run(["merge"] + (1 ... 3).map { "\(partsPrefix).part-\($0)-of-3.json" } + ["--output", merged])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertTrue(merge.stdout.contains("merged from its parts"), merge.stdout)
        let whole = directory.appendingPathComponent("whole").path
        XCTAssertEqual(try LivemigProcess.run(arguments + ["--output", whole]).status, 0)
        for suffix in [".csv", ".json"] {
            XCTAssertEqual(try String(contentsOfFile: merged + suffix, encoding: .utf8), try String(contentsOfFile: whole + suffix, encoding: .utf8), suffix)
        }
        let missing = try LivemigProcess.run(["merge", "\(partsPrefix).part-1-of-3.json", "--output", merged])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("parts 2, 3 of 3 are missing"), missing.stderr)
    }

    /// Monte Carlo: a scenario whose bandwidth is a distribution gives each run its own draw;
    /// the spread shows in the percentiles, and the sweep is reproducible.
    func testADistributionGivesEachRunItsOwnDraw() throws {
        let output = directory.appendingPathComponent("mc").path
        let arguments = ["sweep", "scenarios/memory-hog-2g.yaml", "--set", "link.bandwidth=uniform(2000Mbit/s, 8000Mbit/s)",
                         "--set", "simulation.fidelity=fluid", "--runs", "40", "--output", output]
        let result = try LivemigProcess.run(arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        let csv = try String(contentsOfFile: output + ".csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = try XCTUnwrap(rows.first)
        let timeColumn = try XCTUnwrap(header.firstIndex(of: "totalTimeSeconds"))
        let drawnColumn = try XCTUnwrap(header.firstIndex(of: "link.bandwidth (drawn)"), "the draw has its column: \(header)")
        let times = rows.dropFirst().compactMap { Double($0[timeColumn]) }
        XCTAssertEqual(times.count, 40)
        XCTAssertGreaterThan(Set(times).count, 35, "each run drew its own bandwidth")
        let drawn = rows.dropFirst().compactMap { $0[drawnColumn].hasSuffix("Mbit/s") ? Double($0[drawnColumn].dropLast(6)) : nil }
        XCTAssertEqual(drawn.count, 40)
        XCTAssertTrue(drawn.allSatisfy { (2000 ..< 8000).contains($0) }, "uniform(2000Mbit/s, 8000Mbit/s): \(drawn.prefix(5))")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output + ".json"))) as? [String: Any])
        let point = try XCTUnwrap((json["points"] as? [[String: Any]])?.first)
        let time = try XCTUnwrap(point["totalTimeSeconds"] as? [String: Any])
        let p50 = try XCTUnwrap((time["p50"] as? NSNumber)?.doubleValue), p95 = try XCTUnwrap((time["p95"] as? NSNumber)?.doubleValue)
        XCTAssertLessThan(p50, p95)
        let interval = try XCTUnwrap(time["p50Interval"] as? [NSNumber]).map(\.doubleValue)
        XCTAssertTrue(interval[0] <= p50 && p50 <= interval[1], "\(interval) holds \(p50)")
        XCTAssertEqual(try LivemigProcess.run(arguments + ["--jobs", "1"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: output + ".csv", encoding: .utf8), csv, "the same seeds, the same draws, on any number of jobs")
    }
}
