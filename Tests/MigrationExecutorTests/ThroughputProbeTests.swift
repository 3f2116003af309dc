/// The throughput probe over loopback against the real receiver: the destination counts every
/// byte and answers, makes no guest, a probe paced at a cap achieves about the cap, and bad
/// inputs are refused before anything connects.
import Foundation
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

final class ThroughputProbeTests: XCTestCase {
    /// A receiver on a thread answering one connection; what it served, or its error.
    private final class ProbeReceiver: @unchecked Sendable {
        let listener: ListeningSocket
        private(set) var outcome: IncomingOutcome?
        private(set) var error: String?
        private(set) var guestsMade = 0
        private let done = DispatchSemaphore(value: 0)

        init() throws {
            listener = try ListeningSocket(host: "127.0.0.1", port: 0)
            Thread { [self] in
                do {
                    let connection = try listener.accept()
                    defer { connection.close() }
                    outcome = try MigrationReceiver.serve(on: connection, makeGuest: { [self] layout throws(HostFailure) in
                        guestsMade += 1
                        throw HostFailure("no guest may be made for a probe (\(layout.name))")
                    }, answerQuery: nil)
                } catch {
                    self.error = (error as? HostFailure)?.description ?? "\(error)"
                }
                done.signal()
            }.start()
        }

        var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: listener.port) }

        func finish(file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "the receiver did not finish", file: file, line: line)
        }
    }

    func testAnUncappedProbeIsCountedWholeByTheDestination() throws {
        let receiver = try ProbeReceiver()
        let path = try ThroughputProbe.measure(receiver.endpoint, seconds: 0.3, rateLimitBytesPerSecond: nil)
        receiver.finish()
        XCTAssertNil(receiver.error)
        XCTAssertEqual(receiver.guestsMade, 0)
        guard case .answeredProbe(let bytes, let seconds)? = receiver.outcome else {
            return XCTFail("the receiver served \(String(describing: receiver.outcome)), not a probe")
        }
        // The destination's bytes are the batches' page data; the source counts them with headers.
        let pages = bytes / 4096
        XCTAssertGreaterThan(pages, 0)
        XCTAssertEqual(path.wireBytes, pages * (4096 + 8) + pages / 1024 * 16)
        XCTAssertEqual(path.seconds, seconds, accuracy: 1e-6)
        XCTAssertGreaterThan(path.bytesPerSecond, 0)
        XCTAssertNil(path.capEfficiency)
        XCTAssertEqual(path.destination, receiver.endpoint.description)
        if let roundTrip = path.roundTripSeconds { XCTAssertLessThan(roundTrip, 0.1, "a loopback round trip") }
    }

    func testAProbePacedAtACapAchievesAboutTheCap() throws {
        let receiver = try ProbeReceiver()
        let cap = 40e6  // 320 Mbit/s: far under what loopback carries
        let path = try ThroughputProbe.measure(receiver.endpoint, seconds: 0.6, rateLimitBytesPerSecond: cap)
        receiver.finish()
        XCTAssertNil(receiver.error)
        let efficiency = try XCTUnwrap(path.capEfficiency)
        // Under the cap by the scheduler's delays at most, and never over it by more than a
        // clock's grain: the end waits for the last paced interval.
        XCTAssertGreaterThan(efficiency, 0.8)
        XCTAssertLessThan(efficiency, 1.02)
    }

    func testBadInputsAreRefusedBeforeConnecting() {
        let nowhere = Endpoint(host: "127.0.0.1", port: 9)
        for seconds in [0, 0.05, 31, .nan, .infinity] {
            XCTAssertThrowsError(try ThroughputProbe.measure(nowhere, seconds: seconds, rateLimitBytesPerSecond: nil)) { error in
                XCTAssertTrue("\(error)".contains("probe seconds"), "\(error)")
            }
        }
        for rate in [0, -1, .nan, .infinity] {
            XCTAssertThrowsError(try ThroughputProbe.measure(nowhere, seconds: 1, rateLimitBytesPerSecond: rate)) { error in
                XCTAssertTrue("\(error)".contains("probe rate limit"), "\(error)")
            }
        }
    }

    func testAReceiverThatIsNotThereIsNamed() throws {
        // A port with no listener: bound, then closed.
        let port = try ListeningSocket(host: "127.0.0.1", port: 0).port
        XCTAssertThrowsError(try ThroughputProbe.measure(Endpoint(host: "127.0.0.1", port: port), seconds: 0.2, rateLimitBytesPerSecond: nil)) { error in
            XCTAssertTrue("\(error)".contains("cannot connect"), "\(error)")
        }
    }
}
