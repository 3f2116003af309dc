import Glibc
import MigrationCore

/// The waits of one `startTLS` on its non-blocking socket, all against one deadline: the
/// peer's first bytes, the handshake's steps and the verdicts. Poll, not SO_RCVTIMEO: a
/// per-call timeout would let a peer that trickles a byte at a time hold the handshake open
/// for ever; the deadline bounds the whole of it.
struct TLSHandshake {
    let socket: BlockingSocket
    let timeoutSeconds: Double
    let deadline: Double

    init(socket: BlockingSocket, timeoutSeconds: Double) {
        self.socket = socket
        self.timeoutSeconds = timeoutSeconds
        deadline = monotonicSeconds() + timeoutSeconds
    }

    /// Server: waits for the client's first bytes and refuses at once, without a TLS alert a
    /// plain peer could not read anyway, if they do not begin a TLS handshake record (0x16).
    func awaitClientHello() throws(HostFailure) {
        var first = [UInt8](repeating: 0, count: 8)
        while true {
            try awaitSocket(Int16(POLLIN), stage: "the peer sent nothing")
            let count = recv(socket.fd, &first, first.count, Int32(MSG_PEEK | MSG_DONTWAIT))
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                throw HostFailure("TLS with \(socket.peer): \(String(cString: strerror(errno)))")
            }
            guard count > 0 else { throw HostFailure("\(socket.peer) closed the connection before starting TLS") }
            guard first[0] == 0x16 else {
                let bytes = first[0 ..< count].map { String($0, radix: 16) }.joined(separator: " ")
                throw HostFailure("TLS with \(socket.peer): the peer did not start TLS (it sent plain data, first bytes \(bytes)); TLS is required here")
            }
            return
        }
    }

    /// Repeats `step` until it moves, waiting for the socket as it asks.
    @discardableResult
    func run(_ step: () throws(HostFailure) -> TLSSession.Progress, stage: String = "in the handshake") throws(HostFailure) -> Int {
        while true {
            switch try step() {
            case .moved(let count): return count
            case .wantRead: try awaitSocket(Int16(POLLIN), stage: stage)
            case .wantWrite: try awaitSocket(Int16(POLLOUT), stage: stage)
            case .ended: throw HostFailure("TLS handshake with \(socket.peer) failed: the peer closed the connection (\(stage))")
            }
        }
    }

    /// How a failed step after the handshake proper is reported (a refusal of this host's
    /// certificate by a TLS 1.3 server arrives here, as an alert instead of the verdict).
    private var failed: String { "TLS handshake with \(socket.peer) failed" }

    func send(_ verdict: TLSVerdict, over session: TLSSession) throws(HostFailure) {
        var byte = verdict.rawValue
        _ = try withUnsafeBytes(of: &byte) { (bytes: UnsafeRawBufferPointer) throws(HostFailure) in
            try run({ () throws(HostFailure) in try session.writeStep(bytes, failing: failed) }, stage: "sending the verdict")
        }
    }

    func receiveVerdict(over session: TLSSession) throws(HostFailure) -> TLSVerdict {
        var byte: UInt8 = 0
        _ = try withUnsafeMutableBytes(of: &byte) { (bytes: UnsafeMutableRawBufferPointer) throws(HostFailure) in
            try run({ () throws(HostFailure) in try session.readStep(into: bytes, failing: failed) }, stage: "waiting for the peer's verdict")
        }
        guard let verdict = TLSVerdict(rawValue: byte) else {
            throw HostFailure("TLS with \(socket.peer): the peer sent \(byte) where its verdict was expected (not a livemig host?)")
        }
        return verdict
    }

    /// Waits until the socket is ready for `events` or the deadline passes.
    private func awaitSocket(_ events: Int16, stage: String) throws(HostFailure) {
        while true {
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else {
                throw HostFailure("TLS handshake with \(socket.peer) timed out after \(timeoutSeconds) s (\(stage))")
            }
            var entry = pollfd(fd: socket.fd, events: events, revents: 0)
            // remaining <= the timeout, which startTLS bounds: the conversion cannot trap.
            let ready = poll(&entry, 1, Int32(remaining * 1000) + 1)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR {
                throw HostFailure("TLS handshake with \(socket.peer): poll: \(String(cString: strerror(errno)))")
            }
        }
    }
}
