/// The connection-opening records (challenge and its echo) and the guest query: their bytes
/// round-trip, a challenge may only open its stream, a query or its answer ends it, and bad
/// bodies are refused with the field named.
import MigrationStream
import XCTest

final class ChallengeAndQueryTests: XCTestCase {
    private let nonce: [UInt8] = Array(0 ..< 16)

    func testOpeningAndQueryRecordsRoundTrip() throws {
        let migration: [StreamRecord] = [.challengeEcho(nonce: nonce), .guestLayout(smallLayout), .endOfStream]
        XCTAssertEqual(try decodeAll(try encode(migration)), migration)
        let query: [StreamRecord] = [.challengeEcho(nonce: nonce), .queryGuest(name: "wëb-1", migrationNonce: nonce)]
        XCTAssertEqual(try decodeAll(try encode(query)), query)
        for presence in GuestPresence.allCases {
            let answer: [StreamRecord] = [.challenge(nonce: nonce), .guestState(presence)]
            XCTAssertEqual(try decodeAll(try encode(answer, direction: .destinationToSource), direction: .destinationToSource), answer)
        }
    }

    func testAChallengeOnlyOpensItsStream() {
        XCTAssertThrowsError(try encode([.guestLayout(smallLayout), .challengeEcho(nonce: nonce)]))
        XCTAssertThrowsError(try encode([.challengeEcho(nonce: nonce), .challengeEcho(nonce: nonce)])) { error in
            XCTAssertEqual(error as? StreamError, .duplicateRecord(.challengeEcho))
        }
        XCTAssertThrowsError(try encode([.readyToUnpause, .challenge(nonce: nonce)], direction: .destinationToSource))
        XCTAssertThrowsError(try encode([.challenge(nonce: nonce)])) { error in
            XCTAssertEqual(error as? StreamError, .wrongDirection(.challenge, .sourceToDestination))
        }
    }

    func testAQueryAndItsAnswerEndTheirStreams() {
        XCTAssertThrowsError(try encode([.queryGuest(name: "web", migrationNonce: nonce), .guestLayout(smallLayout)])) { error in
            XCTAssertEqual(error as? StreamError, .recordAfterClose(.guestLayout, closedBy: .queryGuest))
        }
        XCTAssertThrowsError(try encode([.guestState(.running), .readyToUnpause], direction: .destinationToSource))
    }

    func testBadBodiesAreRefused() {
        XCTAssertThrowsError(try encode([.challengeEcho(nonce: [1, 2, 3])])) { error in
            XCTAssertEqual(error as? StreamError, .recordLengthMismatch(.challengeEcho, length: 3, expected: 16))
        }
        XCTAssertThrowsError(try encode([.queryGuest(name: "", migrationNonce: nonce)]))
        XCTAssertThrowsError(try encode([.queryGuest(name: "web", migrationNonce: [1])]))
        var bytes = headerBytes + rawRecord(RecordType.guestState.rawValue, le32(9) + le32(0))
        assertDecodeFails(bytes, .unknownGuestState(9), direction: .destinationToSource)
        XCTAssertEqual(StreamError.unknownGuestState(9).description, "guestState (type 24) record field state is 9; it must be 0 to 4")
        bytes = headerBytes + rawRecord(RecordType.guestState.rawValue, le32(2) + le32(1))
        assertDecodeFails(bytes, .nonZeroReserved(.guestState, field: "reserved"), direction: .destinationToSource)
    }
}
