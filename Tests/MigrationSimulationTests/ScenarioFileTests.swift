import Foundation
import MigrationCore
import MigrationScenario
import DirtyTraceFormat
@testable import MigrationSimulation
import XCTest

/// Scenario files as `ScenarioLoader` reads them: the shipped scenarios and the documented
/// examples load, sizes become pages, and every bad key or value is rejected with an error that
/// names the file and the full key path (`link.bandwidth`), as `docs/scenario-format.md` says.
final class ScenarioFileTests: XCTestCase {
    /// The package root: three levels above this file (Tests/MigrationSimulationTests/…).
    private static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A minimal valid scenario; tests append or replace sections.
    private static let minimal = """
        guest:
          memory: 1GiB
        link:
          bandwidth: 1Gbit/s
        """

    private func parse(_ yaml: String, file: String = "case.yaml", overrides: [String] = []) throws -> Scenario {
        try ScenarioLoader.parse(yaml: yaml, file: file, defaultName: "case", overrides: overrides)
    }

    /// Asserts that `yaml` is rejected and that the error names the file and each of `mentions`.
    private func assertRejected(_ yaml: String, mentions: [String], overrides: [String] = [],
                                file: StaticString = #filePath, line: UInt = #line) {
        do {
            let scenario = try parse(yaml, file: "bad-case.yaml", overrides: overrides)
            XCTFail("accepted: \(scenario.config.workload)", file: file, line: line)
        } catch let error as ScenarioError {
            XCTAssertTrue(error.description.contains("bad-case.yaml"), "no file name in: \(error)", file: file, line: line)
            for text in mentions {
                XCTAssertTrue(error.description.contains(text), "'\(text)' not in: \(error)", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    private func makeTemporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ScenarioFileTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        return directory
    }

    // MARK: Shipped files and documentation

    func testEveryShippedScenarioLoads() throws {
        let directory = Self.packageRoot.appendingPathComponent("scenarios")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5, "scenarios/ should hold the shipped scenarios")
        for name in files {
            let path = directory.appendingPathComponent(name).path
            do {
                let scenario = try ScenarioLoader.load(path: path)
                XCTAssertEqual(scenario.name, (name as NSString).deletingPathExtension, "\(name): name differs from the file name")
                XCTAssertGreaterThan(scenario.config.guestPages, 0, name)
                XCTAssertNoThrow(try scenario.config.validate(), name)
            } catch {
                XCTFail("\(name): \(error)")
            }
        }
    }

    func testEveryYamlExampleInTheFormatDocumentLoads() throws {
        let document = try String(contentsOf: Self.packageRoot.appendingPathComponent("docs/scenario-format.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```yaml") {
                current = []
            } else if current != nil, line.hasPrefix("```") {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(String(line))
            }
        }
        XCTAssertGreaterThanOrEqual(blocks.count, 7, "one example per workload kind")
        var kinds: Set<String> = []
        for (index, block) in blocks.enumerated() {
            let directory = try makeTemporaryDirectory()
            // The trace example refers to a trace file next to the scenario.
            try "livemig-trace 1\npages 4\n0.5 0-3\n".write(to: directory.appendingPathComponent("web.trace"), atomically: true, encoding: .utf8)
            let path = directory.appendingPathComponent("example-\(index).yaml").path
            try block.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                kinds.insert(try ScenarioLoader.load(path: path).config.workload.kindName)
            } catch {
                XCTFail("docs example \(index) does not load: \(error)\n\(block)")
            }
        }
        XCTAssertEqual(kinds, ["idle", "uniform", "hotCold", "zipf", "sequential", "phases", "trace"])
    }

    // MARK: Values

    func testOneGibibyteIs262144FourKibibytePages() throws {
        let scenario = try parse(Self.minimal)
        XCTAssertEqual(scenario.config.guestMemoryBytes, 1 << 30)
        XCTAssertEqual(scenario.config.pageSizeBytes, 4096)
        XCTAssertEqual(scenario.config.guestPages, 262_144)
        XCTAssertEqual(scenario.name, "case", "the default name is used when the file has none")
        XCTAssertEqual(scenario.config.workload, .idle, "no workload section means an idle guest")
        XCTAssertEqual(scenario.config.policy.name, .xen4, "the default policy")
        XCTAssertEqual(scenario.config.seed, 1)
    }

    func testSizesInAWorkloadBecomePages() throws {
        let scenario = try parse(Self.minimal + """

            workload:
              kind: hotCold
              workingSet: 256MiB
              hotSet: 16MiB
              hotRate: 80MiB/s
            """)
        XCTAssertEqual(scenario.config.workload, .hotCold(workingSetPages: 65_536, hotPages: 4096,
                                                          hotRatePagesPerSecond: 20_480, coldRatePagesPerSecond: 0))
    }

    // MARK: Unknown keys

    func testUnknownTopLevelKeyIsRejectedNamingFileAndKey() throws {
        let directory = try makeTemporaryDirectory()
        let path = directory.appendingPathComponent("typo-top.yaml").path
        try (Self.minimal + "\nguset:\n  memory: 2GiB\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ScenarioLoader.load(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("typo-top.yaml"), text)
            XCTAssertTrue(text.contains("guset: unknown key"), text)
        }
    }

    func testUnknownNestedKeyIsRejectedWithItsFullPath() throws {
        let directory = try makeTemporaryDirectory()
        let path = directory.appendingPathComponent("typo-nested.yaml").path
        try "guest:\n  memory: 1GiB\nlink:\n  bandwidth: 1Gbit/s\n  bandwidht: 10Gbit/s\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ScenarioLoader.load(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("typo-nested.yaml"), text)
            XCTAssertTrue(text.contains("link.bandwidht: unknown key"), text)
        }
    }

