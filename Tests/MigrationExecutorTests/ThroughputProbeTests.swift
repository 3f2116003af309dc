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

        init(timeouts: ReceiverTimeouts = ReceiverTimeouts()) throws {
            listener = try ListeningSocket(host: "127.0.0.1", port: 0)
            Thread { [self] in
                do {
                    let connection = try listener.accept()
                    defer { connection.close() }
                    outcome = try MigrationReceiver.serve(on: connection, timeouts: timeouts, makeGuest: { [self] layout throws(HostFailure) in
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

        /// Waits for the serve to end (up to `seconds`); true if it did.
        @discardableResult
        func finish(within seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line) -> Bool {
            let ended = done.wait(timeout: .now() + seconds) == .success
            XCTAssertTrue(ended, "the receiver did not finish", file: file, line: line)
            return ended
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

    /// A low cap cuts the batches, so that a short probe holds several whole paced intervals
    /// instead of one 4 MiB batch that alone would take 2 s at 2 MB/s.
    func testALowCapCutsTheBatches() throws {
        let receiver = try ProbeReceiver()
        let path = try ThroughputProbe.measure(receiver.endpoint, seconds: 0.5, rateLimitBytesPerSecond: 2e6)
        receiver.finish()
        XCTAssertLessThan(path.seconds, 1, "\(path)")
        XCTAssertLessThan(path.wireBytes, 1_500_000, "about a second's worth at most: \(path)")
        XCTAssertEqual(try XCTUnwrap(path.capEfficiency), 1, accuracy: 0.2)
    }

    func testBadInputsAreRefusedBeforeConnecting() {
        let nowhere = Endpoint(host: "127.0.0.1", port: 9)
        for seconds in [0, 0.05, 20.5, 30, .nan, .infinity] {
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

    /// A peer that announces a batch and trickles its data a byte at a time, each well within
    /// the per-read timeouts, is cut off at the probe's deadline, not after the whole batch.
    func testATricklingProbeIsCutOffAtItsDeadline() throws {
        let receiver = try ProbeReceiver(timeouts: ReceiverTimeouts(handshakeSeconds: 1, probeSeconds: 1))
        let socket = try BlockingSocket.connect(to: receiver.endpoint)
        defer { socket.close() }
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var reader = StreamDecoder(direction: .destinationToSource)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try socket.write(bytes)
        // The challenge, read by hand.
        var nonce: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while nonce.isEmpty {
            let count = try chunk.withUnsafeMutableBytes { try socket.read(into: $0) }
            XCTAssertGreaterThan(count, 0)
            reader.feed(chunk[0 ..< count])
            if case .record(.challenge(let sent))? = try reader.nextRecordView() { nonce = sent }
        }
        bytes = []
        try encoder.append(.challengeEcho(nonce: nonce), into: &bytes)
        try encoder.append(.throughputProbe(bytes: 1 << 20), into: &bytes)
        _ = try encoder.appendPageBatchHeader(pageNumbers: (0 ..< 256).map { UInt64($0) }, into: &bytes)
        try socket.write(bytes)
        let start = Date()
        // A byte every 0.2 s: the 1 MiB batch would take days at this pace.
        for _ in 0 ..< 50 {
            if (try? socket.write([0x5A])) == nil { break }
            if Date().timeIntervalSince(start) > 5 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(receiver.finish(within: 30))
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 4, "cut off at 1 s + 1 s of handshake, not after the batch")
        XCTAssertTrue(receiver.error?.contains("did not end within its deadline") ?? false, receiver.error ?? "no error")
        XCTAssertNil(receiver.outcome)
    }

    /// More data than the probe announced is refused: two pages announced, the same two sent
    /// twice.
    func testMoreThanAnnouncedIsRefused() throws {
        let receiver = try ProbeReceiver()
        let socket = try BlockingSocket.connect(to: receiver.endpoint)
        defer { socket.close() }
        let page = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { page.deallocate() }
        page.initializeMemory(as: UInt8.self, repeating: 0x5A)
        let address = UnsafeRawPointer(page.baseAddress!)
        var channel = try StreamChannel(socket: socket, opening: .throughputProbe(bytes: 8192)) { _ in address }
        _ = try channel.sendPages([0, 1], pageCount: 2, wireBytes: 8224)
        // The second batch may or may not be written before the receiver hangs up.
        _ = try? channel.sendPages([0, 1], pageCount: 2, wireBytes: 8224)
        XCTAssertTrue(receiver.finish(within: 30))
        XCTAssertTrue(receiver.error?.contains("more than the 8192 bytes it announced") ?? false, receiver.error ?? "no error")
        XCTAssertNil(receiver.outcome)
    }

    /// Under TLS one read gathers a whole record, so a peer trickling the raw bytes of a record
    /// would hold a read past the deadline: the watchdog shuts the connection at the deadline.
    func testATricklingProbeOverTLSIsCutOffAtItsDeadline() throws {
        let files = try TLSTestCertificates.files()
        let (port, pending) = try TLSLoopback.serve { socket -> String in
            _ = try socket.startTLS(files.configuration("hostb"), role: TLSRole.server, handshakeTimeoutSeconds: 10)
            do {
                _ = try MigrationReceiver.serve(on: socket, timeouts: ReceiverTimeouts(handshakeSeconds: 1, probeSeconds: 1),
                                                makeGuest: { _ throws(HostFailure) in throw HostFailure("no guest for a probe") },
                                                answerQuery: nil)
                return "served"
            } catch {
                return "\(error)"
            }
        }
        let socket = try TLSLoopback.connect(port)
        defer { socket.close() }
        _ = try socket.startTLS(files.configuration("hosta"), role: TLSRole.client, expectedPeerName: "127.0.0.1", handshakeTimeoutSeconds: 10)
        var channel = try StreamChannel(socket: socket, opening: .throughputProbe(bytes: 1 << 20)) { _ in UnsafeRawPointer(bitPattern: 0x1000)! }
        _ = channel
        // A TLS record header announcing 16 KiB of application data, then its bytes one at a
        // time, raw on the socket: the receiver's TLS read waits for the whole record.
        let start = Date()
        for byte: UInt8 in [0x17, 0x03, 0x03, 0x40, 0x00] + [UInt8](repeating: 0x5A, count: 40) {
            var value = byte
            if send(socket.fd, &value, 1, Int32(MSG_NOSIGNAL)) != 1 { break }
            if Date().timeIntervalSince(start) > 6 { break }
            Thread.sleep(forTimeInterval: 0.15)
        }
        let outcome = try pending.value(within: 30)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "cut off at 1 s + 1 s of handshake: \(outcome)")
        XCTAssertTrue(outcome.contains("did not end within its deadline"), outcome)
    }
}
