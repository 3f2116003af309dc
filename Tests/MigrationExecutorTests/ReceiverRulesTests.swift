import Foundation
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

/// The receiver obeys the destination state machine over a real socket: it refuses a stream
/// that is not a whole guest, times out silent sources in each phase, and can be cancelled
/// until, and only until, it commits. In every refused case the guest never ran, was thrown
/// away, and the source was told why.
final class ReceiverRulesTests: XCTestCase {
    private let pages = 64
    private var layout: GuestLayout {
        GuestLayout(name: "handmade", memoryBytes: UInt64(pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
    }

    private func assertRefused(_ receiver: ReceiverUnderTest, source: HandwrittenSource, saying expected: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        receiver.finish(file: file, line: line)
        XCTAssertFalse(receiver.guest.ran, "the guest ran", file: file, line: line)
        XCTAssertTrue(receiver.guest.discarded, "the partial guest was kept", file: file, line: line)
        XCTAssertTrue(receiver.error?.contains(expected) == true, "receiver: \(receiver.error ?? "no error")", file: file, line: line)
        guard case .abort(let reason)? = source.reply() else { return XCTFail("the source was not told", file: file, line: line) }
        XCTAssertTrue(reason.contains(expected), "abort reason: \(reason)", file: file, line: line)
    }

    /// Every page once, the vCPU's state and an empty device state, then endOfStream.
    private func sendWholeGuest(_ source: HandwrittenSource) throws {
        try source.send(.guestLayout(layout))
        try sendWholeGuestData(source)
    }

    /// After the layout: every page once, the vCPU's state, an empty device state, endOfStream.
    private func sendWholeGuestData(_ source: HandwrittenSource) throws {
        try source.sendPages((0 ..< 64).map { $0 })
        try source.send(.vcpuState(VcpuState(vcpuId: 0, blob: [7])))
        try source.send(.deviceState([]))
        try source.send(.endOfStream)
    }

    func testRepeatedPagesInsteadOfAllPagesAreRefused() throws {
        let receiver = try ReceiverUnderTest(pages: pages)
        let source = try HandwrittenSource(port: receiver.listener.port)
        try source.send(.guestLayout(layout))
        for _ in 0 ..< 4 { try source.sendPages((0 ..< 48).map { $0 }) }  // 192 pages sent, 16 never
        try source.send(.vcpuState(VcpuState(vcpuId: 0, blob: [1])))
        try source.send(.deviceState([]))
        try source.send(.endOfStream)
        assertRefused(receiver, source: source, saying: "16 of 64 never came, the first is page 48")
    }

    func testAStreamWithoutDeviceStateIsRefused() throws {
        let receiver = try ReceiverUnderTest(pages: pages)
        let source = try HandwrittenSource(port: receiver.listener.port)
        try source.send(.guestLayout(layout))
        try source.sendPages((0 ..< 64).map { $0 })
        try source.send(.vcpuState(VcpuState(vcpuId: 0, blob: [1])))
        try source.send(.endOfStream)
        assertRefused(receiver, source: source, saying: "before the device state arrived")
    }

    func testAWholeGuestArrivesAndRunsOnlyWhenCleared() throws {
        let receiver = try ReceiverUnderTest(pages: pages)
        let source = try HandwrittenSource(port: receiver.listener.port)
        try source.send(.guestLayout(layout))
        try source.sendPages((0 ..< 64).map { $0 })
        try source.sendPages([5])
        try source.send(.vcpuState(VcpuState(vcpuId: 0, blob: [7])))
        try source.send(.deviceState([8]))
        try source.send(.endOfStream)
        XCTAssertEqual(source.reply(), .readyToUnpause)
        XCTAssertFalse(receiver.guest.ran, "ran before it was cleared")
        try source.send(.clearedToUnpause)
        guard case .running? = source.reply() else { return XCTFail("no running") }
        receiver.finish()
        XCTAssertTrue(receiver.guest.ran)
        XCTAssertFalse(receiver.guest.discarded)
        XCTAssertEqual(receiver.received?.pagesReceived, 65)
        XCTAssertEqual(receiver.guest.state, [7])
        XCTAssertEqual(receiver.guest.pageAddress(63).load(as: UInt8.self), 63)
        XCTAssertFalse(receiver.cancellation.cancel(reason: "too late"), "a cancel after the commit must be refused")
    }

    /// A drain mark is answered at once with its number, after every page before it was read,
    /// and the migration goes on: the source's wait before its pause.
    func testADrainMarkIsAnsweredAndTheStreamGoesOn() throws {
        let receiver = try ReceiverUnderTest(pages: pages)
        let source = try HandwrittenSource(port: receiver.listener.port)
        try source.send(.guestLayout(layout))
        try source.sendPages((0 ..< 32).map { $0 })
        try source.send(.drainMark(sequence: 1))
        XCTAssertEqual(source.reply(), .drained(sequence: 1))
        try source.sendPages((32 ..< 64).map { $0 })
        try source.send(.drainMark(sequence: 2))
        XCTAssertEqual(source.reply(), .drained(sequence: 2))
        try source.send(.vcpuState(VcpuState(vcpuId: 0, blob: [7])))
        try source.send(.deviceState([]))
        try source.send(.endOfStream)
        XCTAssertEqual(source.reply(), .readyToUnpause)
        try source.send(.clearedToUnpause)
        guard case .running(let report)? = source.reply() else { return XCTFail("no running") }
        receiver.finish()
        XCTAssertTrue(receiver.guest.ran)
        XCTAssertEqual(receiver.guest.pageAddress(40).load(as: UInt8.self), 40)
        // The destination's own timing of its part came with "running": its unpause time by
        // its wall clock (this machine's: within a minute of now) and durations under a second.
        let now = Date().timeIntervalSince1970 * 1e6
        XCTAssertEqual(Double(report.unpauseWallClockMicroseconds), now, accuracy: 60e6)
        for microseconds in [report.stateLoadMicroseconds, report.checkMicroseconds, report.unpauseMicroseconds] {
            XCTAssertLessThan(microseconds, 1_000_000, "\(report)")
        }
    }

    /// Drain marks in a row are answered one by one, up to the 64 one stream may carry beyond
    /// one per page record; the 65th is refused, naming the limit (a source sending marks
    /// without pages would keep the receiver answering), and the partial guest is thrown away.
    func testDrainMarksAreAnsweredUpToTheirLimit() throws {
        let receiver = try ReceiverUnderTest(pages: pages)
        let source = try HandwrittenSource(port: receiver.listener.port)
        try source.send(.guestLayout(layout))
        let limit = UInt64(StreamLimits.maxDrainMarks)
        try source.send((1 ... limit).map { StreamRecord.drainMark(sequence: $0) })
        for sequence in 1 ... limit {
            guard source.reply() == .drained(sequence: sequence) else { return XCTFail("no answer to mark \(sequence)") }
        }
        // The 65th, written by hand: this side's encoder refuses to write it.
        try source.socket.write([7, 0, 0, 0, 8, 0, 0, 0] + withUnsafeBytes(of: (limit + 1).littleEndian, Array.init))
        assertRefused(receiver, source: source, saying: "drainMark (type 7) record is one more than one stream may carry: 64 beyond one per page record before it")
    }

    /// A stream recorded earlier (or made up) carries another nonce than this connection's: it
    /// is refused before the guest layout, and no guest is ever created.
    func testAReplayedStreamIsRefusedBeforeAnyGuestExists() throws {
        let receiver = try ReceiverUnderTest(pages: pages)
        let source = try HandwrittenSource(port: receiver.listener.port, echo: { nonce in nonce.map { $0 ^ 0xFF } })
        try? source.send(.guestLayout(layout))
        receiver.finish()
        XCTAssertTrue(receiver.error?.contains("did not answer this connection's challenge") == true, receiver.error ?? "")
        XCTAssertFalse(receiver.guest.discarded, "no guest was even created")
        guard case .abort(let reason)? = source.reply() else { return XCTFail("the source was not told") }
        XCTAssertTrue(reason.contains("replayed or foreign stream"), reason)

        let unanswered = try ReceiverUnderTest(pages: pages)
        let skipping = try HandwrittenSource(port: unanswered.listener.port, echo: nil)
        try skipping.send(.guestLayout(layout))
        unanswered.finish()
        XCTAssertTrue(unanswered.error?.contains("did not answer this connection's challenge") == true, unanswered.error ?? "")
    }

    func testEachConnectionGetsItsOwnNonce() throws {
        let first = try ReceiverUnderTest(pages: pages), second = try ReceiverUnderTest(pages: pages)
        let (a, b) = (try HandwrittenSource(port: first.listener.port), try HandwrittenSource(port: second.listener.port))
        XCTAssertEqual(a.nonce.count, 16)
        XCTAssertNotEqual(a.nonce, b.nonce)
    }

    func testASilentPeerHitsTheHandshakeTimeout() throws {
        let receiver = try ReceiverUnderTest(pages: pages, timeouts: ReceiverTimeouts(handshakeSeconds: 0.5))
        let silent = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: receiver.listener.port))
        receiver.finish()
        XCTAssertTrue(receiver.error?.contains("sent nothing for 0.5 s (the receiver's handshake timeout)") == true, receiver.error ?? "")
        silent.close()
    }

