/// Each record's exact bytes, computed by hand: record header (type, length), body, zero padding
/// to 8 bytes.
import MigrationStream
import XCTest

final class RecordBytesTests: XCTestCase {
    /// The bytes the encoder appends for `record` after the header and the small layout.
    private func recordBytes(_ record: StreamRecord, direction: StreamDirection = .sourceToDestination) throws -> [UInt8] {
        var encoder = StreamEncoder(direction: direction)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        if direction == .sourceToDestination, record.type != .guestLayout {
            try encoder.append(.guestLayout(smallLayout), into: &bytes)
            if record.type == .clearedToUnpause { try encoder.append(.endOfStream, into: &bytes) }
        }
        if record.type == .running { try encoder.append(.readyToUnpause, into: &bytes) }
        let start = bytes.count
        try encoder.append(record, into: &bytes)
        return Array(bytes[start...])
    }

    func testEndOfStreamIsExactlyEightBytes() throws {
        XCTAssertEqual(try recordBytes(.endOfStream), [0x05, 0, 0, 0, 0, 0, 0, 0])
    }

    func testControlRecordsAreEightBytesAndRunningForty() throws {
        XCTAssertEqual(try recordBytes(.readyToUnpause, direction: .destinationToSource), [0x10, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try recordBytes(.clearedToUnpause), [0x11, 0, 0, 0, 0, 0, 0, 0])
        // running carries the destination's unpause time, then its state load, check and
        // unpause times: four little-endian UInt64s, 32 bytes.
        let report = RunningReport(unpauseWallClockMicroseconds: 0x0102_0304_0506_0708, stateLoadMicroseconds: 0x11,
                                   checkMicroseconds: 0x2233, unpauseMicroseconds: 0x44)
        XCTAssertEqual(try recordBytes(.running(report), direction: .destinationToSource),
                       [0x12, 0, 0, 0, 32, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                        0x11, 0, 0, 0, 0, 0, 0, 0, 0x33, 0x22, 0, 0, 0, 0, 0, 0, 0x44, 0, 0, 0, 0, 0, 0, 0])
    }

    func testAbortWithThreeByteReasonHasLengthThreeAndFivePaddingBytes() throws {
        XCTAssertEqual(
            try recordBytes(.abort(reason: "abc")),
            [0x13, 0, 0, 0, 0x03, 0, 0, 0, 0x61, 0x62, 0x63, 0, 0, 0, 0, 0]
        )
        XCTAssertEqual(try recordBytes(.abort(reason: "")), [0x13, 0, 0, 0, 0, 0, 0, 0])
    }

    func testGuestLayoutBytes() throws {
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try encoder.append(.guestLayout(smallLayout), into: &bytes)
        XCTAssertEqual(Array(bytes[16...]), [
            0x01, 0, 0, 0, 0x1C, 0, 0, 0,          // type 1, length 28
            0, 0, 0x01, 0, 0, 0, 0, 0,             // memoryBytes 65536
            0, 0x10, 0, 0,                         // pageSizeBytes 4096
            0x02, 0, 0, 0,                         // vcpuCount 2
            0x02, 0, 0, 0,                         // name length 2
            0x02, 0, 0, 0,                         // workload length 2
            0x76, 0x6D, 0x64, 0x62,                // "vm", "db"
            0, 0, 0, 0,                            // padding to 32
        ])
    }

    func testVcpuStateBytes() throws {
        XCTAssertEqual(try recordBytes(.vcpuState(VcpuState(vcpuId: 1, blob: [0xAA, 0xBB, 0xCC]))), [
            0x03, 0, 0, 0, 0x0B, 0, 0, 0,  // type 3, length 11
            0x01, 0, 0, 0, 0, 0, 0, 0,     // vcpuId 1, reserved
            0xAA, 0xBB, 0xCC, 0, 0, 0, 0, 0, // blob, 5 padding bytes
        ])
    }

    func testDeviceStateOfEightBytesHasNoPadding() throws {
        XCTAssertEqual(
            try recordBytes(.deviceState([1, 2, 3, 4, 5, 6, 7, 8])),
            [0x04, 0, 0, 0, 0x08, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
        )
    }

    func testPageBatchBytes() throws {
        let data = pageData([1, 3])
        let bytes = try recordBytes(.pageBatch(PageBatch(pageNumbers: [1, 3], data: data)))
        // Length 8 + 2 × (8 + 4096) = 8216 = 0x2018; no padding (a multiple of 8).
        XCTAssertEqual(bytes.count, 8 + 8216)
        XCTAssertEqual(Array(bytes.prefix(32)), [
            0x02, 0, 0, 0, 0x18, 0x20, 0, 0, // type 2, length 8216
            0x02, 0, 0, 0, 0, 0, 0, 0,       // count 2, reserved
            0x01, 0, 0, 0, 0, 0, 0, 0,       // page 1
            0x03, 0, 0, 0, 0, 0, 0, 0,       // page 3
        ])
        XCTAssertEqual(Array(bytes[32...]), data)
    }

    func testPageBatchHeaderThenCallerDataEqualsWholeRecord() throws {
        let pages: [UInt64] = [0, 7, 15]
        let whole = try recordBytes(.pageBatch(PageBatch(pageNumbers: pages, data: pageData(pages))))

        var encoder = StreamEncoder(direction: .sourceToDestination)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try encoder.append(.guestLayout(smallLayout), into: &bytes)
        let start = bytes.count
        let dataBytes = try encoder.appendPageBatchHeader(pageNumbers: pages, into: &bytes)
        XCTAssertEqual(dataBytes, 3 * 4096)
        XCTAssertEqual(bytes.count - start, 8 + 8 + 3 * 8)
        XCTAssertGreaterThanOrEqual(bytes.capacity, bytes.count + dataBytes, "capacity reserved for the data")
        bytes.append(contentsOf: pageData(pages)) // as if straight from guest memory
        XCTAssertEqual(Array(bytes[start...]), whole)
    }
}
