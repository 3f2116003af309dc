/// The encoder applies the decoder's rules before writing: a refused record throws the same error
/// the decoder would and leaves the buffer as it was.
import MigrationStream
import XCTest

final class StreamEncoderTests: XCTestCase {
    private func started(_ layout: GuestLayout = smallLayout) throws -> (StreamEncoder, [UInt8]) {
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try encoder.append(.guestLayout(layout), into: &bytes)
        return (encoder, bytes)
    }

    /// Asserts `record` is refused with `expected` and the buffer is unchanged.
    private func assertRefused(
        _ record: StreamRecord, _ expected: StreamError, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var (encoder, bytes) = try started()
        let before = bytes
        assertThrows(expected, file: file, line: line) { try encoder.append(record, into: &bytes) }
        XCTAssertEqual(bytes, before, "buffer changed", file: file, line: line)
    }

    func testInvalidLayoutsRefused() {
        let bad: [(GuestLayout, StreamError)] = [
            (GuestLayout(name: String(repeating: "é", count: 128), memoryBytes: 4096, pageSizeBytes: 4096, vcpuCount: 1),
             .textTooLong(.guestLayout, field: "name", bytes: 256, limit: 255)),
            (GuestLayout(name: "", memoryBytes: 4096, pageSizeBytes: 4096, vcpuCount: 1), .emptyGuestName),
            (GuestLayout(name: "a\0b", memoryBytes: 4096, pageSizeBytes: 4096, vcpuCount: 1), .guestNameContainsNUL),
            (GuestLayout(name: "a", memoryBytes: 4096, pageSizeBytes: 4096, vcpuCount: 1, workload: String(repeating: "w", count: 1025)),
             .textTooLong(.guestLayout, field: "workload", bytes: 1025, limit: 1024)),
            (GuestLayout(name: "a", memoryBytes: 6144, pageSizeBytes: 6144, vcpuCount: 1), .invalidPageSize(6144)),
            (GuestLayout(name: "a", memoryBytes: 6144, pageSizeBytes: 4096, vcpuCount: 1),
             .invalidMemorySize(memoryBytes: 6144, pageSizeBytes: 4096)),
            (GuestLayout(name: "a", memoryBytes: 4096, pageSizeBytes: 4096, vcpuCount: 0), .vcpuCountOutOfRange(0)),
            (GuestLayout(name: "a", memoryBytes: 4096, pageSizeBytes: 4096, vcpuCount: 65), .vcpuCountOutOfRange(65)),
        ]
        for (layout, expected) in bad {
            var encoder = StreamEncoder(direction: .sourceToDestination)
            var bytes: [UInt8] = []
            encoder.appendHeader(into: &bytes)
            assertThrows(expected) { try encoder.append(.guestLayout(layout), into: &bytes) }
            XCTAssertEqual(bytes, headerBytes)
            XCTAssertEqual(encoder.checker.phase, .awaitingLayout)
        }
    }

    func testInvalidPageBatchesRefused() throws {
        try assertRefused(.pageBatch(PageBatch(pageNumbers: [], data: [])), .pageCountOutOfRange(.pageBatch, count: 0, limit: 4096))
        try assertRefused(.pageBatch(PageBatch(pageNumbers: [16], data: pageData([16]))), .pageNumberOutOfRange(.pageBatch, pageNumber: 16, guestPages: 16))
        try assertRefused(.pageBatch(PageBatch(pageNumbers: [4, 3], data: pageData([4, 3]))), .pageNumbersNotAscending(.pageBatch, previous: 4, next: 3))
        try assertRefused(.pageBatch(PageBatch(pageNumbers: [1, 2], data: pageData([1]))), .pageDataSizeMismatch(dataBytes: 4096, expected: 8192))
    }

    func testBatchOf4097PagesRefusedByHeaderAPI() throws {
        var (encoder, bytes) = try started(GuestLayout(name: "big", memoryBytes: 1 << 30, pageSizeBytes: 4096, vcpuCount: 1))
        let before = bytes
        assertThrows(.pageCountOutOfRange(.pageBatch, count: 4097, limit: 4096)) {
            try encoder.appendPageBatchHeader(pageNumbers: 0 ..< UInt64(4097), into: &bytes)
        }
        XCTAssertEqual(bytes, before)
    }

    func testOversizedBlobsAndTextRefused() throws {
        try assertRefused(
            .vcpuState(VcpuState(vcpuId: 0, blob: [UInt8](repeating: 0, count: 65537))),
            .recordTooLong(.vcpuState, length: 8 + 65537, limit: 8 + 65536)
        )
        try assertRefused(.vcpuState(VcpuState(vcpuId: 2, blob: [])), .vcpuIdOutOfRange(vcpuId: 2, vcpuCount: 2))
        try assertRefused(
            .deviceState([UInt8](repeating: 0, count: (1 << 20) + 1)),
            .recordTooLong(.deviceState, length: (1 << 20) + 1, limit: 1 << 20)
        )
        try assertRefused(
            .abort(reason: String(repeating: "x", count: 1025)),
            .textTooLong(.abort, field: "reason", bytes: 1025, limit: 1024)
        )
    }

    func testEncoderOrderRules() throws {
        try assertRefused(.guestLayout(smallLayout), .duplicateRecord(.guestLayout))
        try assertRefused(.clearedToUnpause, .recordTooEarly(.clearedToUnpause, needs: .endOfStream))
        try assertRefused(.readyToUnpause, .wrongDirection(.readyToUnpause, .sourceToDestination))

        var encoder = StreamEncoder(direction: .sourceToDestination)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        assertThrows(.missingGuestLayout(.pageBatch)) { try encoder.appendPageBatchHeader(pageNumbers: [0], into: &bytes) }
        assertThrows(.missingGuestLayout(.deviceState)) { try encoder.append(.deviceState([]), into: &bytes) }

        var (ended, endedBytes) = try started()
        try ended.append(.endOfStream, into: &endedBytes)
        assertThrows(.recordAfterEndOfStream(.deviceState)) { try ended.append(.deviceState([1]), into: &endedBytes) }
        try ended.append(.clearedToUnpause, into: &endedBytes)
        assertThrows(.recordAfterClose(.abort, closedBy: .clearedToUnpause)) { try ended.append(.abort(reason: ""), into: &endedBytes) }
    }
}
