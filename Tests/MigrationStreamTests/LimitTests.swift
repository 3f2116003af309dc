/// Every limit in StreamLimits, and every malformed body, is refused with its own error, and
/// length limits are enforced from the 8-byte record header alone, before the body arrives.
import MigrationStream
import XCTest

final class LimitTests: XCTestCase {
    // MARK: Guest layout

    func testGuestName256BytesRefused255Accepted() throws {
        let long = [UInt8](repeating: 0x61, count: 256)
        assertDecodeFails(
            headerBytes + rawRecord(1, rawLayoutBody(name: long)),
            .textTooLong(.guestLayout, field: "name", bytes: 256, limit: 255)
        )
        let fits = [UInt8](repeating: 0x61, count: 255)
        let records = try decodeAll(headerBytes + rawRecord(1, rawLayoutBody(name: fits)))
        XCTAssertEqual(records.count, 1)
    }

    func testEmptyNameAndNULInNameRefused() {
        assertDecodeFails(headerBytes + rawRecord(1, rawLayoutBody(name: [])), .emptyGuestName)
        assertDecodeFails(headerBytes + rawRecord(1, rawLayoutBody(name: [0x61, 0, 0x62])), .guestNameContainsNUL)
    }

    func testInvalidUTF8Refused() {
        assertDecodeFails(headerBytes + rawRecord(1, rawLayoutBody(name: [0x61, 0xFF])), .invalidUTF8(.guestLayout, field: "name"))
        assertDecodeFails(
            headerBytes + rawRecord(1, rawLayoutBody(workload: [0xC3])), // a lead byte with no continuation
            .invalidUTF8(.guestLayout, field: "workload")
        )
        assertDecodeFails(streamStart() + rawRecord(19, [0xED, 0xA0, 0x80]), .invalidUTF8(.abort, field: "reason")) // a surrogate
    }

    func testWorkloadOver1024BytesRefused() {
        // With a 255-byte name the record is over its own limit, refused from its header.
        assertDecodeFails(
            headerBytes + rawRecord(1, rawLayoutBody(name: [UInt8](repeating: 0x61, count: 255), workload: [UInt8](repeating: 0x77, count: 1025))),
            .recordTooLong(.guestLayout, length: 24 + 255 + 1025, limit: 24 + 255 + 1024)
        )
        // Within the record limit (short name), the field limit still holds.
        assertDecodeFails(
            headerBytes + rawRecord(1, rawLayoutBody(name: [0x61], workload: [UInt8](repeating: 0x77, count: 1025))),
            .textTooLong(.guestLayout, field: "workload", bytes: 1025, limit: 1024)
        )
    }

    func testGuestLayoutLengthDisagreeingWithItsFieldsRefused() {
        // Says a 5-byte name but carries 2 bytes.
        assertDecodeFails(
            headerBytes + rawRecord(1, rawLayoutBody(nameLength: 5)),
            .recordLengthMismatch(.guestLayout, length: 26, expected: 29)
        )
        assertDecodeFails(headerBytes + rawRecord(1, [1, 2, 3]), .recordLengthMismatch(.guestLayout, length: 3, expected: 24))
    }

    func testPageSizeNotPowerOfTwoOrOutOfRangeRefused() {
        for size: UInt32 in [12288, 2048, 4 << 20, 0] {
            assertDecodeFails(
                headerBytes + rawRecord(1, rawLayoutBody(memoryBytes: 12288 * 16, pageSizeBytes: size)),
                .invalidPageSize(size)
            )
        }
    }

    func testMemorySizeRules() throws {
        for memory: UInt64 in [0, 4096 * 16 + 1, StreamLimits.maxMemoryBytes + 4096] {
            assertDecodeFails(
                headerBytes + rawRecord(1, rawLayoutBody(memoryBytes: memory)),
                .invalidMemorySize(memoryBytes: memory, pageSizeBytes: 4096)
            )
        }
        XCTAssertEqual(try decodeAll(headerBytes + rawRecord(1, rawLayoutBody(memoryBytes: 1 << 40))).count, 1)
    }

