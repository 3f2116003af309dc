/// The records of parallel streams (stream version 5): `parallelStreams` and `streamsListening`
/// on the main connection, `joinStream` and `roundStart` on a data connection. Their bytes,
/// round trips, where each may come, and every bad value refused naming the record.
import MigrationStream
import XCTest

final class ParallelStreamRecordTests: XCTestCase {
    private let nonce = [UInt8](1 ... 16)

    /// A data stream's decoder fed `records` (after the header and the join), with the main
    /// stream's layout adopted after the join, as the receiver does.
    private func decodeDataStream(_ records: [StreamRecord]) throws -> [StreamRecord] {
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try encoder.append(.challengeEcho(nonce: nonce), into: &bytes)
        try encoder.append(.joinStream(migrationNonce: nonce, index: 3), into: &bytes)
        encoder.adoptLayout(smallLayout)
        for record in records { try encoder.append(record, into: &bytes) }
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(bytes)
        var decoded: [StreamRecord] = []
        while let record = try decoder.nextRecord() {
            decoded.append(record)
            if case .joinStream = record { decoder.adoptLayout(smallLayout) }
        }
        XCTAssertEqual(decoder.bufferedByteCount, 0)
        return decoded
    }

    func testTheirBytes() throws {
        var bytes = try encode([.guestLayout(smallLayout)])
        let start = bytes.count
        // An encoder in the same state as the one that wrote `bytes`.
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var header: [UInt8] = []
        encoder.appendHeader(into: &header)
        try encoder.append(.guestLayout(smallLayout), into: &header)
        try encoder.append(.parallelStreams(count: 4), into: &bytes)
        XCTAssertEqual(Array(bytes[start...]), rawRecord(9, le32(4) + le32(0)))
        XCTAssertEqual(try encode([.streamsListening(port: 0x1F42)], direction: .destinationToSource).suffix(16),
                       ArraySlice(rawRecord(29, le32(0x1F42) + le32(0))))
        var join = StreamEncoder(direction: .sourceToDestination)
        var joinBytes: [UInt8] = []
        join.appendHeader(into: &joinBytes)
        try join.append(.joinStream(migrationNonce: nonce, index: 2), into: &joinBytes)
        join.adoptLayout(smallLayout)
        let roundStart = joinBytes.count
        try join.append(.roundStart(round: 7), into: &joinBytes)
        XCTAssertEqual(Array(joinBytes[16 ..< roundStart]), rawRecord(28, nonce + le32(2) + le32(0)))
        XCTAssertEqual(Array(joinBytes[roundStart...]), rawRecord(10, le64(7)))
        XCTAssertEqual(bytes[8], 6, "this build writes version 6")
        for type in [RecordType.parallelStreams, .roundStart, .joinStream] {
            XCTAssertTrue(type.isAllowed(in: .sourceToDestination))
            XCTAssertFalse(type.isAllowed(in: .destinationToSource))
        }
        XCTAssertTrue(RecordType.streamsListening.isAllowed(in: .destinationToSource))
        XCTAssertEqual(RecordType.joinStream.description, "joinStream (type 28)")
    }

    func testMainStreamRoundTrip() throws {
        let records: [StreamRecord] = [
            .challengeEcho(nonce: nonce), .guestLayout(smallLayout), .parallelStreams(count: 16), .drainMark(sequence: 1),
            .vcpuState(VcpuState(vcpuId: 0, blob: [1])), .vcpuState(VcpuState(vcpuId: 1, blob: [2])), .deviceState([]), .endOfStream,
            .clearedToUnpause,
        ]
        XCTAssertEqual(try decodeAll(try encode(records), chunk: 3), records)
        let replies: [StreamRecord] = [.challenge(nonce: nonce), .streamsListening(port: 40000), .drained(sequence: 1), .readyToUnpause]
        XCTAssertEqual(try decodeAll(try encode(replies, direction: .destinationToSource), direction: .destinationToSource), replies)
    }

    func testDataStreamRoundTrip() throws {
        let records: [StreamRecord] = [
            .roundStart(round: 0), .pageBatch(PageBatch(pageNumbers: [1, 3], data: pageData([1, 3]))),
            .zeroPages(ZeroPageList(pageNumbers: [2])), .roundStart(round: 1), .drainMark(sequence: 1), .roundStart(round: 4),
            .pageBatch(PageBatch(pageNumbers: [3], data: pageData([3]))), .endOfStream,
        ]
        XCTAssertEqual(try decodeDataStream(records),
                       [.challengeEcho(nonce: nonce), .joinStream(migrationNonce: nonce, index: 3)] + records)
    }

