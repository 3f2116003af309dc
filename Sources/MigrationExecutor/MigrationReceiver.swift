import MigrationCore
import MigrationStream

/// What a completed receive produced.
public struct ReceivedMigration {
    public var guest: any IncomingGuest
    public var layout: GuestLayout
    public var pagesReceived: Int
    public var bytesReceived: Int
    /// Monotonic times: end of stream received, and the guest running.
    public var endOfStreamSeconds: Double
    public var runningSeconds: Double
    /// Wall-clock time the guest started running here (comparable with the source's pause time).
    public var runningWallClockSeconds: Double
    /// The source sent a memory digest and the memory here matched it before "ready".
    public var memoryVerified = false
    /// Post-copy cut short after the guest ran here: why. The guest is held paused, lacking pages
    /// it may never get; it must be kept (never destroyed: the source's copy is stale) and never
    /// resumed as it is (docs/postcopy.md). Nil for a guest that arrived whole.
    public var postcopyInterruption: String?
    /// What keeps the held guest's missing pages trapped (closing it would make them read as
    /// zero): to be kept as long as the guest.
    public var missingPageTrap: AnyObject?
}

/// What one incoming connection turned out to be.
public enum IncomingOutcome {
    /// A migration: the guest runs here now.
    case migration(ReceivedMigration)
    /// A question about a guest (`livemig guest resume` on a source), answered.
    case answeredQuery(name: String, presence: GuestPresence)
    /// A throughput probe (`livemig calibrate --destination`), answered: the page data that
    /// came and the seconds it took here.
    case answeredProbe(bytes: Int, seconds: Double)
}

/// The destination's side of one migration over one connection. `DestinationMigration` (the
/// engine core) decides; `ReceiveSession` feeds it what arrives and performs every action it
/// returns: create the guest, read page data into it, load vCPU and device state, report
/// ready, unpause, report running, destroy, report the abort. The guest runs only when the
/// source clears it, and any failure before that throws the partial guest away.
/// Reading a saved guest from a file (`livemig restore`) is the same without the handshake.
public enum MigrationReceiver {
    /// How long the receiver waits, once the guest runs, for its first console line (the
    /// built-in guests print a heartbeat every 100 ms).
    public static let firstConsoleLineWaitSeconds = 1.0

    public static func receive(
        on socket: BlockingSocket,
        timeouts: ReceiverTimeouts = ReceiverTimeouts(),
        cancellation: MigrationCancellation = MigrationCancellation(),
        secureDataStream: ((BlockingSocket) throws(HostFailure) -> Void)? = nil,
        makeGuest: @escaping (GuestLayout) throws(HostFailure) -> any IncomingGuest,
        beforeRun: ((any IncomingGuest) -> Void)? = nil
    ) throws(HostFailure) -> ReceivedMigration {
        let outcome = try serve(on: socket, timeouts: timeouts, cancellation: cancellation, secureDataStream: secureDataStream,
                                makeGuest: makeGuest, answerQuery: nil, beforeRun: beforeRun)
        guard case .migration(let received) = outcome else { throw HostFailure("a guest query where a migration was expected") }
        return received
    }

    /// Serves one connection: a migration, or (with `answerQuery`) a question about a guest
    /// (its name, and the nonce of the migration the asker wants to know about). Over a socket
    /// the receiver first sends a fresh nonce (`challenge`) and refuses a stream that does not
    /// echo it before anything else, so a recorded stream cannot be replayed. `onCommit` hears
    /// that nonce at the point of no return, before the guest runs: where the host records that
    /// this migration committed here, for a later question. `secureDataStream` is the main
    /// connection's TLS check, which each data stream of a parallel migration must pass too.
    public static func serve(
        on socket: BlockingSocket,
        timeouts: ReceiverTimeouts = ReceiverTimeouts(),
        cancellation: MigrationCancellation = MigrationCancellation(),
        secureDataStream: ((BlockingSocket) throws(HostFailure) -> Void)? = nil,
        makeGuest: @escaping (GuestLayout) throws(HostFailure) -> any IncomingGuest,
        answerQuery: ((_ name: String, _ migrationNonce: [UInt8]) -> GuestPresence)?,
        onCommit: ((_ migrationNonce: [UInt8]) throws(HostFailure) -> Void)? = nil,
        onRollback: ((_ migrationNonce: [UInt8]) -> Void)? = nil,
        beforeRun: ((any IncomingGuest) -> Void)? = nil
    ) throws(HostFailure) -> IncomingOutcome {
        let fault = socket.isSocket ? try ReceiverFaultInjection.fromEnvironment() : nil
        var session = ReceiveSession(socket: socket, timeouts: socket.isSocket ? timeouts : .none,
                                     cancellation: cancellation, fault: fault, makeGuest: makeGuest, beforeRun: beforeRun)
        session.onCommit = onCommit
        session.onRollback = onRollback
        session.secureDataStream = secureDataStream
        defer { cancellation.detach() }
        if socket.isSocket, let outcome = try session.openChallenge(answerQuery: answerQuery) { return outcome }
        return .migration(try session.run())
    }
}
