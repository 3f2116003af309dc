import CTLS
import Glibc
import MigrationCore

/// One TLS session over a connected socket's descriptor (owned by its `BlockingSocket`): the
/// SSL object and the calls on it, each result classified. Used from one thread at a time.
///
/// Two ways to drive it: step by step on a non-blocking socket (`handshakeStep`, `readStep`,
/// `writeStep`; the handshake with its deadline and `TLSRelay` poll between steps), or blocking
/// (`read`, `write`, `writeGathered`, `readScattered`; what `BlockingSocket` forwards to once
/// TLS is on, with the semantics of its plain calls).
final class TLSSession {
    /// What one step did.
    enum Progress: Equatable {
        /// Bytes moved (0 for a finished handshake).
        case moved(Int)
        /// The socket must become readable (or writable) before the step can go on.
        case wantRead, wantWrite
        /// The peer ended the session: with close_notify (`clean`) or by closing the connection.
        case ended(clean: Bool)
    }

    private let session: OpaquePointer
    /// Keeps the SSL_CTX alive as long as the session.
    let context: TLSContext
    let peer: String
    private var outcome = ctls_outcome()
    /// Set after a fatal error: OpenSSL forbids SSL_shutdown then.
    private var failed = false
    /// Page data copied together for gathered writes: TLS has no writev, and one 4 KiB page a
    /// record would cost a record header and a system call per page.
    private var staging: UnsafeMutableRawBufferPointer?
    static let stagingBytes = 64 << 10

    init(context: TLSContext, fd: Int32, role: TLSRole, peer: String) throws(HostFailure) {
        var error = [CChar](repeating: 0, count: 256)
        guard let session = ctls_session_new(context.context, fd, role == .server ? 1 : 0, &error, error.count) else {
            throw HostFailure("TLS with \(peer): \(String(nulTerminated: error))")
        }
        self.session = session
        self.context = context
        self.peer = peer
    }

    deinit {
        ctls_session_free(session)
        staging?.deallocate()
    }

    // ------------------------------------------------------------ steps (non-blocking socket)

    func handshakeStep() throws(HostFailure) -> Progress {
        ctls_handshake(session, &outcome)
        return try progress(moved: 0, failing: "TLS handshake with \(peer) failed")
    }

    func readStep(into buffer: UnsafeMutableRawBufferPointer) throws(HostFailure) -> Progress {
        try readStep(into: buffer, failing: "receiving from \(peer)")
    }

    func readStep(into buffer: UnsafeMutableRawBufferPointer, failing action: @autoclosure () -> String) throws(HostFailure) -> Progress {
        var done = 0
        ctls_read(session, buffer.baseAddress, buffer.count, &done, &outcome)
        return try progress(moved: done, failing: action())
    }

    func writeStep(_ bytes: UnsafeRawBufferPointer) throws(HostFailure) -> Progress {
        try writeStep(bytes, failing: "sending to \(peer)")
    }

    func writeStep(_ bytes: UnsafeRawBufferPointer, failing action: @autoclosure () -> String) throws(HostFailure) -> Progress {
        var done = 0
        ctls_write(session, bytes.baseAddress, bytes.count, &done, &outcome)
        return try progress(moved: done, failing: action())
    }

    /// Sends close_notify if the session is up and healthy; one step, never waits for the peer.
    /// True when it is sent (or there was nothing to close).
    @discardableResult
    func sendCloseNotify() -> Bool {
        guard !failed else { return true }
        ctls_shutdown(session, &outcome)
        return outcome.status == CTLS_OK
    }

    private func progress(moved: Int, failing action: @autoclosure () -> String) throws(HostFailure) -> Progress {
        switch outcome.status {
        case CTLS_OK: return .moved(moved)
        case CTLS_WANT_READ: return .wantRead
        case CTLS_WANT_WRITE: return .wantWrite
        case CTLS_CLOSED: return .ended(clean: true)
        case CTLS_EOF:
            failed = true
            return .ended(clean: false)
        default:
            failed = true
            throw HostFailure("\(action()): \(TLSFailureExplanation.explain(outcome))")
        }
    }

    /// The peer's certificate names (after the handshake).
    var peerIdentity: TLSPeerIdentity { TLSPeerIdentity(session: session) }

    /// Whether the peer's certificate is for `host` (a DNS name or an IP address).
    func peerMatches(host: String) -> Bool { ctls_peer_matches_host(session, host) == 1 }

    // ------------------------------------------------------------ blocking socket

    /// A step that wants the socket on a blocking socket: a receive or send timeout elapsed
    /// (SO_RCVTIMEO / SO_SNDTIMEO), reported as the plain path reports it.
    private func timedOut(_ action: String) -> HostFailure {
        HostFailure("\(action): \(String(cString: strerror(EAGAIN)))")
    }

    /// As `BlockingSocket.read(into:)`: what is there, at least one byte; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(HostFailure) -> Int {
        guard buffer.count > 0 else { return 0 }
        switch try readStep(into: buffer) {
        case .moved(let count): return count
        case .ended: return 0
        case .wantRead, .wantWrite: throw timedOut("receiving from \(peer)")
        }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(HostFailure) {
        guard bytes.count > 0 else { return }
        switch try writeStep(bytes) {
        case .moved: return
        case .ended: throw HostFailure("sending to \(peer): the peer closed the connection")
        case .wantRead, .wantWrite: throw timedOut("sending to \(peer)")
        }
    }

    /// As `BlockingSocket.writeGathered`: the pieces in order, small ones copied together into
    /// records of up to `stagingBytes`, large ones written as they are.
    func writeGathered(_ pieces: [iovec]) throws(HostFailure) {
        let staging = self.staging ?? UnsafeMutableRawBufferPointer.allocate(byteCount: Self.stagingBytes, alignment: 64)
        self.staging = staging
        var filled = 0
        for piece in pieces where piece.iov_len > 0 {
            let base = UnsafeRawPointer(piece.iov_base!)
            if filled == 0 && piece.iov_len >= Self.stagingBytes {
                try write(UnsafeRawBufferPointer(start: base, count: piece.iov_len))
                continue
            }
            var offset = 0
            while offset < piece.iov_len {
                let count = min(Self.stagingBytes - filled, piece.iov_len - offset)
                (staging.baseAddress! + filled).copyMemory(from: base + offset, byteCount: count)
                filled += count
                offset += count
                if filled == Self.stagingBytes {
                    try write(UnsafeRawBufferPointer(staging))
                    filled = 0
                }
            }
        }
        if filled > 0 { try write(UnsafeRawBufferPointer(rebasing: staging[0 ..< filled])) }
    }

    /// As `BlockingSocket.readScattered`: fills the pieces in order; `beforeEachRead` may
    /// throw (a deadline passed) or set the next read's timeout; `handle` hears of each read.
    func readScattered(_ pieces: [iovec], beforeEachRead: () throws(HostFailure) -> Void, handle: (Int) -> Void) throws(HostFailure) {
        for piece in pieces {
            var offset = 0
            while offset < piece.iov_len {
                try beforeEachRead()
                let target = UnsafeMutableRawBufferPointer(start: piece.iov_base! + offset, count: piece.iov_len - offset)
                let count = try read(into: target)
                guard count > 0 else { throw HostFailure("\(peer) closed the connection in the middle of page data") }
                handle(count)
                offset += count
            }
        }
    }
}
