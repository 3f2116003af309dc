import MigrationCore
import MigrationStream

/// Asks a destination's `livemig receive` whether it has a guest of a given name (`queryGuest`,
/// answered by `guestState`): how a source that was left paused after an unknown commit outcome
/// finds out whether its guest may run again. Every wait is bounded by `timeoutSeconds`.
public enum GuestQuery {
    public static func ask(_ endpoint: Endpoint, name: String, migrationNonce: [UInt8], tls: TLSConfiguration? = nil,
                           timeoutSeconds: Double = 10) throws(HostFailure) -> GuestPresence {
        let socket = try BlockingSocket.connect(to: endpoint, timeoutSeconds: timeoutSeconds)
        defer { socket.close() }
        if let tls { _ = try socket.startTLS(tls, role: .client, expectedPeerName: endpoint.host, handshakeTimeoutSeconds: timeoutSeconds) }
        socket.setReceiveTimeout(seconds: timeoutSeconds)
        socket.setSendTimeout(seconds: timeoutSeconds)
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var reader = StreamReader(socket: socket, direction: .destinationToSource)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try socket.write(bytes)
        guard case .record(.challenge(let nonce)) = try reader.next() else {
            throw HostFailure("\(endpoint) did not open with a challenge: is it a livemig receive?")
        }
        bytes = []
        do {
            try encoder.append(.challengeEcho(nonce: nonce), into: &bytes)
            try encoder.append(.queryGuest(name: name, migrationNonce: migrationNonce), into: &bytes)
        } catch {
            throw HostFailure("cannot ask about '\(name)': \(error.description)")
        }
        try socket.write(bytes)
        switch try reader.next() {
        case .record(.guestState(let presence)): return presence
        case .record(.abort(let reason)): throw HostFailure("\(endpoint) refused the question: \(reason)")
        case let other: throw HostFailure("\(endpoint) answered \(other.type) where \(RecordType.guestState) was expected")
        }
    }
}
