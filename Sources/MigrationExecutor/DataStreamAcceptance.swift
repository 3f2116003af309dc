import Glibc
import MigrationCore
import MigrationStream

/// The destination's side of `parallelStreams` and of `returnPath`: opens a port for this
/// migration's extra connections on the address the main connection came in on, names it to the
/// source (`streamsListening`), and takes `count` data streams (or the one return path) on it
/// within the handshake timeout, then closes it.
///
/// Nothing is trusted before the join: a connection must come from the main connection's peer
/// address, pass the same TLS check as the main connection (when it is TLS), echo its own fresh
/// challenge, and then name the main connection's nonce (which only the main connection's
/// peer has seen) and an index not yet taken. One that does not is refused and closed; the
/// migration waits on for the real ones until the deadline.
enum DataStreamAcceptance {
    struct Joining {
        let count: Int
        let migrationNonce: [UInt8]
        let main: BlockingSocket
        let layout: GuestLayout
        let guest: any IncomingGuest
        let timeouts: ReceiverTimeouts
        /// The main connection's TLS check, run on each data connection (nil: plain connections).
        let secure: ((BlockingSocket) throws(HostFailure) -> Void)?
        let group: DataStreamGroup
    }

    /// Opens the port and says it on the main connection; returns the listener.
    static func listen(_ joining: Joining, replies: inout ReplyWriter) throws(HostFailure) -> ListeningSocket {
        try listen(main: joining.main, secure: joining.secure, replies: &replies)
    }

    private static func listen(main: BlockingSocket, secure: ((BlockingSocket) throws(HostFailure) -> Void)?,
                               replies: inout ReplyWriter) throws(HostFailure) -> ListeningSocket {
        if main.isTLS, secure == nil {
            throw HostFailure("extra connections over TLS need this receiver's TLS settings for them")
        }
        guard let local = SocketAddress.local(of: main.fd) else { throw HostFailure("the main connection's own address is unknown") }
        let listener = try ListeningSocket(host: local, port: 0)
        _ = fcntl(listener.fd, F_SETFL, fcntl(listener.fd, F_GETFL) | O_NONBLOCK)
        guard let port = UInt16(exactly: listener.port), port > 0 else { throw HostFailure("the data streams' port \(listener.port) is not a TCP port") }
        try replies.send(.streamsListening(port: port))
        return listener
    }

    /// Takes the data streams, each on its own thread from its join on; throws when the
    /// deadline passes before all have joined (the ones that did are stopped with the group).
    static func accept(_ joining: Joining, on listener: ListeningSocket) throws(HostFailure) {
        var taken = Set<Int>()
        try acceptJoins(count: joining.count, what: "data streams", on: listener, main: joining.main,
                        handshakeSeconds: joining.timeouts.handshakeSeconds) { (connection, deadline) throws(HostFailure) in
            let stream = try join(connection, joining, deadline: deadline, taken: taken)
            taken.insert(stream.index)
            joining.group.add(connection)
            DataStreamReceiver.start(stream)
        }
    }

    /// The return path of a post-copy migration (`returnPath`): opens the port, names it, and
    /// takes the one connection that joins it (`joinReturnPath` with the main connection's nonce)
    /// within the handshake timeout. Its destination-to-source direction is what is returned: the
    /// page requests go there, and nothing more comes from the source on it.
    static func acceptReturnPath(main: BlockingSocket, migrationNonce: [UInt8], secure: ((BlockingSocket) throws(HostFailure) -> Void)?,
                                 timeouts: ReceiverTimeouts, replies: inout ReplyWriter) throws(HostFailure) -> ReplyWriter {
        let listener = try listen(main: main, secure: secure, replies: &replies)
        var joined: ReplyWriter?
        try acceptJoins(count: 1, what: "return paths", on: listener, main: main,
                        handshakeSeconds: timeouts.handshakeSeconds) { (connection, deadline) throws(HostFailure) in
            var (reader, replies) = try authenticate(connection, secure: secure, idleSeconds: timeouts.idleSeconds, deadline: deadline)
            guard case .record(.joinReturnPath(let named)) = try reader.nextItem() else {
                throw refuse("a connection to a migration's return path port must join it first", replies: &replies)
            }
            guard named == migrationNonce else { throw refuse("joinReturnPath names no migration under way here", replies: &replies) }
            joined = replies
        }
        guard let joined else { throw HostFailure("no return path joined") }
        return joined
    }

