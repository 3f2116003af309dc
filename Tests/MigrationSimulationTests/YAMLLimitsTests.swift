import Foundation
@testable import MigrationScenario
import XCTest

/// Scenario YAML is bounded before Yams builds anything: size (1 MiB), nesting (64 levels,
/// aliases counted as expanded), values (100,000, aliases counted as expanded). Before, a file
/// nested 10,000 deep overflowed the stack and a 1 KB alias bomb ate memory until the allocator
/// failed; each now gets one line naming the file and the limit.
final class YAMLLimitsTests: XCTestCase {
    private func assertRefused(_ yaml: String, saying limit: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: yaml, file: "bad.yaml", defaultName: "bad"), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("bad.yaml: "), message, file: file, line: line)
            XCTAssertTrue(message.contains(limit), message, file: file, line: line)
            XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
        }
    }

    /// Found by scripts/fuzz: Yams' constructor traps on a key that is a list or a mapping.
    func testKeysThatAreListsOrMappingsAreRefused() {
        assertRefused("name: x\n? [a, b]\n: 1\n", saying: "a key that is a list or a mapping (line 2)")
        assertRefused("guest:\n  ? {memory: 1}\n  : 2\n", saying: "a key that is a list or a mapping")
    }

    /// Found by scripts/fuzz: Yams' base-60 integers (`1:30:00`) overflowed without a check.
    func testLongBaseSixtyNumbersDoNotTrap() {
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: "guest: {memory: +777744444444447777:0}\n", file: "s.yaml", defaultName: "s"))
    }

    func testFlowNesting10000DeepIsRefused() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        assertRefused("guest: {memory: 1GiB}\nx: \(deep)\n", saying: "nested deeper than the limit of 64 levels")
        assertRefused("x: " + String(repeating: "{a: ", count: 10_000) + "1" + String(repeating: "}", count: 10_000),
                      saying: "nested deeper than the limit of 64 levels")
    }

    func testBlockNesting10000DeepIsRefused() {
        assertRefused(String(repeating: "- ", count: 10_000) + "x\n", saying: "nested deeper than the limit of 64 levels")
        var lines = ""
        for level in 0 ..< 1_000 { lines += String(repeating: " ", count: level) + "k\(level):\n" }
        assertRefused(lines, saying: "nested deeper than the limit of 64 levels")
    }

    /// A quote, bracket or indicator inside a plain scalar opens nothing: `it's` leaves the next
    /// line's brackets counted (the `where` of each such case once held for its last byte only).
    func testAnApostropheInsideAPlainScalarHidesNothingFromTheEstimate() {
        XCTAssertGreaterThanOrEqual(YAMLNestingEstimate.levels(in: "note: it's\nx: [[[[[1]]]]]\n"), 5)
        XCTAssertEqual(YAMLNestingEstimate.levels(in: "note: a{b\nx: [[[[[1]]]]]\n"), YAMLNestingEstimate.levels(in: "note: ab\nx: [[[[[1]]]]]\n"))
        XCTAssertEqual(YAMLNestingEstimate.levels(in: "note: a[b\n"), YAMLNestingEstimate.levels(in: "note: ab\n"))
    }

    /// A text that misleads the estimate (a plain scalar whose continuation line starts with a
    /// quote hides the next line from it) is still composed on a stack large enough, and the
    /// real depth on the composed tree is refused.
    func testNestingHiddenFromTheEstimateIsRefusedWithoutOverflow() {
        let depth = 20_000
        let yaml = "a: b\n  'c\nx: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\ny: \"'\"\n"
        XCTAssertLessThanOrEqual(YAMLNestingEstimate.levels(in: yaml), BoundedYAML.maxDepth, "the estimate is misled, as meant")
        assertRefused(yaml, saying: "nested deeper than the limit of 64 levels")
    }

    func testAliasBombIsRefusedBeforeItIsExpanded() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1 ... 9 {
            let previous = "*a\(level - 1)"
            yaml += "a\(level): &a\(level) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]\n"
        }
        XCTAssertLessThan(yaml.utf8.count, 1024)
        let start = Date()
        assertRefused(yaml, saying: "more than the limit of 100000 values (aliases counted as expanded)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    func testAliasChainsDeeperThanTheLimitAreRefused() {
        var yaml = "a0: &a0 [x]\n"
        for level in 1 ... 100 { yaml += "a\(level): &a\(level) [*a\(level - 1)]\n" }
        assertRefused(yaml, saying: "nested deeper than the limit of 64 levels")
    }

    func testFilesLargerThanOneMebibyteAreRefusedWithoutReadingThemWhole() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("yaml-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("big.yaml").path
        let comment = "# " + String(repeating: "x", count: 1000) + "\n"
        try (String(repeating: comment, count: 1100) + "guest: {memory: 1GiB}\nlink: {bandwidth: 1Gbit/s}\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ScenarioLoader.load(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): larger than the limit of 1048576 bytes (1 MiB)")
        }
        XCTAssertThrowsError(try ScenarioLoader.load(path: "/dev/zero")) { error in
            XCTAssertTrue("\(error)".contains("larger than the limit"), "\(error)")
        }
    }

    func testSetValuesAreBoundedToo() {
        let bomb = "[" + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_001)
        XCTAssertThrowsError(try ScenarioLoader.parse(yaml: "guest: {memory: 1GiB}\nlink: {bandwidth: 1Gbit/s}\n", file: "ok.yaml",
                                                      defaultName: "ok", overrides: ["workload.kind=\(bomb)"])) { error in
            XCTAssertTrue("\(error)".hasPrefix("--set workload.kind="), "\(error)")
            XCTAssertTrue("\(error)".contains("nested deeper than the limit of 64 levels"), "\(error)")
        }
    }

    func testOrdinaryFilesWithAnchorsCommentsQuotesAndBlockScalarsStillLoad() throws {
        let yaml = """
            # a comment with [unbalanced brackets and a 'quote
            name: "quoted [name"
            description: |
              a block scalar with [[[[ brackets
                and {{{{ more
            guest: {memory: 1GiB}
            workload: &w {kind: uniform, rate: 1000}
            link:
              profile:
                - {at: 0s, bandwidth: 1Gbit/s}   # trailing comment ]]]
                - {at: 1s, bandwidth: '100Mbit/s'}
            policy:
              name: xen4
            """
        let scenario = try ScenarioLoader.parse(yaml: yaml, file: "ok.yaml", defaultName: "ok")
        XCTAssertEqual(scenario.name, "quoted [name")
        XCTAssertEqual(scenario.config.link.bandwidthProfile.count, 2)
    }
}
