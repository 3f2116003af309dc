/// The records of post-copy (stream version 6): `returnPath`, `postcopyStart` and the missing
/// pages after it on the main stream, `joinReturnPath` and `pageRequest` on the return path,
/// `postcopyComplete` in answer. Their bytes, round trips, where each may come, and bad values
/// refused naming the record.
import MigrationStream
import XCTest

final class PostcopyRecordTests: XCTestCase {
    private let nonce = [UInt8](1 ... 16)
    /// Pages 1 and 15 of `smallLayout`'s 16.
    private let missing = PostcopyMissing(count: 2, words: [1 << 1 | 1 << 15])
    private let completion = PostcopyCompletion(faults: 3, latencySumMicroseconds: 900, latencyMaxMicroseconds: 500, pageWiseDigest: 0xABCD)

    func testTheirBytes() throws {
        let layoutBytes = try encode([.guestLayout(smallLayout)])
        let bytes = try encode([.guestLayout(smallLayout), .returnPath, .vcpuState(VcpuState(vcpuId: 0, blob: [])),
                                .postcopyStart(missing)])
        let tail = Array(bytes[layoutBytes.count...])
        XCTAssertEqual(Array(tail.prefix(8)), rawRecord(13, []))
        XCTAssertEqual(Array(tail.suffix(24)), rawRecord(12, le64(2) + le64(1 << 1 | 1 << 15)))
        XCTAssertEqual(try encode([.pageRequest(pages: [7, 3])], direction: .destinationToSource).suffix(32),
                       ArraySlice(rawRecord(31, le32(2) + le32(0) + le64(7) + le64(3))))
        XCTAssertEqual(try encode([.joinReturnPath(migrationNonce: nonce)]).suffix(24), ArraySlice(rawRecord(30, nonce)))
        let running = RunningReport(unpauseWallClockMicroseconds: 1)
        XCTAssertEqual(try encode([.running(running), .postcopyComplete(completion)], direction: .destinationToSource).suffix(48),
                       ArraySlice(rawRecord(32, le64(3) + le64(900) + le64(500) + le32(1) + le32(0) + le64(0xABCD))))
        XCTAssertEqual(RecordType.postcopyComplete.description, "postcopyComplete (type 32)")
        for type in [RecordType.postcopyStart, .returnPath, .joinReturnPath] { XCTAssertFalse(type.isAllowed(in: .destinationToSource)) }
        for type in [RecordType.pageRequest, .postcopyComplete] { XCTAssertFalse(type.isAllowed(in: .sourceToDestination)) }
    }

    func testMainStreamRoundTrip() throws {
        let records: [StreamRecord] = [
            .challengeEcho(nonce: nonce), .guestLayout(smallLayout), .returnPath,
            .pageBatch(PageBatch(pageNumbers: [0, 2], data: pageData([0, 2]))), .drainMark(sequence: 1),
            .vcpuState(VcpuState(vcpuId: 0, blob: [1])), .deviceState([9]), .memoryDigest(5), .postcopyStart(missing),
            .pageBatch(PageBatch(pageNumbers: [15], data: pageData([15]))), .zeroPages(ZeroPageList(pageNumbers: [1])), .endOfStream,
        ]
        XCTAssertEqual(try decodeAll(try encode(records), chunk: 5), records)
        let replies: [StreamRecord] = [
            .challenge(nonce: nonce), .streamsListening(port: 4000), .drained(sequence: 1),
            .running(RunningReport(unpauseWallClockMicroseconds: 2)), .postcopyComplete(completion),
            .firstConsoleLine(destinationWallClockMicroseconds: 3, text: "up"),
        ]
        XCTAssertEqual(try decodeAll(try encode(replies, direction: .destinationToSource), direction: .destinationToSource), replies)
        let noDigest = PostcopyCompletion(faults: 0, latencySumMicroseconds: 0, latencyMaxMicroseconds: 0, pageWiseDigest: nil)
        let withoutDigest: [StreamRecord] = [.running(RunningReport(unpauseWallClockMicroseconds: 2)), .postcopyComplete(noDigest)]
        XCTAssertEqual(try decodeAll(try encode(withoutDigest, direction: .destinationToSource), direction: .destinationToSource), withoutDigest)
    }

