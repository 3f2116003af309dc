/// `StreamDecoder.nextItem()`: page batch heads whose data the caller moves itself (the
/// receiver reads it from the socket straight into guest memory), mixed with buffered data.
import MigrationStream
import XCTest

final class PageDataBypassTests: XCTestCase {
    private let pages: [UInt64] = [1, 2, 9]

    private func stream() throws -> [UInt8] {
        try encode([.guestLayout(smallLayout), .pageBatch(PageBatch(pageNumbers: pages, data: pageData(pages))), .endOfStream])
    }

    /// Decodes `bytes`, of which only the first `fedBeforeData` reach the decoder before the page
    /// batch's head; the rest of the batch's data is "read directly" from `bytes`, as a receiver
    /// would from its socket, and what follows is fed afterwards.
    private func decodeWithBypass(_ bytes: [UInt8], fedBeforeData: Int) throws -> (items: [StreamItem], data: [UInt8]) {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(bytes[..<fedBeforeData])
        var position = fedBeforeData
        var items: [StreamItem] = []
        var data: [UInt8] = []
        while true {
            guard let item = try decoder.nextItem() else {
                guard position < bytes.count else { break }
                decoder.feed(bytes[position...])
                position = bytes.count
                continue
            }
            items.append(item)
            if case .pageBatchHead = item {
                data += decoder.takeBufferedPageData(upTo: .max)
                let direct = decoder.pageDataOwedBytes
                data += bytes[position ..< position + direct]
                decoder.pageDataReadDirectly(direct)
                position += direct
            }
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        return (items, data)
    }

    func testHeadThenDataAtEverySplitBetweenBufferedAndDirect() throws {
        let bytes = try stream()
        let headEnd = 16 + 8 + 32 /* layout record: 16 header + 8 + 32 body for "vm" + "db" */ + 8 + 8 + 3 * 8
        XCTAssertEqual(bytes.count, headEnd + 3 * 4096 + 8)
        for split in [headEnd, headEnd + 1, headEnd + 4095, headEnd + 4096, headEnd + 3 * 4096, bytes.count] {
            let (items, data) = try decodeWithBypass(bytes, fedBeforeData: split)
            XCTAssertEqual(items, [.record(.guestLayout(smallLayout)), .pageBatchHead(PageBatchHead(pageNumbers: pages, pageSizeBytes: 4096)),
                                   .record(.endOfStream)], "split at \(split)")
            XCTAssertEqual(data, pageData(pages), "split at \(split)")
        }
    }

    func testHeadWaitsForAllPageNumbersButNotForData() throws {
        let bytes = try stream()
        let headEnd = 16 + 8 + 32 + 8 + 8 + 3 * 8
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(bytes[..<(headEnd - 1)])
        XCTAssertEqual(try decoder.nextItem(), .record(.guestLayout(smallLayout)))
        XCTAssertNil(try decoder.nextItem(), "the last page number is not all there")
        decoder.feed(bytes[(headEnd - 1) ..< headEnd])
        XCTAssertEqual(try decoder.nextItem(), .pageBatchHead(PageBatchHead(pageNumbers: pages, pageSizeBytes: 4096)))
        XCTAssertEqual(decoder.pageDataOwedBytes, 3 * 4096)
        XCTAssertEqual(decoder.takeBufferedPageData(upTo: .max).count, 0)
    }

    func testBadPageNumberRefusedBeforeAnyData() throws {
        let badBatch = rawRecord(2, rawBatchBody(pages: [3, 16]))  // the 64 KiB guest has pages 0-15
        let bytes = streamStart() + badBatch
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(bytes[..<(bytes.count - 2 * 4096)])
        XCTAssertEqual(try decoder.nextItem(), .record(.guestLayout(smallLayout)))
        assertThrows(.pageNumberOutOfRange(.pageBatch, pageNumber: 16, guestPages: 16)) { try decoder.nextItem() }
    }

    func testDeclaredLengthMustMatchTheCountBeforeAnyPageNumber() throws {
        let body = rawBatchBody(pages: [3])
        let bytes = streamStart() + le32(2) + le32(UInt32(body.count + 8)) + body.prefix(8)
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(bytes)
        XCTAssertEqual(try decoder.nextItem(), .record(.guestLayout(smallLayout)))
        assertThrows(.recordLengthMismatch(.pageBatch, length: body.count + 8, expected: body.count)) { try decoder.nextItem() }
    }

    func testTakingBufferedDataStopsAtTheBatchEnd() throws {
        let bytes = try stream()
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(bytes)
        _ = try decoder.nextItem()
        _ = try decoder.nextItem()
        XCTAssertEqual(Array(decoder.takeBufferedPageData(upTo: 5000)), Array(pageData(pages)[..<5000]))
        XCTAssertEqual(decoder.takeBufferedPageData(upTo: .max).count, 3 * 4096 - 5000)
        XCTAssertEqual(decoder.pageDataOwedBytes, 0)
        XCTAssertEqual(decoder.bufferedByteCount, 8, "the endOfStream record stays buffered")
        XCTAssertEqual(try decoder.nextItem(), .record(.endOfStream))
    }
}
