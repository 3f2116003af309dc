import Foundation
import MigrationCore
import Synchronization

/// Pumps bytes both ways between a plain socket of a socketpair (`plainEnd`) and a connection
/// under TLS, on a thread of its own, for code that must be handed a plain file descriptor:
/// libxenguest reads and writes the Xen migration stream on the fd it is given, so the Xen
/// sender and receiver give it `plainEnd.fd` (and talk xl's protocol over `plainEnd` too),
/// and the relay carries it all through TLS.
///
/// - Rate cap (optional): each direction moves at most `rateCapBytesPerSecond` of payload on
///   average (TLS record overhead, about 0.1 %, not counted); this also gives Xen domains
///   `--bandwidth`. The relay works over a plain connection too, for the rate cap alone.
/// - Ending: when either side closes, the relay delivers what it holds for the other side and
///   ends: the peer's close reaches `plainEnd` as end of file; `plainEnd`'s close (or
///   shutdown for writing) reaches the peer as TLS close_notify. Half-closed connections are
///   not carried on (xl's protocol never half-closes).
/// - Idle timeout: when nothing moves either way for `idleTimeoutSeconds`, the relay fails
///   and closes its end.
/// - While it runs the relay owns the connection: nothing else may use it until
///   `waitUntilFinished` returned; then close it.
public final class TLSRelay: @unchecked Sendable {
    /// How the relay ended.
    public enum Ending: Sendable, Equatable {
        /// `plainEnd` was closed (or shut down for writing) by its owner.
        case plainEndClosed
        /// The peer ended the TLS session with close_notify (or closed a plain connection).
        case peerClosed
        /// The peer's connection ended without close_notify (it died or the link was cut).
        case peerDisconnected
    }

    public static let maxIdleTimeoutSeconds = 86_400.0
    /// Bytes held per direction.
    static let bufferBytes = 256 << 10

    /// The end to hand on (its `fd` to libxenguest); its `peer` names the real peer.
    public let plainEnd: BlockingSocket
    private let socket: BlockingSocket
    private let relayFd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let idleTimeoutSeconds: Double
    private var toPeerCap: RelayRateCap?
    private var fromPeerCap: RelayRateCap?
    private let sentToPeer = Atomic<Int>(0)
    private let receivedFromPeer = Atomic<Int>(0)
    private let finished = NSCondition()
    private var result: Result<Ending, HostFailure>?

