import Glibc
import MigrationCore
import MigrationStream

/// The destination's side of `parallelStreams`: opens a port for this migration's data streams
/// on the address the main connection came in on, names it to the source (`streamsListening`),
/// and takes `count` data streams on it within the handshake timeout, then closes it.
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
        if joining.main.isTLS, joining.secure == nil {
            throw HostFailure("data streams over TLS need this receiver's TLS settings for them")
        }
        guard let local = SocketAddress.local(of: joining.main.fd) else { throw HostFailure("the main connection's own address is unknown") }
        let listener = try ListeningSocket(host: local, port: 0)
        _ = fcntl(listener.fd, F_SETFL, fcntl(listener.fd, F_GETFL) | O_NONBLOCK)
        guard let port = UInt16(exactly: listener.port), port > 0 else { throw HostFailure("the data streams' port \(listener.port) is not a TCP port") }
        try replies.send(.streamsListening(port: port))
        return listener
    }

    /// Takes the data streams, each on its own thread from its join on; throws when the
    /// deadline passes before all have joined (the ones that did are stopped with the group).
    static func accept(_ joining: Joining, on listener: ListeningSocket) throws(HostFailure) {
        let deadline = monotonicSeconds() + joining.timeouts.handshakeSeconds
        let peer = SocketAddress.peer(of: joining.main.fd)
        var taken = Set<Int>()
        var lastRefusal = ""
        while taken.count < joining.count {
            let remaining = deadline - monotonicSeconds()
            var watched = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
            let ready = remaining > 0 ? poll(&watched, 1, Int32(min(remaining * 1000, 60_000).rounded(.up))) : 0
            if ready < 0, errno == EINTR { continue }
            guard remaining > 0, ready >= 0 else {
                throw HostFailure("\(taken.count) of \(joining.count) data streams joined within \(joining.timeouts.handshakeSeconds) s (the receiver's handshake timeout)\(lastRefusal.isEmpty ? "" : "; the last refused: \(lastRefusal)")")
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
                let stream = try join(connection, joining, deadline: deadline, taken: taken)
                taken.insert(stream.index)
                joining.group.add(connection)
                DataStreamReceiver.start(stream)
            } catch {
                lastRefusal = "\(connection.peer): \(error.description)"
                connection.close()
            }
        }
    }

    /// The longest one connection's join (after its TLS handshake) may take, so that a silent
    /// connection from the same address cannot hold the port until the deadline.
    static let joinSeconds = 5.0

    /// The join of one connection: TLS (as the main connection), challenge, echo, joinStream.
    private static func join(_ connection: BlockingSocket, _ joining: Joining, deadline overall: Double,
                             taken: Set<Int>) throws(HostFailure) -> DataStreamReceiver {
        try joining.secure?(connection)
        let deadline = min(overall, monotonicSeconds() + joinSeconds)
        connection.setSendTimeout(seconds: joining.timeouts.idleSeconds)
        var replies = ReplyWriter(socket: connection)
        var reader = StreamReader(socket: connection, direction: .sourceToDestination)
        reader.deadline = deadline
        func refuse(_ reason: String) -> HostFailure {
            try? replies.send(.abort(reason: reason))
            return HostFailure(reason)
        }
        var random = SystemRandomNumberGenerator()
        let nonce = (0 ..< StreamLimits.challengeNonceBytes).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        try replies.send(.challenge(nonce: nonce))
        guard case .record(.challengeEcho(let echoed)) = try reader.nextItem(), echoed == nonce else {
            throw refuse("the stream did not answer this connection's challenge first (a replayed or foreign stream)")
        }
        guard case .record(.joinStream(let migrationNonce, let index)) = try reader.nextItem() else {
            throw refuse("a connection to a migration's data stream port must join it first")
        }
        guard migrationNonce == joining.migrationNonce else { throw refuse("joinStream names no migration under way here") }
        guard let slot = Int(exactly: index), slot < joining.count, !taken.contains(slot) else {
            throw refuse("joinStream index \(index): this migration has \(joining.count) data streams (0 to \(joining.count - 1)), each joined once")
        }
        reader.deadline = nil
        reader.adoptLayout(joining.layout)
        connection.setReceiveTimeout(seconds: joining.timeouts.idleSeconds)
        return DataStreamReceiver(index: slot, reader: reader, replies: replies, group: joining.group, guest: joining.guest,
                                  pageSizeBytes: Int(joining.layout.pageSizeBytes), idleSeconds: joining.timeouts.idleSeconds)
    }
}