    /// Takes connections from the main connection's peer address until `join` has accepted
    /// `count` of them (each gets the overall deadline); a connection `join` refuses is closed
    /// and the wait goes on, until the handshake timeout.
    private static func acceptJoins(count: Int, what: String, on listener: ListeningSocket, main: BlockingSocket, handshakeSeconds: Double,
                                    join: (BlockingSocket, Double) throws(HostFailure) -> Void) throws(HostFailure) {
        let deadline = monotonicSeconds() + handshakeSeconds
        let peer = SocketAddress.peer(of: main.fd)
        var joined = 0
        var lastRefusal = ""
        while joined < count {
            let remaining = deadline - monotonicSeconds()
            var watched = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
            let ready = remaining > 0 ? poll(&watched, 1, Int32(min(remaining * 1000, 60_000).rounded(.up))) : 0
            if ready < 0, errno == EINTR { continue }
            guard remaining > 0, ready >= 0 else {
                throw HostFailure("\(joined) of \(count) \(what) joined within \(handshakeSeconds) s (the receiver's handshake timeout)\(lastRefusal.isEmpty ? "" : "; the last refused: \(lastRefusal)")")
            }
            if ready == 0 { continue }
            // Non-blocking: a connection reset between the poll and the accept leaves nothing to
            // take, and the wait goes on.
            guard let connection = try? listener.accept() else { continue }
            guard SocketAddress.peer(of: connection.fd) == peer else {
                lastRefusal = "\(connection.peer) is not the main connection's peer"
                connection.close()
                continue
            }
            do throws(HostFailure) {
                try join(connection, deadline)
                joined += 1
            } catch {
                lastRefusal = "\(connection.peer): \(error.description)"
                connection.close()
            }
        }
    }

    /// The longest one connection's join (after its TLS handshake) may take, so that a silent
    /// connection from the same address cannot hold the port until the deadline.
    static let joinSeconds = 5.0

    /// The first steps of every extra connection: TLS (as the main connection), a fresh
    /// challenge, its echo; the reader is left before the join record, bounded by the join's deadline.
    private static func authenticate(_ connection: BlockingSocket, secure: ((BlockingSocket) throws(HostFailure) -> Void)?,
                                     idleSeconds: Double, deadline overall: Double) throws(HostFailure) -> (StreamReader, ReplyWriter) {
        try secure?(connection)
        connection.setSendTimeout(seconds: idleSeconds)
        var replies = ReplyWriter(socket: connection)
        var reader = StreamReader(socket: connection, direction: .sourceToDestination)
        reader.deadline = min(overall, monotonicSeconds() + joinSeconds)
        var random = SystemRandomNumberGenerator()
        let nonce = (0 ..< StreamLimits.challengeNonceBytes).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        try replies.send(.challenge(nonce: nonce))
        guard case .record(.challengeEcho(let echoed)) = try reader.nextItem(), echoed == nonce else {
            throw refuse("the stream did not answer this connection's challenge first (a replayed or foreign stream)", replies: &replies)
        }
        return (reader, replies)
    }

    /// Says `reason` to the peer (best effort) and returns it as the failure.
    private static func refuse(_ reason: String, replies: inout ReplyWriter) -> HostFailure {
        try? replies.send(.abort(reason: reason))
        return HostFailure(reason)
    }

    /// The join of one data stream: `authenticate`, then joinStream with a free index.
    private static func join(_ connection: BlockingSocket, _ joining: Joining, deadline overall: Double,
                             taken: Set<Int>) throws(HostFailure) -> DataStreamReceiver {
        var (reader, replies) = try authenticate(connection, secure: joining.secure, idleSeconds: joining.timeouts.idleSeconds, deadline: overall)
        guard case .record(.joinStream(let migrationNonce, let index)) = try reader.nextItem() else {
            throw refuse("a connection to a migration's data stream port must join it first", replies: &replies)
        }
        guard migrationNonce == joining.migrationNonce else { throw refuse("joinStream names no migration under way here", replies: &replies) }
        guard let slot = Int(exactly: index), slot < joining.count, !taken.contains(slot) else {
            throw refuse("joinStream index \(index): this migration has \(joining.count) data streams (0 to \(joining.count - 1)), each joined once",
                         replies: &replies)
        }
        reader.deadline = nil
        reader.adoptLayout(joining.layout)
        connection.setReceiveTimeout(seconds: joining.timeouts.idleSeconds)
        return DataStreamReceiver(index: slot, reader: reader, replies: replies, group: joining.group, guest: joining.guest,
                                  pageSizeBytes: Int(joining.layout.pageSizeBytes), idleSeconds: joining.timeouts.idleSeconds)
    }
}