    func testKeyOfAnotherWorkloadKindIsUnknown() {
        assertRejected(Self.minimal + "\nworkload:\n  kind: idle\n  hotSet: 8MiB\n", mentions: ["workload.hotSet", "unknown key"])
    }

    // MARK: Bad values

    func testWordsAreNotABandwidth() {
        assertRejected("guest:\n  memory: 1GiB\nlink:\n  bandwidth: fast\n", mentions: ["link.bandwidth", "'fast'"])
    }

    func testMemoryMustBeAWholeNumberOfPages() {
        assertRejected("guest:\n  memory: 1000B\n  pageSize: 4KiB\nlink:\n  bandwidth: 1Gbit/s\n",
                       mentions: ["guest.memory", "4096-byte pages"])
    }

    func testUnknownWorkloadKindIsRejected() {
        assertRejected(Self.minimal + "\nworkload:\n  kind: chaos\n", mentions: ["workload.kind", "'chaos'"])
    }

    func testUnknownPolicyIsRejected() {
        assertRejected(Self.minimal + "\npolicy:\n  name: vmware\n", mentions: ["policy.name", "'vmware'", "xen4"])
    }

    func testWorkingSetLargerThanMemoryIsRejected() {
        assertRejected(Self.minimal + "\nworkload:\n  kind: uniform\n  workingSet: 2GiB\n  rate: 1000\n",
                       mentions: ["workload.workingSet", "larger than guest.memory"])
    }

    func testHotSetLargerThanWorkingSetIsRejected() {
        assertRejected(Self.minimal + "\nworkload:\n  kind: hotCold\n  workingSet: 64MiB\n  hotSet: 128MiB\n  hotRate: 1000\n",
                       mentions: ["workload.hotSet", "larger than workingSet"])
    }

    func testGuestMemoryIsRequired() {
        assertRejected("guest:\n  pageSize: 4KiB\nlink:\n  bandwidth: 1Gbit/s\n", mentions: ["guest.memory", "required"])
    }

    func testLinkBandwidthIsRequired() {
        assertRejected("guest:\n  memory: 1GiB\nlink:\n  latency: 1ms\n", mentions: ["link.bandwidth", "required"])
    }

    func testZeroMaxIterationsIsRejected() {
        assertRejected(Self.minimal + "\npolicy:\n  name: xen3\n  maxIterations: 0\n", mentions: ["policy.maxIterations", "'0'"])
    }

    func testNegativeLatencyIsRejected() {
        assertRejected("guest:\n  memory: 1GiB\nlink:\n  bandwidth: 1Gbit/s\n  latency: -1ms\n",
                       mentions: ["link.latency", "negative"])
    }

    func testInvalidYamlIsRejected() {
        assertRejected("guest:\n  memory: [1GiB\nlink: {\n", mentions: ["not valid YAML"])
    }

