/// The order rules of both directions: layout first and once, nothing but control records after
/// endOfStream, nothing after the record that closes a stream, each record only in its direction.
/// Order errors come from the 8-byte record header alone.
import MigrationStream
import XCTest

final class RecordOrderTests: XCTestCase {
    func testPageBatchBeforeGuestLayoutRefusedFromItsHeader() {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(headerBytes + le32(2) + le32(8 + 4104))
        assertThrows(.missingGuestLayout(.pageBatch)) { try decoder.nextRecord() }
    }

    func testOtherDataBeforeGuestLayoutRefused() {
        assertDecodeFails(headerBytes + rawRecord(3, le32(0) + le32(0)), .missingGuestLayout(.vcpuState))
        assertDecodeFails(headerBytes + rawRecord(4, [1]), .missingGuestLayout(.deviceState))
        assertDecodeFails(headerBytes + rawRecord(5, []), .missingGuestLayout(.endOfStream))
    }

    func testSecondGuestLayoutRefused() {
        assertDecodeFails(streamStart() + rawRecord(1, rawLayoutBody()), .duplicateRecord(.guestLayout))
    }

    func testDataRecordAfterEndOfStreamRefused() {
        let ended = streamStart() + rawRecord(5, [])
        assertDecodeFails(ended + rawRecord(2, rawBatchBody(pages: [1])), .recordAfterEndOfStream(.pageBatch))
        assertDecodeFails(ended + rawRecord(4, [1]), .recordAfterEndOfStream(.deviceState))
        assertDecodeFails(ended + rawRecord(5, []), .recordAfterEndOfStream(.endOfStream))
        assertDecodeFails(ended + rawRecord(1, rawLayoutBody()), .recordAfterEndOfStream(.guestLayout))
    }

    func testControlRecordsAfterEndOfStreamAccepted() throws {
        let ended = streamStart() + rawRecord(5, [])
        XCTAssertEqual(try decodeAll(ended + rawRecord(17, [])).last, .clearedToUnpause)
        XCTAssertEqual(try decodeAll(ended + rawRecord(19, Array("no".utf8))).last, .abort(reason: "no"))
    }

    func testClearedToUnpauseBeforeEndOfStreamRefused() {
        assertDecodeFails(streamStart() + rawRecord(17, []), .recordTooEarly(.clearedToUnpause, needs: .endOfStream))
    }

    func testNothingAfterTheClosingRecord() {
        let cleared = streamStart() + rawRecord(5, []) + rawRecord(17, [])
        assertDecodeFails(cleared + rawRecord(19, []), .recordAfterClose(.abort, closedBy: .clearedToUnpause))
        let aborted = streamStart() + rawRecord(19, [])
        assertDecodeFails(aborted + rawRecord(2, rawBatchBody(pages: [1])), .recordAfterClose(.pageBatch, closedBy: .abort))
    }

    func testAbortBeforeGuestLayoutAccepted() throws {
        XCTAssertEqual(try decodeAll(headerBytes + rawRecord(19, Array("disk full".utf8))), [.abort(reason: "disk full")])
    }

    func testRecordsOnlyTravelTheirDirection() {
        assertDecodeFails(streamStart() + rawRecord(16, []), .wrongDirection(.readyToUnpause, .sourceToDestination))
        assertDecodeFails(streamStart() + rawRecord(18, []), .wrongDirection(.running, .sourceToDestination))
        assertDecodeFails(headerBytes + rawRecord(1, rawLayoutBody()), .wrongDirection(.guestLayout, .destinationToSource), direction: .destinationToSource)
        assertDecodeFails(headerBytes + rawRecord(17, []), .wrongDirection(.clearedToUnpause, .destinationToSource), direction: .destinationToSource)
    }

    func testDestinationStreamOrder() throws {
        // Running before ready is post-copy's answer to its hand-over: its completion must come next.
        assertDecodeFails(headerBytes + rawRecord(18, [UInt8](repeating: 0, count: 32)) + rawRecord(16, []),
                          .recordTooEarly(.readyToUnpause, needs: .postcopyComplete), direction: .destinationToSource)
        assertDecodeFails(headerBytes + rawRecord(16, []) + rawRecord(16, []), .duplicateRecord(.readyToUnpause), direction: .destinationToSource)
        assertDecodeFails(
            headerBytes + rawRecord(16, []) + rawRecord(18, [UInt8](repeating: 0, count: 32)) + rawRecord(19, []),
            .recordAfterClose(.abort, closedBy: .running), direction: .destinationToSource
        )
        XCTAssertEqual(
            try decodeAll(headerBytes + rawRecord(16, []) + rawRecord(19, Array("unpause failed".utf8)), direction: .destinationToSource),
            [.readyToUnpause, .abort(reason: "unpause failed")]
        )
    }

    func testCheckerPhasesOfTheDestinationStream() {
        var checker = StreamStateChecker(direction: .destinationToSource)
        XCTAssertEqual(checker.phase, .receiving)
        XCTAssertNoThrow(try checker.check(.readyToUnpause))
        checker.advance(past: .readyToUnpause)
        XCTAssertEqual(checker.phase, .ready)
        checker.advance(past: .running(RunningReport(unpauseWallClockMicroseconds: 0)))
        XCTAssertEqual(checker.phase, .guestRunning)
        XCTAssertNoThrow(try checker.check(.firstConsoleLine))
        checker.advance(past: .firstConsoleLine(destinationWallClockMicroseconds: 0, text: "hb 1"))
        XCTAssertEqual(checker.phase, .closed(by: .firstConsoleLine))
    }

