import Foundation
import DirtyTraceFormat
import MigrationSimulation
import XCTest

/// The dirty-page trace text format (`docs/trace-format.md`) as `DirtyTrace.parse` reads it:
/// records and page ranges expand to pages, every error says `source:line:` and the problem,
/// and `formatted()` writes text that parses back to the same trace.
final class DirtyTraceFormatTests: XCTestCase {
    private func assertRejected(_ text: String, at location: String, saying problem: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        do {
            let trace = try DirtyTrace.parse(text, source: "t.trace")
            XCTFail("accepted: \(trace)", file: file, line: line)
        } catch {
            XCTAssertTrue(error.description.hasPrefix("t.trace:\(location): "), "location not \(location) in: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(problem), "'\(problem)' not in: \(error)", file: file, line: line)
        }
    }

    func testValidTraceExpandsRanges() throws {
        let text = """
            # recorded by hand
            livemig-trace 1
            pages 10
            page-size 4096

            0.1 1 2 5-7
            0.25
            0.25 9   # two reads at the same time are allowed
            """
        let trace = try DirtyTrace.parse(text, source: "t.trace")
        XCTAssertEqual(trace.pageCount, 10)
        XCTAssertEqual(trace.pageSizeBytes, 4096)
        XCTAssertEqual(trace.records, [
            .init(timeSeconds: 0.1, pages: [1, 2, 5, 6, 7]),
            .init(timeSeconds: 0.25, pages: []),
            .init(timeSeconds: 0.25, pages: [9]),
        ])
        XCTAssertEqual(trace.durationSeconds, 0.25)
    }

    func testPageSizeDefaultsTo4096AndMayBeSet() throws {
        XCTAssertEqual(try DirtyTrace.parse("livemig-trace 1\npages 3\n", source: "t").pageSizeBytes, 4096)
        XCTAssertEqual(try DirtyTrace.parse("livemig-trace 1\npage-size 65536\npages 3\n0 0-2\n", source: "t").pageSizeBytes, 65536)
        XCTAssertEqual(try DirtyTrace.parse("livemig-trace 1\npages 3\n", source: "t").records, [])
    }

    func testMissingHeaderIsRejected() {
        assertRejected("pages 10\n0.1 1\n", at: "1", saying: "expected the header 'livemig-trace 1'")
        assertRejected("livemig-trace 2\npages 10\n", at: "1", saying: "'livemig-trace 1'")
        assertRejected("", at: "1", saying: "empty file")
    }

    func testPageOutsideTheGuestIsRejected() {
        assertRejected("livemig-trace 1\npages 10\n0.1 3\n0.2 8-10\n", at: "4", saying: "page 10 is outside the guest's 10 pages")
    }

    func testTimeGoingBackwardsIsRejected() {
        assertRejected("livemig-trace 1\npages 10\n0.5 1\n0.4 2\n", at: "4", saying: "goes back before 0.5")
    }

    func testBackwardsRangeIsRejected() {
        assertRejected("livemig-trace 1\npages 10\n0.1 7-5\n", at: "3", saying: "found '7-5'")
    }

    func testRecordBeforePagesIsRejected() {
        assertRejected("livemig-trace 1\n0.1 1\npages 10\n", at: "2", saying: "before the 'pages' line")
    }

    func testOtherMalformedLinesAreRejected() {
        assertRejected("livemig-trace 1\npages 10\nsoon 1\n", at: "3", saying: "expected a time in seconds, found 'soon'")
        assertRejected("livemig-trace 1\npages 10\n-1 1\n", at: "3", saying: "expected a time in seconds")
        assertRejected("livemig-trace 1\npages 10\n0.1 x\n", at: "3", saying: "found 'x'")
        assertRejected("livemig-trace 1\npages 0\n", at: "2", saying: "'pages' needs one whole number")
        assertRejected("livemig-trace 1\npage-size 3000\npages 4\n", at: "2", saying: "power of two")
        assertRejected("livemig-trace 1\npage-size 256\npages 4\n", at: "2", saying: "power of two")
        assertRejected("livemig-trace 1\n0\n# nothing else\n", at: "2", saying: "before the 'pages' line")
        assertRejected("livemig-trace 1\n# no pages\n", at: "3", saying: "no 'pages' line")
    }

    func testFormattedRoundTripsThroughParse() throws {
        let trace = DirtyTrace(pageCount: 1 << 20, pageSizeBytes: 8192, records: [
            .init(timeSeconds: 0, pages: []),
            .init(timeSeconds: 0.00001, pages: [0, 1, 2, 1_048_575]),
            .init(timeSeconds: 0.1, pages: [7, 3]),
            .init(timeSeconds: 123.456789, pages: Array(500 ..< 600)),
        ])
        let text = trace.formatted()
        XCTAssertTrue(text.hasPrefix("livemig-trace 1\npages 1048576\npage-size 8192\n"), text)
        XCTAssertTrue(text.hasSuffix("\n0.1 7 3\n123.456789 500-599\n"), "consecutive pages become a range: \(text)")
        XCTAssertEqual(try DirtyTrace.parse(text, source: "round-trip"), trace)
    }

    func testParsedTraceRoundTrips() throws {
        let parsed = try DirtyTrace.parse("livemig-trace 1\npages 10\n0.1 1 2 5-7\n0.3 9\n", source: "t.trace")
        XCTAssertEqual(try DirtyTrace.parse(parsed.formatted(), source: "again"), parsed)
    }

    func testTheDocumentedExampleParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let document = try String(contentsOf: root.appendingPathComponent("docs/trace-format.md"), encoding: .utf8)
        // The example is the fenced block that begins with the header line.
        let blocks = document.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
        let example = try XCTUnwrap(blocks.first { $0.contains("\nlivemig-trace 1\n") }, "no example in docs/trace-format.md")
        let trace = try DirtyTrace.parse(String(example.drop { $0 != "\n" }), source: "docs example")
        XCTAssertFalse(trace.records.isEmpty)
    }

    func testLoneDashesAndHalfRangesAreRejectedNotCrashing() {
        for field in ["-", "--", "-5", "7-"] {
            assertRejected("livemig-trace 1\npages 16\n0.1 \(field)\n", at: "3",
                           saying: "expected a page number or a range a-b, found '\(field)'")
        }
    }

    func testPagesCannotBeRedefined() {
        assertRejected("livemig-trace 1\npages 200\n0.1 150\npages 10\n", at: "4", saying: "'pages' is given twice")
    }

    func testARecordCannotListMorePagesThanTheGuestHas() {
        assertRejected("livemig-trace 1\npages 8\n0.1 0-7 0-7\n", at: "3", saying: "more pages than the guest's 8")
    }
}