    func testReturnPathRoundTrip() throws {
        let join: [StreamRecord] = [.challengeEcho(nonce: nonce), .joinReturnPath(migrationNonce: nonce)]
        XCTAssertEqual(try decodeAll(try encode(join)), join)
        let requests: [StreamRecord] = [.challenge(nonce: nonce), .pageRequest(pages: [9]), .pageRequest(pages: Array(0 ..< 4096))]
        XCTAssertEqual(try decodeAll(try encode(requests, direction: .destinationToSource), direction: .destinationToSource, chunk: 1000),
                       requests)
    }

    func testOrderRules() throws {
        let layout = StreamRecord.guestLayout(smallLayout)
        let batch = StreamRecord.pageBatch(PageBatch(pageNumbers: [3], data: pageData([3])))
        assertThrows(.returnPathMisplaced) { try encode([layout, batch, .returnPath]) }
        assertThrows(.returnPathMisplaced) { try encode([layout, .parallelStreams(count: 2), .returnPath]) }
        assertThrows(.returnPathMisplaced) { try encode([layout, .returnPath, .parallelStreams(count: 2)]) }
        assertThrows(.duplicateRecord(.returnPath)) { try encode([layout, .returnPath, .returnPath]) }
        assertThrows(.notInPostcopy(.deviceState)) { try encode([layout, .postcopyStart(missing), .deviceState([])]) }
        assertThrows(.notInPostcopy(.clearedToUnpause)) { try encode([layout, .postcopyStart(missing), .clearedToUnpause]) }
        assertThrows(.notInPostcopy(.memoryDigest)) { try encode([layout, .postcopyStart(missing), .memoryDigest(1)]) }
        // Drain marks are post-copy's flow control, one per batch: any number, each answered.
        let marks = (1 ... 100).map { StreamRecord.drainMark(sequence: UInt64($0)) }
        XCTAssertNoThrow(try encode([layout, .postcopyStart(missing)] + marks))
        let answers = (1 ... 100).map { StreamRecord.drained(sequence: UInt64($0)) }
        XCTAssertNoThrow(try encode([.running(RunningReport(unpauseWallClockMicroseconds: 1))] + answers, direction: .destinationToSource))
        assertThrows(.tooManyRecords(.drainMark, limit: 64)) { try encode([layout] + marks) }
        assertThrows(.recordAfterClose(.pageBatch, closedBy: .endOfStream)) { try encode([layout, .postcopyStart(missing), .endOfStream, batch]) }
        assertThrows(.missingGuestLayout(.postcopyStart)) { try encode([.postcopyStart(missing)]) }
        assertThrows(.recordAfterClose(.guestLayout, closedBy: .joinReturnPath)) { try encode([.joinReturnPath(migrationNonce: self.nonce), layout]) }
        // The destination: completion only after a running that came before ready.
        assertThrows(.recordTooEarly(.postcopyComplete, needs: .running)) {
            try encode([.postcopyComplete(self.completion)], direction: .destinationToSource)
        }
        assertThrows(.recordAfterClose(.postcopyComplete, closedBy: .running)) {
            try encode([.readyToUnpause, .running(RunningReport(unpauseWallClockMicroseconds: 1)), .postcopyComplete(self.completion)],
                       direction: .destinationToSource)
        }
        // An abort may still end a post-copy on either side.
        XCTAssertNoThrow(try encode([layout, .postcopyStart(missing), batch, .abort(reason: "link")]))
        XCTAssertNoThrow(try encode([.running(RunningReport(unpauseWallClockMicroseconds: 1)), .abort(reason: "lost")],
                                    direction: .destinationToSource))
    }

