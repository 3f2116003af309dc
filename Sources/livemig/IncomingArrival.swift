import Foundation
import MigrationCore
import MigrationStream
import Relocation

/// What passes between `livemig receive` and the daemon it starts for one incoming migration
/// (`livemig guest daemon --incoming`), besides the connection on fd 3:
///
/// - the *arrival pipe* on fd 4 (`--arrival-pipe`): the daemon writes one byte and closes it
///   once its guest runs (`runningByte`), or once its connection ended before any guest came:
///   a guest query or a throughput probe answered, or a stream refused before its guest layout
///   (`answeredByte`); the pipe also ends when the daemon exits. Until then the receiver
///   counts the migration against its limits (see `IncomingMigrationTable`);
/// - the handshake timeout (`--handshake-timeout S`): the daemon waits at most that long for the
///   stream header before it reads anything, and gives up otherwise.
enum IncomingArrival {
    static let connectionDescriptor: Int32 = 3
    static let pipeDescriptor: Int32 = 4
    /// The byte that says "the guest runs".
    static let runningByte: UInt8 = 0x52  // "R"
    /// The byte that says "no guest came on this connection" (a query, a probe, an early refusal).
    static let answeredByte: UInt8 = 0x41  // "A"

    /// Waits up to `timeoutText` seconds for the stream header on the handed-over connection.
    static func waitForStreamHeader(timeoutText: String) throws(HostFailure) {
        let seconds: Double
        switch ConfigurationValue.seconds(timeoutText, in: RelocationServerConfiguration.handshakeTimeoutRange) {
        case .success(let value): seconds = value
        case .failure(let problem): throw HostFailure("--handshake-timeout: \(problem.description)")
        }
        let headerBytes = StreamHeader.sizeBytes
        switch StreamStartWait.waitForBytes(headerBytes, on: connectionDescriptor, timeoutSeconds: seconds) {
        case .ready:
            return
        case .closed(let received):
            throw HostFailure("the migration source closed the connection before its stream header (\(received) of \(headerBytes) bytes)")
        case .timedOut(let received):
            throw HostFailure("no stream header from the migration source within \(timeoutText) s (\(received) of \(headerBytes) bytes came; --handshake-timeout)")
        case .failed(let reason):
            throw HostFailure("waiting for the stream header: \(reason)")
        }
    }

    /// Tells the receiver that the guest runs, and closes the pipe.
    static func reportRunning() { report(runningByte) }

    /// Tells the receiver that no guest came on the connection, and closes the pipe.
    static func reportAnswered() { report(answeredByte) }

    private static func report(_ value: UInt8) {
        var byte = value
        _ = write(pipeDescriptor, &byte, 1)
        close(pipeDescriptor)
    }
}
