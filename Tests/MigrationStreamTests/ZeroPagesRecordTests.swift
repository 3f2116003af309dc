/// The zeroPages record (type 8, stream version 4): its bytes, its round trip through both
/// encoder paths and the incremental decoder, its place in the stream (where a page batch may
/// come, never in a throughput probe), and every malformed body refused with the record named.
import MigrationStream
import XCTest

final class ZeroPagesRecordTests: XCTestCase {
    /// A zeroPages body built by hand: count (given or computed), reserved, page numbers.
    private func rawZeroPagesBody(_ pages: [UInt64], count: UInt32? = nil, reserved: UInt32 = 0) -> [UInt8] {
        pages.reduce(le32(count ?? UInt32(pages.count)) + le32(reserved)) { $0 + le64($1) }
    }

    /// Asserts that decoding `bytes` throws `expected` and that its description names zeroPages.
    private func assertRefused(
        _ bytes: [UInt8], _ expected: StreamError, direction: StreamDirection = .sourceToDestination,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        assertDecodeFails(bytes, expected, direction: direction, file: file, line: line)
        XCTAssertTrue(expected.description.contains("zeroPages (type 8)"), "\(expected.description) does not name zeroPages", file: file, line: line)
    }

    /// An encoder past the header and the small layout, and its bytes.
    private func started(_ layout: GuestLayout = smallLayout) throws -> (StreamEncoder, [UInt8]) {
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try encoder.append(.guestLayout(layout), into: &bytes)
        return (encoder, bytes)
    }

    /// Asserts that both encoder paths refuse `pages` with `expected` and leave the buffer and
    /// the order state as they were (a valid list still follows).
    private func assertEncoderRefuses(_ pages: [UInt64], _ expected: StreamError, file: StaticString = #filePath, line: UInt = #line) throws {
        var (encoder, bytes) = try started()
        let before = bytes
        assertThrows(expected, file: file, line: line) { try encoder.append(.zeroPages(ZeroPageList(pageNumbers: pages)), into: &bytes) }
        XCTAssertEqual(bytes, before, "buffer changed", file: file, line: line)
        assertThrows(expected, file: file, line: line) { try encoder.appendZeroPages(pageNumbers: pages.lazy.map { $0 }, into: &bytes) }
        XCTAssertEqual(bytes, before, "buffer changed", file: file, line: line)
        XCTAssertEqual(try encoder.appendZeroPages(pageNumbers: [1], into: &bytes), 1, file: file, line: line)
        try encoder.append(.endOfStream, into: &bytes)
        XCTAssertEqual(try decodeAll(bytes), [.guestLayout(smallLayout), .zeroPages(ZeroPageList(pageNumbers: [1])), .endOfStream],
                       file: file, line: line)
    }

    // MARK: Bytes and round trip

    func testItsBytesAreCountReservedAndPageNumbers() throws {
        var (encoder, bytes) = try started()
        let start = bytes.count
        try encoder.append(.zeroPages(ZeroPageList(pageNumbers: [1, 3])), into: &bytes)
        XCTAssertEqual(Array(bytes[start...]), [
            0x08, 0, 0, 0, 0x18, 0, 0, 0, // type 8, length 24
            0x02, 0, 0, 0, 0, 0, 0, 0, // count 2, reserved
            0x01, 0, 0, 0, 0, 0, 0, 0, // pfn 1
            0x03, 0, 0, 0, 0, 0, 0, 0, // pfn 3 (no padding: 8 + 8 × count is a multiple of 8)
        ])
        XCTAssertEqual(Array(bytes[start...]), rawRecord(8, rawZeroPagesBody([1, 3])))
        XCTAssertEqual(RecordType.zeroPages.rawValue, 8)
        XCTAssertEqual(RecordType.zeroPages.description, "zeroPages (type 8)")
        XCTAssertTrue(RecordType.zeroPages.isAllowed(in: .sourceToDestination))
        XCTAssertFalse(RecordType.zeroPages.isAllowed(in: .destinationToSource))
        XCTAssertFalse(RecordType.zeroPages.isControl)
        XCTAssertEqual(StreamLimits.maxBodyBytes(.zeroPages, pageSizeBytes: nil), 8 + 8 * 4096)
    }

    func testRoundTripAmongTheGuestsData() throws {
        let records: [StreamRecord] = [
            .guestLayout(smallLayout), .zeroPages(ZeroPageList(pageNumbers: [0, 2, 15])),
            .pageBatch(PageBatch(pageNumbers: [1, 3], data: pageData([1, 3]))), .drainMark(sequence: 1),
            .zeroPages(ZeroPageList(pageNumbers: [1])), .vcpuState(VcpuState(vcpuId: 0, blob: [1])), .deviceState([]),
            .zeroPages(ZeroPageList(pageNumbers: Array(4 ... 14))), .endOfStream, .clearedToUnpause,
        ]
        let bytes = try encode(records)
        XCTAssertGreaterThanOrEqual(bytes[8], 4, "a stream with zeroPages is version 4 or later")
        XCTAssertEqual(try decodeAll(bytes), records)
        XCTAssertEqual(try decodeAll(bytes, chunk: 5), records)
    }