    /// Starts relaying `socket` (under TLS, or plain for a rate cap alone).
    public init(socket: BlockingSocket, rateCapBytesPerSecond: Double? = nil, idleTimeoutSeconds: Double) throws(HostFailure) {
        guard idleTimeoutSeconds.isFinite, idleTimeoutSeconds > 0, idleTimeoutSeconds <= Self.maxIdleTimeoutSeconds else {
            throw HostFailure("relay idle timeout \(idleTimeoutSeconds) s: must be more than 0 and at most \(Int(Self.maxIdleTimeoutSeconds)) seconds")
        }
        guard socket.isSocket else { throw HostFailure("\(socket.peer): a relay needs a network connection, not a file") }
        if let rate = rateCapBytesPerSecond {
            let now = monotonicSeconds()
            toPeerCap = try RelayRateCap(bytesPerSecond: rate, bufferBytes: Self.bufferBytes, nowSeconds: now)
            fromPeerCap = toPeerCap
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw HostFailure("relay for \(socket.peer): socketpair: \(String(cString: strerror(errno)))")
        }
        var wake: [Int32] = [-1, -1]
        guard pipe(&wake) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(pair[0])
            Glibc.close(pair[1])
            throw HostFailure("relay for \(socket.peer): pipe: \(reason)")
        }
        self.socket = socket
        self.idleTimeoutSeconds = idleTimeoutSeconds
        plainEnd = BlockingSocket(fd: pair[0], peer: socket.peer)
        relayFd = pair[1]
        wakeRead = wake[0]
        wakeWrite = wake[1]
        do throws(HostFailure) {
            for fd in [relayFd, wakeRead, wakeWrite] { try setFlags(of: fd, O_NONBLOCK, descriptorFlags: FD_CLOEXEC) }
            try socket.setNonBlocking(true)
        } catch {
            Glibc.close(relayFd)
            throw error
        }
        let thread = Thread { [self] in run() }
        thread.name = "TLS relay \(socket.peer)"
        thread.start()
    }

    /// The stop pipe lives as long as the relay: closed earlier, its number could be reused by
    /// another file that a late `stop()` would then write into.
    deinit {
        Glibc.close(wakeRead)
        Glibc.close(wakeWrite)
    }

    private func setFlags(of fd: Int32, _ statusFlags: Int32, descriptorFlags: Int32) throws(HostFailure) {
        let status = fcntl(fd, F_GETFL)
        let descriptor = fcntl(fd, F_GETFD)
        guard status >= 0, descriptor >= 0, fcntl(fd, F_SETFL, status | statusFlags) == 0,
              fcntl(fd, F_SETFD, descriptor | descriptorFlags) == 0 else {
            throw HostFailure("relay for \(socket.peer): fcntl: \(String(cString: strerror(errno)))")
        }
    }

    /// Payload bytes sent to the peer so far (for progress: the plain end is no TCP socket,
    /// so TCP_INFO cannot count them).
    public var bytesSentToPeer: Int { sentToPeer.load(ordering: .relaxed) }
    /// Payload bytes received from the peer so far.
    public var bytesReceivedFromPeer: Int { receivedFromPeer.load(ordering: .relaxed) }

    /// Asks the relay to end at once (it then fails with "stopped"); `waitUntilFinished` tells
    /// when it has.
    public func stop() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    /// How the relay ended, once it has (at most `timeoutSeconds`); throws its failure, or
    /// that it is still running.
    public func waitUntilFinished(timeoutSeconds: Double) throws(HostFailure) -> Ending {
        guard timeoutSeconds.isFinite, timeoutSeconds >= 0, timeoutSeconds <= Self.maxIdleTimeoutSeconds else {
            throw HostFailure("relay wait \(timeoutSeconds) s: must be from 0 to \(Int(Self.maxIdleTimeoutSeconds)) seconds")
        }
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        finished.lock()
        defer { finished.unlock() }
        while result == nil && finished.wait(until: deadline) {}
        guard let result else { throw HostFailure("the relay for \(socket.peer) is still running after \(timeoutSeconds) s") }
        return try result.get()
    }

    private func run() {
        let outcome: Result<Ending, HostFailure>
        do {
            outcome = .success(try pump())
        } catch {
            outcome = .failure(error)
        }
        Glibc.close(relayFd)
        try? socket.setNonBlocking(false)
        finished.lock()
        result = outcome
        finished.broadcast()
        finished.unlock()
    }

    // ------------------------------------------------------------ the pump

    /// Bytes held for one direction: [start, end) of a fixed buffer.
    private struct Held {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: TLSRelay.bufferBytes, alignment: 64)
        var start = 0
        var end = 0
        var isEmpty: Bool { start == end }
        var pending: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[start ..< end]) }
        func space(limit: Int) -> UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: storage[end ..< min(storage.count, end + limit)]) }
        mutating func filled(_ count: Int) { end += count }
        mutating func drained(_ count: Int) {
            start += count
            if start == end { start = 0; end = 0 }
        }
        mutating func clear() { start = 0; end = 0 }
    }

    private func pump() throws(HostFailure) -> Ending {
        var toPeer = Held()
        var fromPeer = Held()
        defer {
            toPeer.storage.deallocate()
            fromPeer.storage.deallocate()
        }
        var plainEnded = false
        var peerEnding: Ending?
        var lastMovedSeconds = monotonicSeconds()
        while true {
            var moved = false
            var socketEvents: Int16 = 0
            var plainEvents: Int16 = 0
            var rateWaitSeconds = Double.infinity
            let now = monotonicSeconds()

            // The peer to plainEnd.
            if peerEnding == nil && fromPeer.end < fromPeer.storage.count {
                let limit = fromPeerCap?.allowance(nowSeconds: now) ?? Self.bufferBytes
                if limit > 0 {
                    switch try peerRead(into: fromPeer.space(limit: limit)) {
                    case .moved(let count):
                        fromPeer.filled(count)
                        fromPeerCap?.spend(count)
                        receivedFromPeer.add(count, ordering: .relaxed)
                        moved = true
                    case .wantRead: socketEvents |= Int16(POLLIN)
                    case .wantWrite: socketEvents |= Int16(POLLOUT)
                    case .ended(let clean): peerEnding = clean ? .peerClosed : .peerDisconnected
                    }
                } else {
                    rateWaitSeconds = min(rateWaitSeconds, fromPeerCap!.secondsUntilAllowance)
                }
            }
            if !fromPeer.isEmpty && !plainEnded {
                let sent = send(relayFd, fromPeer.pending.baseAddress, fromPeer.pending.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                if sent > 0 {
                    fromPeer.drained(sent)
                    moved = true
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    plainEvents |= Int16(POLLOUT)
                } else if errno != EINTR {
                    // The owner closed plainEnd: nobody will read what the peer sent.
                    plainEnded = true
                    fromPeer.clear()
                }
            }

            // plainEnd to the peer: read only into an empty buffer, since a TLS write that
            // waits must be repeated with the same bytes.
            if !plainEnded && peerEnding == nil && toPeer.isEmpty {
                let limit = toPeerCap?.allowance(nowSeconds: now) ?? Self.bufferBytes
                if limit > 0 {
                    let space = toPeer.space(limit: limit)
                    let count = recv(relayFd, space.baseAddress, space.count, Int32(MSG_DONTWAIT))
                    if count > 0 {
                        toPeer.filled(count)
                        toPeerCap?.spend(count)
                        moved = true
                    } else if count == 0 {
                        plainEnded = true
                    } else if errno == EAGAIN || errno == EWOULDBLOCK {
                        plainEvents |= Int16(POLLIN)
                    } else if errno != EINTR {
                        plainEnded = true
                    }
                } else {
                    rateWaitSeconds = min(rateWaitSeconds, toPeerCap!.secondsUntilAllowance)
                }
            }
            if !toPeer.isEmpty && peerEnding == nil {
                switch try peerWrite(toPeer.pending) {
                case .moved(let count):
                    toPeer.drained(count)
                    sentToPeer.add(count, ordering: .relaxed)
                    moved = true
                case .wantRead: socketEvents |= Int16(POLLIN)
                case .wantWrite: socketEvents |= Int16(POLLOUT)
                case .ended(let clean): peerEnding = clean ? .peerClosed : .peerDisconnected
                }
            }

            if plainEnded && toPeer.isEmpty {
                closePeerSide()
                return .plainEndClosed
            }
            if let peerEnding, fromPeer.isEmpty || plainEnded {
                return peerEnding
            }
            if moved {
                lastMovedSeconds = monotonicSeconds()
                continue
            }
            let idleLeftSeconds = idleTimeoutSeconds - (monotonicSeconds() - lastMovedSeconds)
            guard idleLeftSeconds > 0 else {
                throw HostFailure("the relay for \(socket.peer) was idle for \(idleTimeoutSeconds) s and closed the connection")
            }
            try waitForEvents(socketEvents: socketEvents, plainEvents: plainEvents, seconds: min(idleLeftSeconds, rateWaitSeconds))
        }
    }

    /// Polls the connection and the plain end for what the pump waits on, and the stop pipe.
    private func waitForEvents(socketEvents: Int16, plainEvents: Int16, seconds: Double) throws(HostFailure) {
        // A descriptor with nothing to wait for is left out (fd -1): its hang-up would
        // otherwise wake the poll over and over.
        var entries = [
            pollfd(fd: socketEvents == 0 ? -1 : socket.fd, events: socketEvents, revents: 0),
            pollfd(fd: plainEvents == 0 ? -1 : relayFd, events: plainEvents, revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        // seconds <= the idle timeout, bounded by maxIdleTimeoutSeconds: no trap.
        let ready = poll(&entries, nfds_t(entries.count), Int32(seconds * 1000) + 1)
        if ready < 0 && errno != EINTR {
            throw HostFailure("the relay for \(socket.peer): poll: \(String(cString: strerror(errno)))")
        }
        if entries[2].revents != 0 { throw HostFailure("the relay for \(socket.peer) was stopped") }
    }

    private func peerRead(into space: UnsafeMutableRawBufferPointer) throws(HostFailure) -> TLSSession.Progress {
        if let tls = socket.tls { return try tls.readStep(into: space) }
        let count = recv(socket.fd, space.baseAddress, space.count, Int32(MSG_DONTWAIT))
        return try plainProgress(count, action: "receiving from")
    }

    private func peerWrite(_ bytes: UnsafeRawBufferPointer) throws(HostFailure) -> TLSSession.Progress {
        if let tls = socket.tls { return try tls.writeStep(bytes) }
        let count = send(socket.fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        return try plainProgress(count, action: "sending to")
    }

    /// A plain recv / send result as the TLS steps report theirs.
    private func plainProgress(_ count: Int, action: String) throws(HostFailure) -> TLSSession.Progress {
        if count > 0 { return .moved(count) }
        if count == 0 { return .ended(clean: true) }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return action == "sending to" ? .wantWrite : .wantRead
        case ECONNRESET, EPIPE: return .ended(clean: false)
        default: throw HostFailure("\(action) \(socket.peer): \(String(cString: strerror(errno)))")
        }
    }

    /// Tells the peer the stream is over: close_notify under TLS (waiting up to a second for
    /// room in the socket), shutdown for writing on a plain connection.
    private func closePeerSide() {
        guard let tls = socket.tls else {
            shutdown(socket.fd, Int32(SHUT_WR))
            return
        }
        let deadline = monotonicSeconds() + 1
        while !tls.sendCloseNotify() && monotonicSeconds() < deadline {
            var entry = pollfd(fd: socket.fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&entry, 1, 100)
        }
    }
}