    func testFirstConsoleLineOnlyAfterRunningAndLast() throws {
        let line = rawRecord(20, le64(1_795_000_000_000_000) + Array("hb 7".utf8))
        let running = rawRecord(18, le64(1) + le64(0) + le64(0) + le64(0))
        assertDecodeFails(headerBytes + rawRecord(16, []) + line, .recordTooEarly(.firstConsoleLine, needs: .running),
                          direction: .destinationToSource)
        assertDecodeFails(headerBytes + rawRecord(16, []) + running + running, .duplicateRecord(.running), direction: .destinationToSource)
        assertDecodeFails(headerBytes + rawRecord(16, []) + running + line + line,
                          .recordAfterClose(.firstConsoleLine, closedBy: .firstConsoleLine), direction: .destinationToSource)
        assertDecodeFails(streamStart() + line, .wrongDirection(.firstConsoleLine, .sourceToDestination))
        XCTAssertEqual(try decodeAll(headerBytes + rawRecord(16, []) + running + line, direction: .destinationToSource),
                       [.readyToUnpause, .running(RunningReport(unpauseWallClockMicroseconds: 1)),
                        .firstConsoleLine(destinationWallClockMicroseconds: 1_795_000_000_000_000, text: "hb 7")])
    }

    func testFirstConsoleLineLimits() throws {
        let prefix = headerBytes + rawRecord(16, []) + rawRecord(18, le64(1) + le64(0) + le64(0) + le64(0))
        assertDecodeFails(prefix + rawRecord(20, [1, 2, 3]), .recordLengthMismatch(.firstConsoleLine, length: 3, expected: 8),
                          direction: .destinationToSource)
        assertDecodeFails(prefix + rawRecord(20, le64(1) + [0xFF]), .invalidUTF8(.firstConsoleLine, field: "text"),
                          direction: .destinationToSource)
        assertDecodeFails(prefix + rawRecord(20, le64(1) + [UInt8](repeating: 65, count: 257)),
                          .recordTooLong(.firstConsoleLine, length: 265, limit: 264), direction: .destinationToSource)
        var encoder = StreamEncoder(direction: .destinationToSource)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try encoder.append(.readyToUnpause, into: &bytes)
        try encoder.append(.running(RunningReport(unpauseWallClockMicroseconds: 1)), into: &bytes)
        assertThrows(.textTooLong(.firstConsoleLine, field: "text", bytes: 257, limit: 256)) {
            try encoder.append(.firstConsoleLine(destinationWallClockMicroseconds: 1, text: String(repeating: "x", count: 257)), into: &bytes)
        }
    }

    func testRunningWithoutItsTimesIsRejected() {
        assertDecodeFails(headerBytes + rawRecord(16, []) + rawRecord(18, []),
                          .recordLengthMismatch(.running, length: 0, expected: 32), direction: .destinationToSource)
        // A version 2 `running`: the wall-clock time alone.
        assertDecodeFails(headerBytes + rawRecord(16, []) + rawRecord(18, le64(1)),
                          .recordLengthMismatch(.running, length: 8, expected: 32), direction: .destinationToSource)
    }

    /// A drain mark may come among the guest's data, never before the layout or after the end;
    /// its answer comes before "ready", never after.
    func testDrainMarksAndTheirAnswers() throws {
        let source: [StreamRecord] = [.guestLayout(smallLayout), .drainMark(sequence: 1), .drainMark(sequence: 2), .endOfStream]
        XCTAssertEqual(try decodeAll(try encode(source)), source)
        let replies: [StreamRecord] = [.drained(sequence: 1), .drained(sequence: 2), .readyToUnpause]
        XCTAssertEqual(try decodeAll(try encode(replies, direction: .destinationToSource), direction: .destinationToSource), replies)
        assertDecodeFails(headerBytes + rawRecord(7, le64(1)), .missingGuestLayout(.drainMark))
        assertDecodeFails(streamStart() + rawRecord(5, []) + rawRecord(7, le64(1)), .recordAfterEndOfStream(.drainMark))
        assertDecodeFails(headerBytes + rawRecord(16, []) + rawRecord(27, le64(1)), .recordAfterReady(.drained), direction: .destinationToSource)
        assertDecodeFails(streamStart() + rawRecord(27, le64(1)), .wrongDirection(.drained, .sourceToDestination))
        assertDecodeFails(streamStart() + rawRecord(7, []), .recordLengthMismatch(.drainMark, length: 0, expected: 8))
        let tooMany = [StreamRecord](repeating: .drainMark(sequence: 1), count: StreamLimits.maxDrainMarks + 1)
        XCTAssertThrowsError(try encode([.guestLayout(smallLayout)] + tooMany)) { error in
            XCTAssertEqual(error as? StreamError, .tooManyRecords(.drainMark, limit: 64))
        }
        // A mark after each page record (flow control) comes on top of the 64.
        let batch = StreamRecord.pageBatch(PageBatch(pageNumbers: [0], data: [UInt8](repeating: 1, count: 4096)))
        let marked = [StreamRecord.guestLayout(smallLayout)] + (1 ... 100).flatMap { [batch, StreamRecord.drainMark(sequence: UInt64($0))] } + tooMany.dropLast()
        XCTAssertNoThrow(try encode(marked))
        XCTAssertThrowsError(try encode(marked + [.drainMark(sequence: 1)])) { error in
            XCTAssertEqual(error as? StreamError, .tooManyRecords(.drainMark, limit: 64))
        }
        // Answers are not counted here: the source checks each against the marks it sent.
        let answers = (0 ... 200).flatMap { _ in rawRecord(27, le64(1)) }
        XCTAssertEqual(try decodeAll(headerBytes + answers, direction: .destinationToSource).count, 201)
        XCTAssertEqual(StreamError.recordAfterReady(.drained).description,
                       "drained (type 27) record came after readyToUnpause (type 16); only running or abort may follow it")
    }
}
