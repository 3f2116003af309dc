/// XBZRLE deltas: a page rebuilt from its old copy and the delta equals the new page, whatever
/// changed (nothing, a byte, scattered words, the end, everything); a delta over its limit is
/// refused so the page goes whole; a malformed delta is refused naming the page.
import MigrationStream
import XCTest

final class XbzrleDeltaTests: XCTestCase {
    private let pageBytes = 4096

    /// Encodes `new` against `old`, applies it to a copy of `old`, and returns the delta's length
    /// (nil when over `limit`), asserting the rebuilt page equals `new`.
    private func roundTrip(old: [UInt8], new: [UInt8], limit: Int = 4096, file: StaticString = #filePath, line: UInt = #line) throws -> Int? {
        var output = [UInt8](repeating: 0, count: limit)
        let length = old.withUnsafeBytes { oldBytes in
            new.withUnsafeBytes { newBytes in
                output.withUnsafeMutableBytes { out in
                    XbzrleDelta.encode(old: oldBytes.baseAddress!, new: newBytes.baseAddress!, pageBytes: pageBytes,
                                       into: out.baseAddress!, limit: limit)
                }
            }
        }
        guard let length else { return nil }
        var rebuilt = old
        try output.withUnsafeBytes { delta in
            try rebuilt.withUnsafeMutableBytes { page in
                try XbzrleDelta.apply(UnsafeRawBufferPointer(rebasing: delta[0 ..< length]), to: page.baseAddress!,
                                      pageBytes: pageBytes, pageNumber: 7)
            }
        }
        XCTAssertEqual(rebuilt, new, file: file, line: line)
        return length
    }

    func testPagesRebuildFromTheirDeltas() throws {
        var generator = SystemRandomNumberGenerator()
        let old = (0 ..< pageBytes).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        XCTAssertEqual(try roundTrip(old: old, new: old), 0, "an unchanged page is the empty delta")
        var oneByte = old
        oneByte[1000] &+= 1
        XCTAssertEqual(try roundTrip(old: old, new: oneByte), 4, "unchanged 1000 (2 bytes), changed 1 (1 byte), the byte")
        var counters = old
        for word in stride(from: 0, to: pageBytes, by: 512) { counters[word] &+= 3; counters[word + 1] &+= 5 }
        XCTAssertLessThan(try XCTUnwrap(try roundTrip(old: old, new: counters)), 64)
        var tail = old
        tail[pageBytes - 1] &+= 1
        XCTAssertNotNil(try roundTrip(old: old, new: tail))
        var head = old
        head[0] &+= 1
        XCTAssertNotNil(try roundTrip(old: old, new: head))
        let fresh = old.map { $0 &+ 1 }
        XCTAssertNil(try roundTrip(old: old, new: fresh, limit: 2048), "a page all new goes whole")
        XCTAssertEqual(try roundTrip(old: old, new: fresh, limit: 4200), 4096 + 1 + 2)
        for _ in 0 ..< 200 {
            var changed = old
            for _ in 0 ..< Int.random(in: 1 ... 64, using: &generator) { changed[Int.random(in: 0 ..< pageBytes, using: &generator)] &+= 1 }
            XCTAssertNotNil(try roundTrip(old: old, new: changed, limit: 8192))
        }
    }

    func testMalformedDeltasAreRefusedNamingThePage() {
        func apply(_ delta: [UInt8]) -> StreamError? {
            var page = [UInt8](repeating: 0, count: pageBytes)
            do {
                try delta.withUnsafeBytes { bytes in
                    try page.withUnsafeMutableBytes { try XbzrleDelta.apply(bytes, to: $0.baseAddress!, pageBytes: pageBytes, pageNumber: 9) }
                }
                return nil
            } catch {
                return error as? StreamError
            }
        }
        XCTAssertNil(apply([]))
        XCTAssertNil(apply([0x05, 0x01, 0xAA]))
        XCTAssertEqual(apply([0x05, 0x00]), .invalidDelta(pageNumber: 9, detail: "a changed run of 0 bytes"))
        XCTAssertEqual(apply([0x80, 0x20, 0x01, 0xAA]), .invalidDelta(pageNumber: 9, detail: "runs past the page's 4096 bytes"))
        XCTAssertEqual(apply([0x00, 0x04, 0xAA]), .invalidDelta(pageNumber: 9, detail: "a changed run of 4 bytes with 1 left"))
        XCTAssertEqual(apply([0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
                       .invalidDelta(pageNumber: 9, detail: "a run length that is not a varint below the page size"))
        XCTAssertEqual(apply([0x05]), .invalidDelta(pageNumber: 9, detail: "a run length that is not a varint below the page size"))
        XCTAssertEqual(StreamError.invalidDelta(pageNumber: 9, detail: "x").description,
                       "compressedPages (type 11) record's XBZRLE delta for page 9 is malformed: x")
    }
}
