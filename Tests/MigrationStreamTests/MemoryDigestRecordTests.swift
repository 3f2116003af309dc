/// The memoryDigest record (type 6, `migrate --verify-memory`): its bytes, its place in the
/// stream, and the digest itself (page by page equals all at once; any changed word shows).
import MigrationStream
import XCTest

final class MemoryDigestRecordTests: XCTestCase {
    func testItsBytesAreTheDigestLittleEndian() throws {
        let bytes = streamStart() + rawRecord(6, le64(0x0123_4567_89AB_CDEF)) + rawRecord(5, [])
        XCTAssertEqual(try decodeAll(bytes).suffix(2), [.memoryDigest(0x0123_4567_89AB_CDEF), .endOfStream])
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var encoded: [UInt8] = []
        encoder.appendHeader(into: &encoded)
        try encoder.append(.guestLayout(smallLayout), into: &encoded)
        try encoder.append(.memoryDigest(0x0123_4567_89AB_CDEF), into: &encoded)
        XCTAssertEqual(encoded, streamStart() + rawRecord(6, le64(0x0123_4567_89AB_CDEF)))
    }

    func testItComesWithTheGuestDataOnlyAndWithEightBytes() {
        assertDecodeFails(headerBytes + rawRecord(6, le64(1)), .missingGuestLayout(.memoryDigest))
        assertDecodeFails(streamStart() + rawRecord(5, []) + rawRecord(6, le64(1)), .recordAfterEndOfStream(.memoryDigest))
        assertDecodeFails(headerBytes + rawRecord(6, le64(1)), .wrongDirection(.memoryDigest, .destinationToSource), direction: .destinationToSource)
        assertDecodeFails(streamStart() + rawRecord(6, [1, 2, 3, 4]), .recordLengthMismatch(.memoryDigest, length: 4, expected: 8))
        assertDecodeFails(streamStart() + rawRecord(6, le64(1) + le64(2)), .recordTooLong(.memoryDigest, length: 16, limit: 8))
    }

    func testPageByPageEqualsAllAtOnceAndAnyChangedWordShows() {
        let pages = 8
        var memory = [UInt8](repeating: 0, count: pages * 4096)
        for index in memory.indices { memory[index] = UInt8(truncatingIfNeeded: index / 4096 * 13 + index &* 31 + 7) }  // pages differ
        memory.withUnsafeBytes { all in
            var whole = MemoryDigest()
            whole.add(all)
            let byPage = MemoryDigest.of(pageCount: pages, pageSizeBytes: 4096) { all.baseAddress! + $0 * 4096 }
            XCTAssertEqual(whole.value, byPage)
        }
        let original = memory.withUnsafeBytes { bytes in MemoryDigest.of(pageCount: pages, pageSizeBytes: 4096) { bytes.baseAddress! + $0 * 4096 } }
        for offset in [0, 4095, 4096 * 5 + 8, memory.count - 1] {
            var changed = memory
            changed[offset] ^= 1
            let digest = changed.withUnsafeBytes { bytes in MemoryDigest.of(pageCount: pages, pageSizeBytes: 4096) { bytes.baseAddress! + $0 * 4096 } }
            XCTAssertNotEqual(digest, original, "a flipped bit at \(offset)")
        }
        // Two pages swapped (a misplaced page) show too.
        var swapped = memory
        swapped.replaceSubrange(0 ..< 4096, with: memory[4096 ..< 8192])
        swapped.replaceSubrange(4096 ..< 8192, with: memory[0 ..< 4096])
        let misplaced = swapped.withUnsafeBytes { bytes in MemoryDigest.of(pageCount: pages, pageSizeBytes: 4096) { bytes.baseAddress! + $0 * 4096 } }
        XCTAssertNotEqual(misplaced, original)
        XCTAssertEqual(MemoryDigest.hex(0xAB), "00000000000000ab")
    }
}
