import Glibc
import MigrationCore

/// Which end of the TLS handshake this host plays: the side that connected is the client.
public enum TLSRole: Sendable {
    case client, server
}

/// The byte each side sends the other once its handshake is done and it has checked the
/// peer's certificate names (docs/tls.md, "The verdict"). TLS 1.3 finishes the client's
/// handshake before the server has checked the client's certificate, so without this the
/// client would learn of a refusal only at its first read; with it, both `startTLS` calls end
/// with the same answer and a reason.
enum TLSVerdict: UInt8 {
    case accepted = 0x01
    /// The peer's certificate names are not in the allow-list (nor the expected host).
    case nameNotAllowed = 0x02
}

extension BlockingSocket {
    /// The longest handshake deadline accepted (a handshake takes milliseconds).
    public static let maxHandshakeTimeoutSeconds = 3600.0

    /// Turns this connection into a mutual-TLS session (TLS 1.3). Afterwards `read`, `write`,
    /// `writeGathered`, `readScattered` and `read(into:)` go through TLS, with the same
    /// semantics as before: the stream code above does not change.
    ///
    /// Both sides present their certificate and check the peer's: its chain must end at the
    /// operator's CA. If `expectedPeerName` is given (a client passes the host it connected
    /// to) or the configuration has an allow-list, the peer's certificate must also be for
    /// `expectedPeerName` (X509_check_host / an IP subjectAltName) or carry a listed name.
    /// Everything, the verdict exchange included, must be done within
    /// `handshakeTimeoutSeconds`; a server whose peer sends plain data instead of a
    /// ClientHello fails at once ("the peer did not start TLS"). Every failure is a
    /// `HostFailure` naming the peer and the reason; the connection is then unusable (close it).
    /// Returns the peer's certificate names (also in `tlsPeerIdentity`), for logs.
    @discardableResult
    public func startTLS(_ context: TLSContext, role: TLSRole, expectedPeerName: String? = nil,
                         handshakeTimeoutSeconds: Double) throws(HostFailure) -> TLSPeerIdentity {
        guard handshakeTimeoutSeconds.isFinite, handshakeTimeoutSeconds > 0,
              handshakeTimeoutSeconds <= Self.maxHandshakeTimeoutSeconds else {
            throw HostFailure("TLS handshake timeout \(handshakeTimeoutSeconds) s: must be more than 0 and at most \(Int(Self.maxHandshakeTimeoutSeconds)) seconds")
        }
        if let expectedPeerName, expectedPeerName.isEmpty || expectedPeerName.utf8.contains(0) {
            throw HostFailure("TLS expected peer name '\(expectedPeerName)': a host name or address is not empty and has no NUL")
        }
        guard isSocket else { throw HostFailure("\(peer): TLS needs a network connection, not a file") }
        guard tls == nil else { throw HostFailure("TLS with \(peer) is already on") }
        let handshake = TLSHandshake(socket: self, timeoutSeconds: handshakeTimeoutSeconds)
        try setNonBlocking(true)
        defer { try? setNonBlocking(false) }
        if role == .server { try handshake.awaitClientHello() }
        let session = try TLSSession(context: context, fd: fd, role: role, peer: peer)
        try handshake.run { () throws(HostFailure) in try session.handshakeStep() }
        let identity = session.peerIdentity
        let refusal = Self.refusal(of: identity, by: context, in: session, expectedPeerName: expectedPeerName)
        let ourVerdict: TLSVerdict = refusal == nil ? .accepted : .nameNotAllowed
        // The server speaks first: a client refused during the server's handshake then reads
        // the server's alert instead of a verdict (see TLSVerdict).
        if role == .server || refusal != nil { try handshake.send(ourVerdict, over: session) }
        if let refusal {
            session.sendCloseNotify()
            throw HostFailure("TLS with \(peer): \(refusal)")
        }
        let theirs = try handshake.receiveVerdict(over: session)
        guard theirs == .accepted else {
            throw HostFailure("TLS with \(peer): the peer refused this host's certificate: name not allowed there (not in its allow-list, or not the host name it expected)")
        }
        if role == .client { try handshake.send(ourVerdict, over: session) }
        tls = session
        tlsPeerIdentity = identity
        return identity
    }

    /// `startTLS` with a configuration loaded for this connection only (a server that takes
    /// many connections loads a `TLSContext` once instead).
    @discardableResult
    public func startTLS(_ configuration: TLSConfiguration, role: TLSRole, expectedPeerName: String? = nil,
                         handshakeTimeoutSeconds: Double) throws(HostFailure) -> TLSPeerIdentity {
        try startTLS(TLSContext(configuration), role: role, expectedPeerName: expectedPeerName,
                     handshakeTimeoutSeconds: handshakeTimeoutSeconds)
    }

    /// Why the peer's names are not accepted, or nil when they are (see `startTLS`).
    static func refusal(of identity: TLSPeerIdentity, by context: TLSContext, in session: TLSSession,
                        expectedPeerName: String?) -> String? {
        let allowList = context.allowedPeerNames
        if allowList.isEmpty && expectedPeerName == nil { return nil }
        if let expectedPeerName, session.peerMatches(host: expectedPeerName) { return nil }
        if !allowList.isEmpty && identity.isListed(in: allowList) { return nil }
        var problems: [String] = []
        if let expectedPeerName { problems.append("is not for \(expectedPeerName)") }
        if !allowList.isEmpty {
            problems.append("has no name in the allow-list (\(context.configuration.allowedPeerNames.joined(separator: ", ")))")
        }
        return "the peer's certificate (\(identity)) \(problems.joined(separator: " and ")): name not allowed"
    }

    /// O_NONBLOCK on or off (the handshake and the relay poll; everything else blocks).
    func setNonBlocking(_ on: Bool) throws(HostFailure) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) == 0 else {
            throw HostFailure("\(peer): fcntl: \(String(cString: strerror(errno)))")
        }
    }
}
