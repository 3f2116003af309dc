/// Text cut to a record's byte limit keeps whole characters: a cut inside a character used to
/// make the whole abort reason invalid UTF-8, and it was replaced by "aborted".
import MigrationStream
import XCTest

final class UTF8PrefixTests: XCTestCase {
    func testACutFallsBetweenCharacters() {
        let reason = String(repeating: "é", count: 600)  // 1,200 bytes of UTF-8
        let cut = reason.prefix(utf8Bytes: StreamLimits.maxAbortReasonBytes)
        XCTAssertEqual(cut, String(repeating: "é", count: 512))
        XCTAssertEqual("ab€".prefix(utf8Bytes: 4), "ab", "the euro sign takes 3 bytes and does not fit in 2")
        XCTAssertEqual("short".prefix(utf8Bytes: 1024), "short")
        XCTAssertEqual("x".prefix(utf8Bytes: 0), "")
    }

    func testACutReasonStillEncodes() throws {
        let reason = "cannot load the state: " + String(repeating: "✗", count: 400)
        var encoder = StreamEncoder(direction: .destinationToSource)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        XCTAssertNoThrow(try encoder.append(.abort(reason: reason.prefix(utf8Bytes: StreamLimits.maxAbortReasonBytes)), into: &bytes))
    }
}
