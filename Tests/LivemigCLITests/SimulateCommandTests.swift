import Foundation
import XCTest

/// `livemig simulate` run as a real process on the shipped scenarios: the JSON report's fields,
/// the embedded default matching `scenarios/seed-1g.yaml`, `--output` files, the table's seed
/// and rerun line, and reproducibility from a seed.
final class SimulateCommandTests: XCTestCase {
    private func simulate(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try LivemigProcess.run(["simulate"] + arguments)
        XCTAssertEqual(result.status, 0, "livemig simulate \(arguments.joined(separator: " ")): \(result.stderr)", file: file, line: line)
        return result.stdout
    }

    func testIdleScenarioJSONHasTheReportFields() throws {
        let report = try LivemigProcess.jsonObject(try simulate(["scenarios/idle-1g.yaml", "--format", "json"]))
        XCTAssertEqual(report["outcome"] as? String, "converged")
        XCTAssertEqual(report["policy"] as? String, "xen4")
        XCTAssertEqual(report["scenario"] as? String, "idle-1g")
        XCTAssertEqual((report["seed"] as? NSNumber)?.intValue, 1, "the default seed")
        XCTAssertEqual((report["guestPages"] as? NSNumber)?.intValue, 262_144)
        let total = try XCTUnwrap((report["totalTimeSeconds"] as? NSNumber)?.doubleValue)
        let downtime = try XCTUnwrap((report["downtimeSeconds"] as? NSNumber)?.doubleValue)
        XCTAssertGreaterThan(downtime, 0)
        XCTAssertLessThan(downtime, total)
        // An idle 1 GiB guest at 1 Gbit/s: one full pass of about 8.6 s.
        XCTAssertEqual(total, 8.6, accuracy: 0.1)
        let pagesSent = try XCTUnwrap((report["pagesSent"] as? NSNumber)?.intValue)
        XCTAssertEqual(pagesSent, 262_144, "an idle guest's pages are sent once")
        let bytesSent = try XCTUnwrap((report["bytesSent"] as? NSNumber)?.intValue)
        XCTAssertGreaterThan(bytesSent, pagesSent * 4096, "pages plus stream headers")

        let iterations = try XCTUnwrap(report["iterations"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(iterations.count, 2)
        for iteration in iterations {
            for key in ["index", "pagesSent", "pagesSkipped", "pagesDirtied", "startSeconds", "durationSeconds", "paused"] {
                XCTAssertNotNil(iteration[key], "iteration lacks \(key): \(iteration)")
            }
        }
        XCTAssertEqual(iterations.last?["paused"] as? Bool, true)
        XCTAssertEqual(iterations.dropLast().compactMap { $0["paused"] as? Bool }, Array(repeating: false, count: iterations.count - 1))
        XCTAssertEqual(iterations.compactMap { ($0["pagesSent"] as? NSNumber)?.intValue }.reduce(0, +), pagesSent)
    }

    func testEmbeddedDefaultMatchesTheShippedSeedScenario() throws {
        let embedded = try simulate(["--format", "json"])
        let shipped = try simulate(["scenarios/seed-1g.yaml", "--format", "json"])
        XCTAssertEqual(embedded, shipped, "the embedded default no longer behaves like scenarios/seed-1g.yaml")
        XCTAssertEqual(try LivemigProcess.jsonObject(embedded)["scenario"] as? String, "seed-1g")
    }

    func testOutputWritesJSONAndCSV() throws {
        let directory = try LivemigProcess.temporaryDirectory(for: self)
        let base = directory.appendingPathComponent("nested/x").path
        let printed = try simulate(["scenarios/idle-1g.yaml", "--format", "json", "--output", base])

        let json = try String(contentsOfFile: base + ".json", encoding: .utf8)
        XCTAssertEqual(json, printed, "x.json holds the report printed")
        let iterations = try XCTUnwrap(try LivemigProcess.jsonObject(json)["iterations"] as? [[String: Any]])

        let csv = try String(contentsOfFile: base + ".csv", encoding: .utf8)
        let lines = csv.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "index,paused,pagesSent,pagesSkipped,pagesDirtied,startSeconds,durationSeconds")
        XCTAssertEqual(lines.count, iterations.count + 1, "a header and one row per iteration")
        let lastRow = try XCTUnwrap(lines.last).split(separator: ",").map(String.init)
        XCTAssertEqual(lastRow.count, 7)
        XCTAssertEqual(lastRow[1], "true", "the last row is the paused round")
        XCTAssertEqual(lastRow[0], "\((iterations.last?["index"] as? NSNumber)?.intValue ?? -1)")
    }

    func testTableShowsSeedAndARerunLineThatReproducesIt() throws {
        let table = try simulate(["scenarios/web-4g.yaml", "--set", "link.latency=1ms"])
        XCTAssertTrue(table.contains("seed"), table)
        XCTAssertTrue(table.contains("outcome"), table)
        let rerunLine = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("rerun: ") }, "no rerun line in:\n\(table)")
        XCTAssertEqual(rerunLine, "rerun: livemig simulate scenarios/web-4g.yaml --seed 4 --set link.latency=1ms")
        let command = rerunLine.dropFirst("rerun: livemig ".count).split(separator: " ").map(String.init)
        let again = try LivemigProcess.run(command)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, table, "the rerun line reproduces the run")
    }

    func testTheSameSeedGivesTheSameOutput() throws {
        let first = try simulate(["scenarios/seed-1g.yaml", "--seed", "5", "--format", "json"])
        let second = try simulate(["scenarios/seed-1g.yaml", "--seed", "5", "--format", "json"])
        XCTAssertEqual(first, second)
        XCTAssertEqual((try LivemigProcess.jsonObject(first)["seed"] as? NSNumber)?.intValue, 5)
    }

    func testMemoryHogFallsBackToOffline() throws {
        let report = try LivemigProcess.jsonObject(try simulate(["scenarios/memory-hog-2g.yaml", "--format", "json"]))
        XCTAssertEqual(report["outcome"] as? String, "offlineFallback")
        let reason = try XCTUnwrap(report["reason"] as? String)
        XCTAssertFalse(reason.isEmpty)
        XCTAssertTrue(reason.contains("converge"), reason)
    }

    func testFlagsOverrideTheScenario() throws {
        let report = try LivemigProcess.jsonObject(try simulate([
            "scenarios/idle-1g.yaml", "--policy", "xen3", "--fidelity", "fluid", "--set", "link.bandwidth=10Gbit/s",
            "--format", "json",
        ]))
        XCTAssertEqual(report["policy"] as? String, "xen3")
        XCTAssertEqual(report["fidelity"] as? String, "fluid")
        // Ten times the bandwidth of idle-1g: the full pass takes about 0.86 s instead of 8.6 s.
        XCTAssertEqual(try XCTUnwrap((report["totalTimeSeconds"] as? NSNumber)?.doubleValue), 0.86, accuracy: 0.05)
    }
}