    func testOneByteAtATime() throws {
        let records: [StreamRecord] = [
            .guestLayout(smallLayout), .zeroPages(ZeroPageList(pageNumbers: [3, 7, 8])),
            .pageBatch(PageBatch(pageNumbers: [7], data: pageData([7]))), .zeroPages(ZeroPageList(pageNumbers: [15])), .endOfStream,
        ]
        let bytes = try encode(records)
        XCTAssertEqual(try decodeAll(bytes, chunk: 1), records)

        // Through `nextItem()` too: a zeroPages list comes whole, as a record, never as a head.
        var decoder = StreamDecoder(direction: .sourceToDestination)
        var items: [StreamItem] = []
        for byte in bytes {
            decoder.feed([byte])
            _ = decoder.takeBufferedPageData(upTo: .max) // a batch's data, as it arrives
            while decoder.pageDataOwedBytes == 0, let item = try decoder.nextItem() {
                items.append(item)
                _ = decoder.takeBufferedPageData(upTo: .max)
            }
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        XCTAssertEqual(decoder.pageDataOwedBytes, 0)
        XCTAssertEqual(items.map(\.type), [.guestLayout, .zeroPages, .pageBatch, .zeroPages, .endOfStream])
        XCTAssertEqual(items[1], .record(.zeroPages(ZeroPageList(pageNumbers: [3, 7, 8]))))
        XCTAssertEqual(items[3], .record(.zeroPages(ZeroPageList(pageNumbers: [15]))))
    }

    func testNilUntilTheWholeRecordArrives() throws {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        let record = rawRecord(8, rawZeroPagesBody([2, 4]))
        decoder.feed(streamStart() + record.dropLast())
        XCTAssertEqual(try decoder.nextRecord(), .guestLayout(smallLayout))
        XCTAssertNil(try decoder.nextRecord())
        XCTAssertEqual(decoder.bufferedByteCount, record.count - 1)
        decoder.feed(record.suffix(1))
        XCTAssertEqual(try decoder.nextRecord(), .zeroPages(ZeroPageList(pageNumbers: [2, 4])))
        XCTAssertEqual(decoder.phase, .sendingGuest)
    }

    /// The fast path writes what `append(.zeroPages(...))` writes, reads its sequence once, and
    /// returns the number of pages listed.
    func testAppendZeroPagesReadsItsSequenceOnce() throws {
        var (listEncoder, listBytes) = try started()
        try listEncoder.append(.zeroPages(ZeroPageList(pageNumbers: [0, 5, 9])), into: &listBytes)

        final class Passes { var count = 0 }
        struct OnePass: Sequence {
            let pages: [UInt64]
            let passes: Passes
            func makeIterator() -> IndexingIterator<[UInt64]> {
                passes.count += 1
                return pages.makeIterator()
            }
        }
        let passes = Passes()
        var (encoder, bytes) = try started()
        XCTAssertEqual(try encoder.appendZeroPages(pageNumbers: OnePass(pages: [0, 5, 9], passes: passes), into: &bytes), 3)
        XCTAssertEqual(passes.count, 1)
        XCTAssertEqual(bytes, listBytes)

        // Pages tested as they are found: a lazy filter over the guest's pages.
        let zero: Set<UInt64> = [1, 2, 6, 15]
        XCTAssertEqual(try encoder.appendZeroPages(pageNumbers: (0 ..< smallLayout.guestPages).lazy.filter { zero.contains($0) }, into: &bytes), 4)
        XCTAssertEqual(try decodeAll(bytes).last, .zeroPages(ZeroPageList(pageNumbers: [1, 2, 6, 15])))
    }

    /// A zeroPages list carries no data, so its limit is 4,096 pages whatever the page size (a
    /// page batch of 2 MiB pages holds 8).
    func testTheLimitDoesNotShrinkWithLargePages() throws {
        let layout = GuestLayout(name: "huge", memoryBytes: 4096 * (2 << 20), pageSizeBytes: 2 << 20, vcpuCount: 1)
        var (encoder, bytes) = try started(layout)
        XCTAssertEqual(try encoder.appendZeroPages(pageNumbers: 0 ..< UInt64(4096), into: &bytes), 4096)
        let records = try decodeAll(bytes)
        XCTAssertEqual(records.last, .zeroPages(ZeroPageList(pageNumbers: Array(0 ..< 4096))))
        assertRefused(streamStart(layout) + rawRecord(8, rawZeroPagesBody([1], count: 4097)),
                      .pageCountOutOfRange(.zeroPages, count: 4097, limit: 4096))
    }

    // MARK: Malformed bodies

    func testCountZeroRefused() throws {
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([])), .pageCountOutOfRange(.zeroPages, count: 0, limit: 4096))
        try assertEncoderRefuses([], .pageCountOutOfRange(.zeroPages, count: 0, limit: 4096))
        XCTAssertEqual(StreamError.pageCountOutOfRange(.zeroPages, count: 0, limit: 4096).description,
                       "zeroPages (type 8) record field count is 0; it must be 1 to 4096")
    }

    func testCountOverTheLimitRefused() throws {
        let big = GuestLayout(name: "big", memoryBytes: 1 << 30, pageSizeBytes: 4096, vcpuCount: 1)
        // A count field over the limit inside a short record.
        assertRefused(streamStart(big) + rawRecord(8, rawZeroPagesBody([1], count: 4097)),
                      .pageCountOutOfRange(.zeroPages, count: 4097, limit: 4096))
        // A whole list of 4,097 pages: refused by its length from the record header alone.
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(streamStart(big) + le32(8) + le32(UInt32(8 + 8 * 4097)))
        XCTAssertEqual(try decoder.nextRecord(), .guestLayout(big))
        assertThrows(.recordTooLong(.zeroPages, length: 32_784, limit: 32_776)) { try decoder.nextRecord() }
        // The encoder counts the whole sequence, as the decoder reads the count field.
        var (encoder, bytes) = try started(big)
        let before = bytes
        assertThrows(.pageCountOutOfRange(.zeroPages, count: 5000, limit: 4096)) {
            try encoder.appendZeroPages(pageNumbers: 0 ..< UInt64(5000), into: &bytes)
        }
        assertThrows(.pageCountOutOfRange(.zeroPages, count: 4097, limit: 4096)) {
            try encoder.append(.zeroPages(ZeroPageList(pageNumbers: Array(0 ..< 4097))), into: &bytes)
        }
        XCTAssertEqual(bytes, before)
    }

    func testNonZeroReservedRefused() {
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([1], reserved: 1)), .nonZeroReserved(.zeroPages, field: "reserved"))
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([1], reserved: 0x8000_0000)), .nonZeroReserved(.zeroPages, field: "reserved"))
    }

    func testLengthDisagreeingWithCountRefused() {
        // Count says 2, one page number follows.
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([1], count: 2)), .recordLengthMismatch(.zeroPages, length: 16, expected: 24))
        // Count says 1, two follow.
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([1, 2], count: 1)), .recordLengthMismatch(.zeroPages, length: 24, expected: 16))
        // Shorter than count and reserved.
        assertRefused(streamStart() + rawRecord(8, [1, 0, 0]), .recordLengthMismatch(.zeroPages, length: 3, expected: 8))
        assertRefused(streamStart() + rawRecord(8, []), .recordLengthMismatch(.zeroPages, length: 0, expected: 8))
        // A length that is not 8 + 8 × count (a page number cut short, then padding).
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([1]) + [0, 0, 0, 0]),
                      .recordLengthMismatch(.zeroPages, length: 20, expected: 16))
    }

    func testPageNumbersNotStrictlyAscendingRefused() throws {
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([2, 2])), .pageNumbersNotAscending(.zeroPages, previous: 2, next: 2))
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([1, 5, 4])), .pageNumbersNotAscending(.zeroPages, previous: 5, next: 4))
        try assertEncoderRefuses([3, 3], .pageNumbersNotAscending(.zeroPages, previous: 3, next: 3))
        try assertEncoderRefuses([0, 9, 8, 10], .pageNumbersNotAscending(.zeroPages, previous: 9, next: 8))
        XCTAssertEqual(StreamError.pageNumbersNotAscending(.zeroPages, previous: 5, next: 4).description,
                       "zeroPages (type 8) record page numbers must be strictly ascending; 4 follows 5")
    }

    func testPageNumberAtOrPastGuestPagesRefused() throws {
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([3, 16])), .pageNumberOutOfRange(.zeroPages, pageNumber: 16, guestPages: 16))
        assertRefused(streamStart() + rawRecord(8, rawZeroPagesBody([.max])), .pageNumberOutOfRange(.zeroPages, pageNumber: .max, guestPages: 16))
        try assertEncoderRefuses([0, 16], .pageNumberOutOfRange(.zeroPages, pageNumber: 16, guestPages: 16))
        XCTAssertEqual(try decodeAll(streamStart() + rawRecord(8, rawZeroPagesBody([15]))).last, .zeroPages(ZeroPageList(pageNumbers: [15])))
        XCTAssertEqual(StreamError.pageNumberOutOfRange(.zeroPages, pageNumber: 16, guestPages: 16).description,
                       "zeroPages (type 8) record page number 16 is outside the guest's 16 pages (must be below 16)")
    }

    /// With several faults, the count is refused first (the decoder reads it first), then the
    /// first bad page number in order.
    func testTheEncoderRefusesInTheDecodersOrder() throws {
        var (encoder, bytes) = try started()
        assertThrows(.pageCountOutOfRange(.zeroPages, count: 4097, limit: 4096)) {
            try encoder.appendZeroPages(pageNumbers: [UInt64](repeating: 99, count: 4097), into: &bytes)
        }
        assertThrows(.pageNumbersNotAscending(.zeroPages, previous: 4, next: 2)) {
            try encoder.appendZeroPages(pageNumbers: [4, 2, 99], into: &bytes)
        }
        XCTAssertEqual(bytes, streamStart())
    }

    // MARK: Order

    func testBeforeGuestLayoutRefusedFromItsHeader() throws {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(headerBytes + le32(8) + le32(16))
        assertThrows(.missingGuestLayout(.zeroPages)) { try decoder.nextRecord() }
        XCTAssertTrue(StreamError.missingGuestLayout(.zeroPages).description.contains("zeroPages (type 8)"))
        assertRefused(headerBytes + rawRecord(8, rawZeroPagesBody([1])), .missingGuestLayout(.zeroPages))
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        assertThrows(.missingGuestLayout(.zeroPages)) { try encoder.appendZeroPages(pageNumbers: [1], into: &bytes) }
        assertThrows(.missingGuestLayout(.zeroPages)) { try encoder.append(.zeroPages(ZeroPageList(pageNumbers: [1])), into: &bytes) }
        XCTAssertEqual(bytes, headerBytes)
    }

    func testAfterEndOfStreamRefused() throws {
        assertRefused(streamStart() + rawRecord(5, []) + rawRecord(8, rawZeroPagesBody([1])), .recordAfterEndOfStream(.zeroPages))
        var (encoder, bytes) = try started()
        try encoder.append(.endOfStream, into: &bytes)
        assertThrows(.recordAfterEndOfStream(.zeroPages)) { try encoder.appendZeroPages(pageNumbers: [1], into: &bytes) }
        try encoder.append(.clearedToUnpause, into: &bytes)
        assertThrows(.recordAfterClose(.zeroPages, closedBy: .clearedToUnpause)) { try encoder.appendZeroPages(pageNumbers: [1], into: &bytes) }
        assertRefused(streamStart() + rawRecord(19, []) + rawRecord(8, rawZeroPagesBody([1])), .recordAfterClose(.zeroPages, closedBy: .abort))
    }

    /// A throughput probe measures data: its batches carry pages, never a zero-page list.
    func testInAThroughputProbeRefused() {
        let probe = headerBytes + rawRecord(RecordType.throughputProbe.rawValue, le64(8192))
        assertRefused(probe + rawRecord(8, rawZeroPagesBody([1])), .notInProbe(.zeroPages))
        XCTAssertThrowsError(try encode([.throughputProbe(bytes: 8192), .zeroPages(ZeroPageList(pageNumbers: [1]))])) { error in
            XCTAssertEqual(error as? StreamError, .notInProbe(.zeroPages))
        }
    }

    func testOnlyFromTheSource() {
        assertRefused(headerBytes + rawRecord(8, rawZeroPagesBody([1])), .wrongDirection(.zeroPages, .destinationToSource),
                      direction: .destinationToSource)
        XCTAssertThrowsError(try encode([.zeroPages(ZeroPageList(pageNumbers: [1]))], direction: .destinationToSource)) { error in
            XCTAssertEqual(error as? StreamError, .wrongDirection(.zeroPages, .destinationToSource))
        }
    }

    // MARK: Versions

    /// A version 3 (or 2) stream from a source has no zeroPages and still loads.
    func testAVersionThreeSourceStreamStillLoads() throws {
        let records: [StreamRecord] = [
            .guestLayout(smallLayout), .pageBatch(PageBatch(pageNumbers: [0], data: pageData([0]))), .drainMark(sequence: 1),
            .vcpuState(VcpuState(vcpuId: 0, blob: [1])), .endOfStream,
        ]
        for version: UInt8 in [2, 3] {
            var bytes = try encode(records)
            bytes[8] = version
            XCTAssertEqual(try decodeAll(bytes), records, "version \(version)")
            XCTAssertEqual(try decodeAll(bytes, chunk: 1), records, "version \(version)")
        }
    }
}
