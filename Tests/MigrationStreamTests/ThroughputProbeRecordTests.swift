/// The throughput probe's records: they round-trip, the probe's page batches are checked
/// against the probe's own layout, only page batches and the end may follow the probe record,
/// the end closes the stream, and a bad size is refused with the field named.
import MigrationStream
import XCTest

final class ThroughputProbeRecordTests: XCTestCase {
    private let nonce: [UInt8] = Array(0 ..< 16)
    private let page = [UInt8](repeating: 7, count: 4096)

    func testAProbeAndItsAnswerRoundTrip() throws {
        let probe: [StreamRecord] = [
            .challengeEcho(nonce: nonce), .throughputProbe(bytes: 8192),
            .pageBatch(PageBatch(pageNumbers: [0, 1], data: page + page)), .pageBatch(PageBatch(pageNumbers: [1], data: page)), .endOfStream,
        ]
        XCTAssertEqual(try decodeAll(try encode(probe)), probe)
        let answer: [StreamRecord] = [.challenge(nonce: nonce), .probeResult(receivedBytes: 12288, receiveMicroseconds: 1_000_123)]
        XCTAssertEqual(try decodeAll(try encode(answer, direction: .destinationToSource), direction: .destinationToSource), answer)
    }

    func testOnlyPageBatchesAndTheEndFollowAProbe() {
        XCTAssertThrowsError(try encode([.throughputProbe(bytes: 8192), .vcpuState(VcpuState(vcpuId: 0, blob: [1]))])) { error in
            XCTAssertEqual(error as? StreamError, .notInProbe(.vcpuState))
        }
        XCTAssertThrowsError(try encode([.throughputProbe(bytes: 8192), .guestLayout(smallLayout)])) { error in
            XCTAssertEqual(error as? StreamError, .notInProbe(.guestLayout))
        }
        XCTAssertThrowsError(try encode([.throughputProbe(bytes: 8192), .endOfStream, .clearedToUnpause])) { error in
            XCTAssertEqual(error as? StreamError, .recordAfterClose(.clearedToUnpause, closedBy: .endOfStream))
        }
        XCTAssertThrowsError(try encode([.guestLayout(smallLayout), .throughputProbe(bytes: 8192)]))
        XCTAssertThrowsError(try encode([.throughputProbe(bytes: 8192)], direction: .destinationToSource)) { error in
            XCTAssertEqual(error as? StreamError, .wrongDirection(.throughputProbe, .destinationToSource))
        }
        XCTAssertThrowsError(try encode([.probeResult(receivedBytes: 0, receiveMicroseconds: 0), .readyToUnpause], direction: .destinationToSource))
        // An abort may still end a probe.
        XCTAssertNoThrow(try encode([.throughputProbe(bytes: 8192), .abort(reason: "stop")]))
    }

    func testAProbesBatchesAreCheckedAgainstItsSize() {
        // Page 2 is past a probe of two pages, as a page past a guest's memory is.
        var bytes = headerBytes + rawRecord(RecordType.throughputProbe.rawValue, le64(8192))
        bytes += rawRecord(RecordType.pageBatch.rawValue, rawBatchBody(pages: [2]))
        assertDecodeFails(bytes, .pageNumberOutOfRange(.pageBatch, pageNumber: 2, guestPages: 2))
    }

    func testBadSizesAreRefused() {
        for size: UInt64 in [0, 4095, StreamLimits.maxProbeBytes + 4096] {
            XCTAssertThrowsError(try encode([.throughputProbe(bytes: size)])) { error in
                XCTAssertEqual(error as? StreamError, .invalidProbeSize(size))
            }
            assertDecodeFails(headerBytes + rawRecord(RecordType.throughputProbe.rawValue, le64(size)), .invalidProbeSize(size))
        }
        XCTAssertEqual(StreamError.invalidProbeSize(4095).description,
                       "throughputProbe (type 25) record field bytes is 4095; it must be a positive multiple of 4096, at most 1099511627776")
        assertDecodeFails(headerBytes + rawRecord(RecordType.probeResult.rawValue, le64(1)),
                          .recordLengthMismatch(.probeResult, length: 8, expected: 16), direction: .destinationToSource)
    }
}