    func testVcpuCount0And65Refused64Accepted() throws {
        assertDecodeFails(headerBytes + rawRecord(1, rawLayoutBody(vcpuCount: 0)), .vcpuCountOutOfRange(0))
        assertDecodeFails(headerBytes + rawRecord(1, rawLayoutBody(vcpuCount: 65)), .vcpuCountOutOfRange(65))
        XCTAssertEqual(try decodeAll(headerBytes + rawRecord(1, rawLayoutBody(vcpuCount: 64))).count, 1)
    }

    // MARK: Page batches

    func testBatchOf4097PagesRefusedByItsLengthBeforeTheBody() throws {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(streamStart())
        XCTAssertEqual(try decoder.nextRecord(), .guestLayout(smallLayout))
        let length = UInt32(8 + 4097 * (8 + 4096))
        decoder.feed(le32(2) + le32(length)) // the record header only
        assertThrows(.recordTooLong(.pageBatch, length: 16_814_096, limit: 16_809_992)) { try decoder.nextRecord() }
        // The error is final.
        decoder.feed([0, 0, 0, 0])
        assertThrows(.recordTooLong(.pageBatch, length: 16_814_096, limit: 16_809_992)) { try decoder.nextRecord() }
        XCTAssertEqual(StreamLimits.maxBodyBytes(.pageBatch, pageSizeBytes: 4096), 16_809_992)
    }

    func testBatchLimitShrinksWithLargePages() throws {
        let layout = GuestLayout(name: "huge", memoryBytes: 1 << 30, pageSizeBytes: 2 << 20, vcpuCount: 1)
        XCTAssertEqual(StreamLimits.maxBatchPages(pageSizeBytes: 2 << 20), 8)
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(streamStart(layout) + le32(2) + le32(UInt32(8 + 9 * (8 + (2 << 20)))))
        XCTAssertNotNil(try decoder.nextRecord())
        assertThrows(.recordTooLong(.pageBatch, length: 8 + 9 * (8 + (2 << 20)), limit: 8 + 8 * (8 + (2 << 20)))) {
            try decoder.nextRecord()
        }
    }

    func testBatchCountZeroOrOverLimitRefused() {
        assertDecodeFails(streamStart() + rawRecord(2, rawBatchBody(pages: [])), .pageCountOutOfRange(.pageBatch, count: 0, limit: 4096))
        // A count field over the limit inside a short record.
        assertDecodeFails(
            streamStart() + rawRecord(2, rawBatchBody(pages: [1], count: 5000)),
            .pageCountOutOfRange(.pageBatch, count: 5000, limit: 4096)
        )
    }

    func testBatchLengthDisagreeingWithCountRefused() {
        // Count says 2 pages, the body holds one page number and one page.
        assertDecodeFails(
            streamStart() + rawRecord(2, rawBatchBody(pages: [1], count: 2)),
            .recordLengthMismatch(.pageBatch, length: 8 + 4104, expected: 8 + 2 * 4104)
        )
    }

    func testPageNumberAtOrPastGuestPagesRefused() throws {
        assertDecodeFails(streamStart() + rawRecord(2, rawBatchBody(pages: [3, 16])), .pageNumberOutOfRange(.pageBatch, pageNumber: 16, guestPages: 16))
        assertDecodeFails(streamStart() + rawRecord(2, rawBatchBody(pages: [UInt64.max])), .pageNumberOutOfRange(.pageBatch, pageNumber: .max, guestPages: 16))
        XCTAssertEqual(try decodeAll(streamStart() + rawRecord(2, rawBatchBody(pages: [15]))).count, 2)
    }

    func testPageNumbersNotStrictlyAscendingRefused() {
        assertDecodeFails(streamStart() + rawRecord(2, rawBatchBody(pages: [1, 5, 4])), .pageNumbersNotAscending(.pageBatch, previous: 5, next: 4))
        assertDecodeFails(streamStart() + rawRecord(2, rawBatchBody(pages: [2, 2])), .pageNumbersNotAscending(.pageBatch, previous: 2, next: 2))
    }

    func testNonZeroReservedRefused() {
        assertDecodeFails(streamStart() + rawRecord(2, rawBatchBody(pages: [1], reserved: 1)), .nonZeroReserved(.pageBatch, field: "reserved"))
        assertDecodeFails(
            streamStart() + rawRecord(3, le32(0) + le32(7) + [1, 2]),
            .nonZeroReserved(.vcpuState, field: "reserved")
        )
    }

