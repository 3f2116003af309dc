/// The compressedPages record (type 11, stream version 5): its bytes, its round trip on the main
/// stream and on a data stream, and every bad body refused naming the record.
import MigrationStream
import XCTest

final class CompressedPagesRecordTests: XCTestCase {
    private let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 1, 2, 3, 4, 5]

    func testItsBytesAreCountAlgorithmPageNumbersFrameAndPadding() throws {
        let start = streamStart().count
        let bytes = try encode([.guestLayout(smallLayout), .compressedPages(CompressedPages(pageNumbers: [1, 3], frame: frame))])
        XCTAssertEqual(Array(bytes[start...]), rawRecord(11, le32(2) + le32(1) + le64(1) + le64(3) + frame))
        XCTAssertEqual(RecordType.compressedPages.description, "compressedPages (type 11)")
        XCTAssertTrue(RecordType.compressedPages.isAllowed(in: .sourceToDestination))
        XCTAssertFalse(RecordType.compressedPages.isAllowed(in: .destinationToSource))
        XCTAssertEqual(StreamLimits.maxBodyBytes(.compressedPages, pageSizeBytes: 4096), 8 + 8 * 4096 + (16 << 20))
    }

    func testRoundTripAmongTheGuestsData() throws {
        let records: [StreamRecord] = [
            .guestLayout(smallLayout), .compressedPages(CompressedPages(pageNumbers: [0, 1, 2], frame: frame)),
            .pageBatch(PageBatch(pageNumbers: [3], data: pageData([3]))), .zeroPages(ZeroPageList(pageNumbers: [4])),
            .compressedPages(CompressedPages(pageNumbers: Array(5 ... 15), frame: [UInt8](repeating: 7, count: 11 * 4096))),
            .vcpuState(VcpuState(vcpuId: 0, blob: [1])), .vcpuState(VcpuState(vcpuId: 1, blob: [1])), .deviceState([]), .endOfStream,
        ]
        let bytes = try encode(records)
        XCTAssertEqual(try decodeAll(bytes), records)
        XCTAssertEqual(try decodeAll(bytes, chunk: 7), records)
    }

    func testBadBodiesAreRefused() throws {
        let head = streamStart()
        assertDecodeFails(head + rawRecord(11, le32(1) + le32(3) + le64(1) + frame), .unknownCompression(3))
        assertDecodeFails(head + rawRecord(11, le32(1) + le32(1) + le64(1)), .recordLengthMismatch(.compressedPages, length: 16, expected: 17))
        assertDecodeFails(head + rawRecord(11, le32(1) + le32(1) + le64(1) + [UInt8](repeating: 1, count: 4097)),
                          .compressedFrameSize(bytes: 4097, dataBytes: 4096))
        assertDecodeFails(head + rawRecord(11, le32(0) + le32(1) + frame), .pageCountOutOfRange(.compressedPages, count: 0, limit: 4096))
        assertDecodeFails(head + rawRecord(11, le32(2) + le32(1) + le64(3) + le64(3) + frame),
                          .pageNumbersNotAscending(.compressedPages, previous: 3, next: 3))
        assertDecodeFails(head + rawRecord(11, le32(1) + le32(1) + le64(16) + frame),
                          .pageNumberOutOfRange(.compressedPages, pageNumber: 16, guestPages: 16))
        assertDecodeFails(headerBytes + rawRecord(11, le32(1) + le32(1) + le64(1) + frame), .missingGuestLayout(.compressedPages))
        XCTAssertEqual(StreamError.compressedFrameSize(bytes: 0, dataBytes: 4096).description,
                       "compressedPages (type 11) record frame is 0 bytes; it must be 1 to 4096 (the data of its pages)")
        XCTAssertEqual(StreamError.unknownCompression(3).description,
                       "compressedPages (type 11) record field algorithm is 3; the ones defined are 1 (zstd) and 2 (xbzrle)")
    }

    func testTheEncoderRefusesWhatTheDecoderWould() throws {
        assertThrows(.compressedFrameSize(bytes: 0, dataBytes: 4096)) {
            try encode([.guestLayout(smallLayout), .compressedPages(CompressedPages(pageNumbers: [1], frame: []))])
        }
        assertThrows(.compressedFrameSize(bytes: 8193, dataBytes: 8192)) {
            try encode([.guestLayout(smallLayout), .compressedPages(CompressedPages(pageNumbers: [1, 2], frame: [UInt8](repeating: 0, count: 8193)))])
        }
        assertThrows(.notInProbe(.compressedPages)) {
            try encode([.throughputProbe(bytes: 65536), .compressedPages(CompressedPages(pageNumbers: [1], frame: frame))])
        }
    }
}