    func testBadValuesRefused() throws {
        let layout = StreamRecord.guestLayout(smallLayout)
        assertThrows(.postcopyCountMismatch(count: 3, bitsSet: 2)) {
            try encode([layout, .postcopyStart(PostcopyMissing(count: 3, words: self.missing.words))])
        }
        // Page 16 of a 16-page guest.
        assertThrows(.postcopyBitmapBeyondGuest(guestPages: 16)) {
            try encode([layout, .postcopyStart(PostcopyMissing(count: 1, words: [1 << 16]))])
        }
        assertThrows(.recordLengthMismatch(.postcopyStart, length: 24, expected: 16)) {
            try encode([layout, .postcopyStart(PostcopyMissing(count: 0, words: [0, 0]))])
        }
        assertThrows(.pageCountOutOfRange(.pageRequest, count: 0, limit: 4096)) {
            try encode([.pageRequest(pages: [])], direction: .destinationToSource)
        }
        // The same rules on bytes from a peer.
        let start = streamStart()
        assertDecodeFails(start + rawRecord(12, le64(1) + le64(3)), .postcopyCountMismatch(count: 1, bitsSet: 2))
        assertDecodeFails(start + rawRecord(12, le64(1)), .recordLengthMismatch(.postcopyStart, length: 8, expected: 16))
        assertDecodeFails(start + rawRecord(12, le64(0) + le64(0) + le64(0)), .recordTooLong(.postcopyStart, length: 24, limit: 16))
        assertDecodeFails(headerBytes + rawRecord(31, le32(4097) + le32(0)), .pageCountOutOfRange(.pageRequest, count: 4097, limit: 4096),
                          direction: .destinationToSource)
        assertDecodeFails(headerBytes + rawRecord(31, le32(2) + le32(0) + le64(1)), .recordLengthMismatch(.pageRequest, length: 16, expected: 24),
                          direction: .destinationToSource)
        assertDecodeFails(headerBytes + rawRecord(31, le32(1) + le32(1) + le64(1)), .nonZeroReserved(.pageRequest, field: "reserved"),
                          direction: .destinationToSource)
        let running = rawRecord(18, [UInt8](repeating: 0, count: 32))
        assertDecodeFails(headerBytes + running + rawRecord(32, le64(0) + le64(0) + le64(0) + le32(0) + le32(0) + le64(7)),
                          .nonZeroReserved(.postcopyComplete, field: "digest"), direction: .destinationToSource)
        assertDecodeFails(headerBytes + running + rawRecord(32, le64(0) + le64(0) + le64(0) + le32(2) + le32(0) + le64(0)),
                          .nonZeroReserved(.postcopyComplete, field: "flags"), direction: .destinationToSource)
        XCTAssertEqual(StreamError.postcopyCountMismatch(count: 1, bitsSet: 2).description,
                       "postcopyStart (type 12) record field count is 1 but its bitmap has 2 pages set")
    }

    /// The page-wise digest does not depend on the order pages are added in, and tells a page's
    /// content and its place apart.
    func testPageWiseDigest() {
        let pages = (0 ..< 4).map { index in [UInt8](repeating: UInt8(index + 1), count: 4096) }
        func digest(_ order: [Int], swapped: Bool = false) -> UInt64 {
            var digest = PageWiseDigest()
            for page in order {
                let content = swapped && page < 2 ? pages[1 - page] : pages[page]
                content.withUnsafeBytes { digest.add(page: page, bytes: $0) }
            }
            return digest.value
        }
        XCTAssertEqual(digest([0, 1, 2, 3]), digest([3, 1, 0, 2]))
        XCTAssertNotEqual(digest([0, 1, 2, 3]), digest([0, 1, 2, 3], swapped: true))
        XCTAssertNotEqual(digest([0, 1, 2, 3]), digest([0, 1, 2]))
        let whole = pages.flatMap { $0 }
        let of = whole.withUnsafeBytes { bytes in PageWiseDigest.of(pageCount: 4, pageSizeBytes: 4096) { bytes.baseAddress! + $0 * 4096 } }
        XCTAssertEqual(of, digest([2, 0, 3, 1]))
    }
}