    func testPageSizeMustBeAPowerOfTwo() {
        assertRejected("guest:\n  memory: 1GiB\n  pageSize: 3000B\nlink:\n  bandwidth: 1Gbit/s\n",
                       mentions: ["guest.pageSize", "power of two"])
    }

    // MARK: --set overrides

    func testBandwidthOverrideReplacesTheLink() throws {
        let base = try parse(Self.minimal)
        XCTAssertEqual(base.config.link.bandwidthProfile, [LinkModel.Step(fromSeconds: 0, bytesPerSecond: 125_000_000)])
        let scenario = try parse(Self.minimal, overrides: ["link.bandwidth=10Gbit/s"])
        XCTAssertEqual(scenario.config.link.bandwidthProfile, [LinkModel.Step(fromSeconds: 0, bytesPerSecond: 1.25e9)])
    }

    func testPolicyOverrideSwitchesThePolicy() throws {
        let yaml = Self.minimal + "\npolicy:\n  name: xen4\n"
        XCTAssertEqual(try parse(yaml).config.policy.name, .xen4)
        XCTAssertEqual(try parse(yaml, overrides: ["policy.name=xen3"]).config.policy.name, .xen3)
    }

    func testOverrideCreatesAMissingSection() throws {
        let scenario = try parse(Self.minimal, overrides: ["migration.rateLimit=100MB/s", "seed=42"])
        XCTAssertEqual(scenario.config.engine.rateLimitBytesPerSecond, 1e8)
        XCTAssertEqual(scenario.config.seed, 42)
    }

    func testOverrideWithoutEqualsIsRejected() {
        XCTAssertThrowsError(try parse(Self.minimal, overrides: ["link.bandwidth"])) { error in
            XCTAssertTrue("\(error)".contains("--set link.bandwidth"), "\(error)")
            XCTAssertTrue("\(error)".contains("key=value"), "\(error)")
        }
    }

    func testOverrideThroughAScalarIsRejected() {
        XCTAssertThrowsError(try parse(Self.minimal, overrides: ["guest.memory.x=1"])) { error in
            XCTAssertTrue("\(error)".contains("guest.memory.x=1"), "\(error)")
            XCTAssertTrue("\(error)".contains("'memory' is not a mapping"), "\(error)")
        }
    }

    func testOverrideOfAnUnknownKeyIsRejectedLikeTheFile() {
        assertRejected(Self.minimal, mentions: ["link.bandwidht", "unknown key"], overrides: ["link.bandwidht=1Gbit/s"])
    }

    // MARK: Quantities

    func testBandwidths() {
        XCTAssertEqual(Quantities.bytesPerSecond("1Gbit/s"), 125_000_000)
        XCTAssertEqual(Quantities.bytesPerSecond("125MB/s"), 125_000_000)
        XCTAssertEqual(Quantities.bytesPerSecond("1GiB/s"), 1_073_741_824)
        XCTAssertEqual(Quantities.bytesPerSecond("500"), 500)
        XCTAssertNil(Quantities.bytesPerSecond("fast"))
    }

    func testSizes() {
        XCTAssertEqual(Quantities.bytes("4KiB"), 4096)
        XCTAssertEqual(Quantities.bytes("1GB"), 1e9)
        XCTAssertEqual(Quantities.bytes("1000B"), 1000)
        XCTAssertEqual(Quantities.pages("1MiB", pageSizeBytes: 4096), 256)
        XCTAssertEqual(Quantities.pages("300", pageSizeBytes: 4096), 300)
        XCTAssertNil(Quantities.bytes("lots"))
    }

    func testDurations() throws {
        XCTAssertEqual(try XCTUnwrap(Quantities.seconds("0.2ms")), 0.0002, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(Quantities.seconds("300ms")), 0.3, accuracy: 1e-15)
        XCTAssertEqual(Quantities.seconds("2min"), 120)
        XCTAssertEqual(Quantities.seconds("5s"), 5)
        XCTAssertEqual(Quantities.seconds("1h"), 3600)
        XCTAssertNil(Quantities.seconds("soon"))
    }

    // MARK: Trace workloads

