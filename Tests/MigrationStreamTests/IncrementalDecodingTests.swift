/// The decoder gives the same records however the bytes are split: one byte at a time, at every
/// split point, in uneven chunks.
import MigrationStream
import XCTest

final class IncrementalDecodingTests: XCTestCase {
    func testOneByteAtATimeEqualsAllAtOnce() throws {
        let bytes = try encode(RoundTripTests.sourceRecords)
        let whole = try decodeAll(bytes)
        XCTAssertEqual(whole, RoundTripTests.sourceRecords)
        XCTAssertEqual(try decodeAll(bytes, chunk: 1), whole)
    }

    func testEverySplitIntoTwoPieces() throws {
        let records: [StreamRecord] = [
            .guestLayout(smallLayout), .vcpuState(VcpuState(vcpuId: 1, blob: [1, 2, 3])), .deviceState([4]),
            .endOfStream, .abort(reason: "abc"),
        ]
        let bytes = try encode(records)
        for split in 0 ... bytes.count {
            var decoder = StreamDecoder(direction: .sourceToDestination)
            var decoded: [StreamRecord] = []
            decoder.feed(bytes[..<split])
            while let record = try decoder.nextRecord() { decoded.append(record) }
            decoder.feed(bytes[split...])
            while let record = try decoder.nextRecord() { decoded.append(record) }
            XCTAssertEqual(decoded, records, "split at \(split)")
        }
    }

    func testUnevenChunks() throws {
        let bytes = try encode(RoundTripTests.sourceRecords)
        for chunk in [3, 7, 8, 13, 4095, 4096, 4097, 10_000] {
            XCTAssertEqual(try decodeAll(bytes, chunk: chunk), RoundTripTests.sourceRecords, "chunk \(chunk)")
        }
    }

    func testNilUntilTheLastPaddingByteArrives() throws {
        let bytes = try encode([.guestLayout(smallLayout), .abort(reason: "abc")])
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(bytes.dropLast())
        XCTAssertEqual(try decoder.nextRecord(), .guestLayout(smallLayout))
        XCTAssertNil(try decoder.nextRecord())
        XCTAssertEqual(decoder.bufferedByteCount, 15, "the abort record minus its last padding byte")
        decoder.feed(bytes.suffix(1))
        XCTAssertEqual(try decoder.nextRecord(), .abort(reason: "abc"))
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testDirectionStreamOneByteAtATime() throws {
        let records: [StreamRecord] = [.readyToUnpause, .running(RunningReport(unpauseWallClockMicroseconds: 1_795_000_000_123_456, stateLoadMicroseconds: 310,
                                                                                checkMicroseconds: 42, unpauseMicroseconds: 95))]
        let bytes = try encode(records, direction: .destinationToSource)
        XCTAssertEqual(bytes.count, 64)  // header 16 + readyToUnpause 8 + running 40
        XCTAssertEqual(try decodeAll(bytes, direction: .destinationToSource, chunk: 1), records)
    }
}