    /// A peer that trickles its opening a byte at a time, never silent for long, still hits the
    /// handshake timeout: it bounds the whole opening, not each silence.
    func testATricklingPeerHitsTheHandshakeTimeoutInAll() throws {
        let receiver = try ReceiverUnderTest(pages: pages, timeouts: ReceiverTimeouts(handshakeSeconds: 1))
        let source = try HandwrittenSource(port: receiver.listener.port, echo: nil)
        var echo: [UInt8] = []
        var encoder = StreamEncoder(direction: .sourceToDestination)
        encoder.appendHeader(into: &echo)
        echo.removeAll()
        try encoder.append(.challengeEcho(nonce: source.nonce), into: &echo)
        let start = monotonicSeconds()
        for byte in echo {
            guard (try? source.socket.write([byte])) != nil else { break }
            usleep(250_000)  // the stimulus: one byte every quarter second, 6 s in all
        }
        receiver.finish()
        XCTAssertTrue(receiver.error?.contains("(the receiver's handshake timeout)") == true, receiver.error ?? "")
        XCTAssertLessThan(monotonicSeconds() - start, 6, "the trickle was cut short")
    }

    func testASourceThatGoesSilentMidStreamHitsTheIdleTimeout() throws {
        let receiver = try ReceiverUnderTest(pages: pages, timeouts: ReceiverTimeouts(idleSeconds: 0.5))
        let source = try HandwrittenSource(port: receiver.listener.port)
        try source.send(.guestLayout(layout))
        try source.sendPages((0 ..< 10).map { $0 })
        assertRefused(receiver, source: source, saying: "(the receiver's idle timeout)")
    }

    func testASourceThatNeverClearsHitsTheCommitTimeout() throws {
        let receiver = try ReceiverUnderTest(pages: pages, timeouts: ReceiverTimeouts(commitSeconds: 0.5))
        let source = try HandwrittenSource(port: receiver.listener.port)
        try sendWholeGuest(source)
        XCTAssertEqual(source.reply(), .readyToUnpause)
        assertRefused(receiver, source: source, saying: "(the receiver's commit timeout)")
    }

    func testACancelBeforeTheCommitThrowsTheGuestAwayAndTellsTheSource() throws {
        let receiver = try ReceiverUnderTest(pages: pages)
        let source = try HandwrittenSource(port: receiver.listener.port)
        try sendWholeGuest(source)
        XCTAssertEqual(source.reply(), .readyToUnpause)
        XCTAssertTrue(receiver.cancellation.cancel(reason: "guest stop"))
        assertRefused(receiver, source: source, saying: "cancelled on the destination: guest stop")
        // A clear that comes after the cancel finds no guest to run.
        try? source.send(.clearedToUnpause)
        XCTAssertFalse(receiver.guest.ran)
    }
}