    func testRelativeTracePathIsResolvedAgainstTheScenarioDirectory() throws {
        let directory = try makeTemporaryDirectory()
        let traces = directory.appendingPathComponent("traces", isDirectory: true)
        try FileManager.default.createDirectory(at: traces, withIntermediateDirectories: true)
        try "livemig-trace 1\npages 16\n0.1 1 2 5-7\n0.2 3\n"
            .write(to: traces.appendingPathComponent("guest.trace"), atomically: true, encoding: .utf8)
        let path = directory.appendingPathComponent("replay.yaml").path
        try "guest:\n  memory: 64KiB\nworkload:\n  kind: trace\n  file: traces/guest.trace\n  loop: true\nlink:\n  bandwidth: 1Gbit/s\n"
            .write(toFile: path, atomically: true, encoding: .utf8)

        let scenario = try ScenarioLoader.load(path: path)
        let expected = DirtyTrace(pageCount: 16, pageSizeBytes: 4096, records: [
            .init(timeSeconds: 0.1, pages: [1, 2, 5, 6, 7]), .init(timeSeconds: 0.2, pages: [3]),
        ])
        XCTAssertEqual(scenario.config.workload, .trace(expected, loop: true))
        XCTAssertEqual(scenario.name, "replay")
    }

    func testTraceLargerThanTheGuestIsRejected() throws {
        let directory = try makeTemporaryDirectory()
        try "livemig-trace 1\npages 32\n0.1 31\n".write(to: directory.appendingPathComponent("big.trace"), atomically: true, encoding: .utf8)
        let path = directory.appendingPathComponent("too-small.yaml").path
        try "guest:\n  memory: 64KiB\nworkload:\n  kind: trace\n  file: big.trace\nlink:\n  bandwidth: 1Gbit/s\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ScenarioLoader.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("too-small.yaml: workload.file"), "\(error)")
            XCTAssertTrue("\(error)".contains("32 pages"), "\(error)")
        }
    }

    func testMissingTraceFileIsRejectedNamingThePathTried() throws {
        let directory = try makeTemporaryDirectory()
        let path = directory.appendingPathComponent("missing.yaml").path
        try "guest:\n  memory: 64KiB\nworkload:\n  kind: trace\n  file: nowhere.trace\nlink:\n  bandwidth: 1Gbit/s\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ScenarioLoader.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("workload.file"), "\(error)")
            XCTAssertTrue("\(error)".contains(directory.appendingPathComponent("nowhere.trace").path), "\(error)")
        }
    }

    func testHugeValuesAreRejectedNamingTheKey() {
        let base = "link:\n  bandwidth: 1Gbit/s\n"
        assertRejected("guest:\n  memory: 1GiB\nworkload:\n  kind: uniform\n  workingSet: 1e30\n  rate: 10\n" + base,
                       mentions: ["workload.workingSet", "larger than guest.memory"])
        assertRejected("guest:\n  memory: 1GiB\n  deviceState: 1e30\n" + base, mentions: ["guest.deviceState", "1GiB"])
        assertRejected("guest:\n  memory: 9223372036854777856\n" + base, mentions: ["guest.memory", "2^32 pages"])
    }

    func testATraceWithAnotherPageSizeIsRejected() throws {
        let directory = try makeTemporaryDirectory()
        try "livemig-trace 1\npages 4\npage-size 8192\n0.1 1\n"
            .write(to: directory.appendingPathComponent("g.trace"), atomically: true, encoding: .utf8)
        let path = directory.appendingPathComponent("s.yaml").path
        try "guest:\n  memory: 64KiB\nworkload:\n  kind: trace\n  file: g.trace\nlink:\n  bandwidth: 1Gbit/s\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ScenarioLoader.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("workload.file") && "\(error)".contains("page-size 8192"), "\(error)")
        }
    }

    func testARelativeTraceBesideABareScenarioFileNameIsFound() throws {
        let directory = try makeTemporaryDirectory()
        try "livemig-trace 1\npages 4\n0.1 1\n".write(to: directory.appendingPathComponent("t.trace"), atomically: true, encoding: .utf8)
        try "guest:\n  memory: 64KiB\nworkload:\n  kind: trace\n  file: t.trace\nlink:\n  bandwidth: 1Gbit/s\n"
            .write(to: directory.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(directory.path)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let scenario = try ScenarioLoader.load(path: "s.yaml")
        XCTAssertEqual(scenario.config.workload.kindName, "trace")
    }
}