    // MARK: vCPU and device state, abort, empty records

    func testVcpuIdAtOrPastVcpuCountRefused() {
        assertDecodeFails(streamStart() + rawRecord(3, le32(2) + le32(0)), .vcpuIdOutOfRange(vcpuId: 2, vcpuCount: 2))
        assertDecodeFails(streamStart() + rawRecord(3, [1, 0, 0]), .recordLengthMismatch(.vcpuState, length: 3, expected: 8))
    }

    func testVcpuStateOver64KiBRefusedByLengthField() throws {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(streamStart() + le32(3) + le32(UInt32(8 + 65537)))
        XCTAssertNotNil(try decoder.nextRecord())
        assertThrows(.recordTooLong(.vcpuState, length: 8 + 65537, limit: 8 + 65536)) { try decoder.nextRecord() }
    }

    func testDeviceStateOver1MiBRefusedByLengthField() throws {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(streamStart() + le32(4) + le32(UInt32(1 << 20) + 1))
        XCTAssertNotNil(try decoder.nextRecord())
        assertThrows(.recordTooLong(.deviceState, length: (1 << 20) + 1, limit: 1 << 20)) { try decoder.nextRecord() }
        XCTAssertTrue(StreamError.recordTooLong(.deviceState, length: (1 << 20) + 1, limit: 1 << 20).description
            .contains("deviceState (type 4) record length is 1048577 bytes; the limit for that type is 1048576"))
    }

    func testAbortReasonOver1024BytesRefusedByLengthField() {
        var decoder = StreamDecoder(direction: .destinationToSource)
        decoder.feed(headerBytes + le32(19) + le32(1025))
        assertThrows(.recordTooLong(.abort, length: 1025, limit: 1024)) { try decoder.nextRecord() }
    }

    func testUnknownRecordType99Refused() {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(streamStart() + le32(99) + le32(0))
        XCTAssertNoThrow(try decoder.nextRecord())
        assertThrows(.unknownRecordType(99)) { try decoder.nextRecord() }
    }

    func testEmptyRecordWithABodyRefused() {
        assertDecodeFails(streamStart() + rawRecord(5, le64(0)), .recordTooLong(.endOfStream, length: 8, limit: 0))
    }

    func testNonZeroPaddingRefused() {
        assertDecodeFails(
            streamStart() + rawRecord(19, Array("abc".utf8), padding: [0, 0, 0, 1, 0]),
            .nonZeroPadding(.abort)
        )
        assertDecodeFails(
            headerBytes + rawRecord(1, rawLayoutBody(), padding: [0, 0, 0, 0x20, 0, 0]),
            .nonZeroPadding(.guestLayout)
        )
    }

    func testEveryErrorDescriptionNamesItsRecordOrHeader() {
        let errors: [StreamError] = [
            .textTooLong(.guestLayout, field: "name", bytes: 256, limit: 255), .emptyGuestName, .guestNameContainsNUL,
            .invalidPageSize(12288), .invalidMemorySize(memoryBytes: 1, pageSizeBytes: 4096), .vcpuCountOutOfRange(65),
            .vcpuIdOutOfRange(vcpuId: 3, vcpuCount: 2), .pageCountOutOfRange(.pageBatch, count: 0, limit: 4096),
            .pageNumberOutOfRange(.pageBatch, pageNumber: 16, guestPages: 16), .pageNumbersNotAscending(.pageBatch, previous: 5, next: 4),
            .pageDataSizeMismatch(dataBytes: 1, expected: 4096), .nonZeroPadding(.abort),
            .nonZeroReserved(.pageBatch, field: "reserved"), .invalidUTF8(.abort, field: "reason"),
            .recordLengthMismatch(.guestLayout, length: 3, expected: 24),
        ]
        for error in errors {
            XCTAssertTrue(error.description.contains("(type "), "\(error.description) names no record type")
        }
        XCTAssertEqual(
            StreamError.vcpuCountOutOfRange(65).description,
            "guestLayout (type 1) record field vcpuCount is 65; it must be 1 to 64"
        )
        XCTAssertEqual(
            StreamError.textTooLong(.guestLayout, field: "name", bytes: 256, limit: 255).description,
            "guestLayout (type 1) record field name is 256 bytes of UTF-8; the limit is 255"
        )
    }
}