    func testADataStreamCarriesOnlyPagesRoundsDrainsAndItsEnd() throws {
        for record: StreamRecord in [.vcpuState(VcpuState(vcpuId: 0, blob: [])), .deviceState([]), .memoryDigest(1),
                                     .guestLayout(smallLayout), .parallelStreams(count: 2)] {
            assertThrows(.notInDataStream(record.type)) { try decodeDataStream([record]) }
        }
        assertThrows(.recordAfterClose(.roundStart, closedBy: .endOfStream)) { try decodeDataStream([.endOfStream, .roundStart(round: 1)]) }
        XCTAssertTrue(StreamError.notInDataStream(.deviceState).description.contains("deviceState (type 4) on a data stream"))
    }

    func testRoundsOnADataStreamStrictlyIncrease() throws {
        assertThrows(.roundNotIncreasing(previous: 2, next: 2)) { try decodeDataStream([.roundStart(round: 2), .roundStart(round: 2)]) }
        // Hand-built, past the encoder's own check: the decoder refuses it too.
        var bytes = try encode([.challengeEcho(nonce: nonce), .joinStream(migrationNonce: nonce, index: 0)])
        bytes += rawRecord(10, le64(5)) + rawRecord(10, le64(4))
        assertDecodeFails(bytes, .roundNotIncreasing(previous: 5, next: 4))
        XCTAssertEqual(StreamError.roundNotIncreasing(previous: 5, next: 4).description,
                       "roundStart (type 10) record field round is 4; it must be above the stream's previous round 5")
    }

    func testPlacesAndValuesRefused() throws {
        // On the main stream: once, before any page, and no rounds.
        let page = StreamRecord.pageBatch(PageBatch(pageNumbers: [1], data: pageData([1])))
        assertThrows(.parallelStreamsAfterPages) { try encode([.guestLayout(smallLayout), page, .parallelStreams(count: 2)]) }
        assertThrows(.duplicateRecord(.parallelStreams)) {
            try encode([.guestLayout(smallLayout), .parallelStreams(count: 2), .parallelStreams(count: 2)])
        }
        assertThrows(.onlyOnDataStreams(.roundStart)) { try encode([.guestLayout(smallLayout), .roundStart(round: 1)]) }
        assertThrows(.missingGuestLayout(.parallelStreams)) { try encode([.parallelStreams(count: 2)]) }
        // Counts, ports, reserved words, lengths.
        for count: UInt32 in [0, 1, 17, .max] {
            assertThrows(.parallelStreamCountOutOfRange(count)) { try encode([.guestLayout(smallLayout), .parallelStreams(count: count)]) }
            assertDecodeFails(streamStart() + rawRecord(9, le32(count) + le32(0)), .parallelStreamCountOutOfRange(count))
        }
        XCTAssertEqual(StreamError.parallelStreamCountOutOfRange(17).description,
                       "parallelStreams (type 9) record field count is 17; it must be 2 to 16")
        assertDecodeFails(streamStart() + rawRecord(9, le32(2) + le32(1)), .nonZeroReserved(.parallelStreams, field: "reserved"))
        assertDecodeFails(streamStart() + rawRecord(9, le32(2)), .recordLengthMismatch(.parallelStreams, length: 4, expected: 8))
        assertThrows(.invalidStreamPort) { try encode([.streamsListening(port: 0)], direction: .destinationToSource) }
        let replyHeader = try encode([], direction: .destinationToSource)
        assertDecodeFails(replyHeader + rawRecord(29, le32(0) + le32(0)), .invalidStreamPort, direction: .destinationToSource)
        assertDecodeFails(replyHeader + rawRecord(29, le32(70000) + le32(0)), .invalidStreamPort, direction: .destinationToSource)
        assertDecodeFails(replyHeader + rawRecord(29, le32(1) + le32(0)) + rawRecord(29, le32(1) + le32(0)),
                          .duplicateRecord(.streamsListening), direction: .destinationToSource)
        assertDecodeFails(headerBytes + rawRecord(28, nonce + le32(0) + le32(9)), .nonZeroReserved(.joinStream, field: "reserved"))
        assertDecodeFails(headerBytes + rawRecord(28, nonce), .recordLengthMismatch(.joinStream, length: 16, expected: 24))
        // A join is an opening: not after a guest layout.
        assertThrows(.duplicateRecord(.joinStream)) {
            try encode([.guestLayout(smallLayout), .joinStream(migrationNonce: nonce, index: 0)])
        }
    }
}
