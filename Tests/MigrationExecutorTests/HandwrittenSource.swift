import Foundation
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

/// A migration source written by hand over loopback TCP, for tests of what a receiver does
/// with streams the real sender never writes (repeated pages, missing state, silence) and
/// with cancels and timeouts: it writes records one at a time and reads the replies.
final class HandwrittenSource {
    let socket: BlockingSocket
    private var encoder = StreamEncoder(direction: .sourceToDestination)
    private var decoder = StreamDecoder(direction: .destinationToSource)

    /// The destination's nonce for this connection.
    private(set) var nonce: [UInt8] = []

    /// Connects and opens the stream; answers the destination's challenge with `echo` (by
    /// default the nonce it sent, as a real source does; a replay carries another).
    init(port: Int, echo: (([UInt8]) -> [UInt8])? = { $0 }) throws {
        socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: port))
        var header: [UInt8] = []
        encoder.appendHeader(into: &header)
        try socket.write(header)
        guard case .challenge(let nonce)? = reply() else { throw HostFailure("no challenge from the destination") }
        self.nonce = nonce
        if let echo { try send(.challengeEcho(nonce: echo(nonce))) }
    }

    func send(_ record: StreamRecord) throws {
        var bytes: [UInt8] = []
        try encoder.append(record, into: &bytes)
        try socket.write(bytes)
    }

    /// Several records in one write.
    func send(_ records: [StreamRecord]) throws {
        var bytes: [UInt8] = []
        for record in records { try encoder.append(record, into: &bytes) }
        try socket.write(bytes)
    }

    /// A batch of `pages`, each filled with its own page number.
    func sendPages(_ pages: [UInt64], pageSizeBytes: Int = 4096) throws {
        var data: [UInt8] = []
        for page in pages { data += [UInt8](repeating: UInt8(truncatingIfNeeded: page), count: pageSizeBytes) }
        try send(.pageBatch(PageBatch(pageNumbers: pages, data: data)))
    }

    /// The destination's next reply, waiting at most `seconds`; nil if it closed or said nothing.
    func reply(within seconds: Double = 10) -> StreamRecord? {
        socket.setReceiveTimeout(seconds: seconds)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let record = try? decoder.nextRecordView() { return record.record }
            let count = chunk.withUnsafeMutableBytes { (try? socket.read(into: $0)) ?? 0 }
            guard count > 0 else { return nil }
            decoder.feed(chunk[0 ..< count])
        }
    }
}

/// A receiver on a thread, over plain memory: what it threw or produced, and the guest.
final class ReceiverUnderTest: @unchecked Sendable {
    let listener: ListeningSocket
    let cancellation = MigrationCancellation()
    let guest: InMemoryMigrationTests.PlainMemory
    private(set) var error: String?
    private(set) var received: ReceivedMigration?
    private let done = DispatchSemaphore(value: 0)

    init(pages: Int, timeouts: ReceiverTimeouts = ReceiverTimeouts()) throws {
        listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        guest = InMemoryMigrationTests.PlainMemory(pages: pages)
        Thread { [self] in
            do {
                received = try MigrationReceiver.receive(on: try listener.accept(), timeouts: timeouts,
                                                         cancellation: cancellation) { [guest] _ throws(HostFailure) in guest }
            } catch {
                self.error = (error as? HostFailure)?.description ?? "\(error)"
            }
            done.signal()
        }.start()
    }

    /// Waits for the receive to end (generously: the machines are shared); fails the test if it does not.
    func finish(within seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(done.wait(timeout: .now() + seconds), .success, "the receiver did not finish", file: file, line: line)
    }
}
