/// The 16-byte stream header: its exact bytes, and refusal of a wrong magic (as soon as the first
/// wrong byte arrives), another version and unknown flags.
import MigrationStream
import XCTest

final class StreamHeaderTests: XCTestCase {
    func testHeaderBytesExactly() {
        var bytes: [UInt8] = []
        var encoder = StreamEncoder(direction: .sourceToDestination)
        encoder.appendHeader(into: &bytes)
        XCTAssertEqual(bytes, [0x4C, 0x49, 0x56, 0x45, 0x4D, 0x49, 0x47, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])
        XCTAssertEqual(StreamHeader.sizeBytes, 16)
        XCTAssertEqual(Array("LIVEMIG".utf8) + [0], StreamHeader.magic)
    }

    func testHeaderAloneYieldsNoRecordButIsAccepted() throws {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(headerBytes.prefix(15))
        XCTAssertNil(try decoder.nextRecord())
        XCTAssertFalse(decoder.headerReceived)
        decoder.feed(headerBytes.suffix(1))
        XCTAssertNil(try decoder.nextRecord())
        XCTAssertTrue(decoder.headerReceived)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testWrongMagicRefused() {
        var bytes = headerBytes
        bytes[6] = UInt8(ascii: "X")
        assertDecodeFails(bytes, .badMagic([0x4C, 0x49, 0x56, 0x45, 0x4D, 0x49, 0x58, 0x00]))
    }

    func testWrongMagicRefusedBeforeTheWholeHeaderArrives() {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(Array("GET".utf8))
        assertThrows(.badMagic(Array("GET".utf8))) { try decoder.nextRecord() }
    }

    func testOtherVersionsRefused() {
        for version: UInt8 in [1, 7] {
            var bytes = headerBytes
            bytes[8] = version
            assertDecodeFails(bytes, .unsupportedVersion(UInt32(version), direction: .sourceToDestination))
        }
        XCTAssertEqual(StreamError.unsupportedVersion(1, direction: .sourceToDestination).description,
                       "stream header version is 1; this build reads only version 2 or 3 or 4 or 5 or 6 from the source")
    }

    /// Version 2's source records are version 3's, and those are version 4's without
    /// `zeroPages`, so a guest saved by an earlier build loads; version 2's replies had a
    /// shorter `running`, so a version 2 destination is refused.
    func testVersionTwoIsReadFromTheSourceOnly() throws {
        var bytes = try encode([.guestLayout(smallLayout), .endOfStream])
        bytes[8] = 2
        XCTAssertEqual(try decodeAll(bytes), [.guestLayout(smallLayout), .endOfStream])
        var replies = try encode([.readyToUnpause], direction: .destinationToSource)
        replies[8] = 2
        assertDecodeFails(replies, .unsupportedVersion(2, direction: .destinationToSource), direction: .destinationToSource)
        XCTAssertEqual(StreamError.unsupportedVersion(2, direction: .destinationToSource).description,
                       "stream header version is 2; this build reads only version 3 or 4 or 5 or 6 from the destination")
    }

    /// Versions 4 to 6 changed no destination-to-source record, so a version 3 destination's
    /// replies are read as they are.
    func testVersionThreeIsReadFromBothSides() throws {
        XCTAssertEqual(StreamHeader.version, 6)
        XCTAssertEqual(StreamHeader.readableVersions(.sourceToDestination), [2, 3, 4, 5, 6])
        XCTAssertEqual(StreamHeader.readableVersions(.destinationToSource), [3, 4, 5, 6])
        let source: [StreamRecord] = [.guestLayout(smallLayout), .drainMark(sequence: 1), .endOfStream]
        var bytes = try encode(source)
        bytes[8] = 3
        XCTAssertEqual(try decodeAll(bytes), source)
        let replies: [StreamRecord] = [.drained(sequence: 1), .readyToUnpause, .running(RunningReport(unpauseWallClockMicroseconds: 1))]
        var replyBytes = try encode(replies, direction: .destinationToSource)
        replyBytes[8] = 3
        XCTAssertEqual(try decodeAll(replyBytes, direction: .destinationToSource), replies)
    }

    func testNonZeroFlagsRefused() {
        var bytes = headerBytes
        bytes[15] = 0x80
        assertDecodeFails(bytes, .unknownHeaderFlags(0x8000_0000))
    }

    func testMagicErrorDescriptionShowsBytes() {
        XCTAssertEqual(
            StreamError.badMagic([0x47, 0x45, 0x54]).description,
            "stream header magic is 47 45 54; expected 4C 49 56 45 4D 49 47 00 (LIVEMIG\\0)"
        )
    }
}
