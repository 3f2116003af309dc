import Foundation
import MigrationCore
import MigrationExecutor
import XCTest

/// TLSRelay over loopback with real TLS (no Xen needed): code that only has a plain descriptor
/// (libxenguest) talks through the relay's plain end; the relay carries it over TLS, at a
/// capped rate when asked, and ends when either side closes or nothing moves for too long.
final class TLSRelayTests: XCTestCase {
    /// Writes `bytes` to `socket` on a thread of its own.
    private func send(_ bytes: [UInt8], to socket: BlockingSocket) -> Pending<Void> { Pending { try socket.write(bytes) } }

    /// Reads exactly `count` bytes.
    private func receive(_ count: Int, from socket: BlockingSocket) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let read = try bytes.withUnsafeMutableBytes { try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            guard read > 0 else { throw HostFailure("the stream ended after \(filled) of \(count) bytes") }
            filled += read
        }
        return bytes
    }

    private func readsEndOfStream(_ socket: BlockingSocket) throws -> Bool {
        socket.setReceiveTimeout(seconds: 30)
        var byte: UInt8 = 0
        return try withUnsafeMutableBytes(of: &byte) { try socket.read(into: $0) } == 0
    }

    func testTwoRelaysCarryDataBothWaysAndEndWhenOnePlainEndCloses() throws {
        let (client, server) = try TLSLoopback.pair()
        let sending = try TLSRelay(socket: client, idleTimeoutSeconds: 30)
        let receiving = try TLSRelay(socket: server, idleTimeoutSeconds: 30)
        let stream = patternBytes(16 << 20, seed: 5)
        let writer = send(stream, to: sending.plainEnd)
        XCTAssertTrue(try receive(stream.count, from: receiving.plainEnd) == stream, "16 MiB arrived intact")
        try writer.value()
        let answer = patternBytes(1 << 20, seed: 6)
        let answering = send(answer, to: receiving.plainEnd)
        XCTAssertTrue(try receive(answer.count, from: sending.plainEnd) == answer, "1 MiB came back intact")
        try answering.value()

        sending.plainEnd.close()
        XCTAssertEqual(try sending.waitUntilFinished(timeoutSeconds: 30), .plainEndClosed)
        XCTAssertEqual(try receiving.waitUntilFinished(timeoutSeconds: 30), .peerClosed, "the close went over as close_notify")
        XCTAssertTrue(try readsEndOfStream(receiving.plainEnd))
        XCTAssertEqual(sending.bytesSentToPeer, stream.count)
        XCTAssertEqual(sending.bytesReceivedFromPeer, answer.count)
        XCTAssertEqual(receiving.bytesReceivedFromPeer, stream.count)
    }

    func testThePeerClosingEndsTheRelayAndThePlainEndSeesTheEnd() throws {
        let (client, server) = try TLSLoopback.pair()
        let relay = try TLSRelay(socket: client, idleTimeoutSeconds: 30)
        try server.write(Array("last words".utf8))
        server.close()
        XCTAssertEqual(try receive(10, from: relay.plainEnd), Array("last words".utf8), "what came before the close is delivered")
        XCTAssertTrue(try readsEndOfStream(relay.plainEnd))
        XCTAssertEqual(try relay.waitUntilFinished(timeoutSeconds: 30), .peerClosed)
    }

    func testTheRateCapHoldsTheStreamToItsRate() throws {
        let (client, server) = try TLSLoopback.pair()
        let rate = 2.0 * 1_048_576
        let relay = try TLSRelay(socket: client, rateCapBytesPerSecond: rate, idleTimeoutSeconds: 30)
        let stream = patternBytes(3 << 20, seed: 7)
        let started = monotonicSeconds()
        let writer = send(stream, to: relay.plainEnd)
        XCTAssertTrue(try receive(stream.count, from: server) == stream)
        let seconds = monotonicSeconds() - started
        try writer.value()
        // The first burst (rate / 20) may go at once; the rest cannot go faster than the rate.
        let fastestSeconds = (Double(stream.count) - rate / 20) / rate
        XCTAssertGreaterThanOrEqual(seconds, fastestSeconds, "3 MiB at 2 MiB/s")
        XCTAssertLessThan(seconds, fastestSeconds * 10, "the cap does not starve the stream")
        relay.plainEnd.close()
        XCTAssertEqual(try relay.waitUntilFinished(timeoutSeconds: 30), .plainEndClosed)
    }

    func testAnIdleRelayEndsAndClosesItsEnd() throws {
        let (client, _server) = try TLSLoopback.pair()
        let relay = try TLSRelay(socket: client, idleTimeoutSeconds: 0.5)
        let started = monotonicSeconds()
        let text = failureText(Result { try relay.waitUntilFinished(timeoutSeconds: 30) })
        XCTAssertGreaterThanOrEqual(monotonicSeconds() - started, 0.5)
        XCTAssertTrue(text?.contains("the relay for 127.0.0.1") == true && text?.contains("was idle for 0.5 s") == true, text ?? "still running")
        XCTAssertTrue(try readsEndOfStream(relay.plainEnd))
        withExtendedLifetime(_server) {}
    }

    func testStopEndsTheRelay() throws {
        let (client, _server) = try TLSLoopback.pair()
        let relay = try TLSRelay(socket: client, idleTimeoutSeconds: 600)
        XCTAssertThrowsError(try relay.waitUntilFinished(timeoutSeconds: 0.2), "still running")
        relay.stop()
        XCTAssertEqual(failureText(Result { try relay.waitUntilFinished(timeoutSeconds: 30) }), "the relay for \(client.peer) was stopped")
        withExtendedLifetime(_server) {}
    }

    func testAPlainConnectionCanBeRelayedForTheRateCapAlone() throws {
        let (port, pending) = try TLSLoopback.serve { socket in socket }
        let client = try TLSLoopback.connect(port)
        let server = try pending.value()
        let relay = try TLSRelay(socket: client, rateCapBytesPerSecond: 1e9, idleTimeoutSeconds: 30)
        let stream = patternBytes(4 << 20, seed: 8)
        let writer = send(stream, to: relay.plainEnd)
        XCTAssertTrue(try receive(stream.count, from: server) == stream)
        try writer.value()
        relay.plainEnd.close()
        XCTAssertEqual(try relay.waitUntilFinished(timeoutSeconds: 30), .plainEndClosed)
        XCTAssertTrue(try readsEndOfStream(server), "the end went over as a shutdown")
    }

    func testBadRatesAndTimeoutsAreRefused() throws {
        let (client, _) = try TLSLoopback.pair()
        for rate in [Double.nan, 0, -1, 1023, .infinity, 1e13] {
            let text = failureText(Result { try TLSRelay(socket: client, rateCapBytesPerSecond: rate, idleTimeoutSeconds: 1) })
            XCTAssertTrue(text?.hasPrefix("relay rate cap \(rate) bytes/s: must be a number from 1024 to") == true, text ?? "accepted \(rate)")
        }
        for idle in [Double.nan, 0, -1, .infinity, 1e9] {
            let text = failureText(Result { try TLSRelay(socket: client, idleTimeoutSeconds: idle) })
            XCTAssertTrue(text?.hasPrefix("relay idle timeout \(idle) s: must be more than 0") == true, text ?? "accepted \(idle)")
        }
    }
}
