import Foundation
import MigrationExecutor

/// Waits, without consuming anything, until the first `count` bytes of a stream have arrived on
/// a connected socket: the handshake timeout of an incoming migration (its stream header must
/// arrive within that time), applied before the receiver reads a byte.
public enum StreamStartWait {
    public enum Outcome: Equatable, Sendable {
        case ready
        /// The peer closed the connection after `receivedBytes` bytes.
        case closed(receivedBytes: Int)
        /// `receivedBytes` had come when the time was up.
        case timedOut(receivedBytes: Int)
        case failed(String)
    }

    public static func waitForBytes(_ count: Int, on fd: Int32, timeoutSeconds: Double) -> Outcome {
        let deadline = monotonicSeconds() + timeoutSeconds
        var buffer = [UInt8](repeating: 0, count: max(1, count))
        while true {
            let peeked = recv(fd, &buffer, buffer.count, Int32(MSG_PEEK | MSG_DONTWAIT))
            if peeked >= count { return .ready }
            if peeked == 0 { return .closed(receivedBytes: 0) }
            if peeked < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                return .failed(String(cString: strerror(errno)))
            }
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { return .timedOut(receivedBytes: max(0, peeked)) }
            if peeked > 0 {
                // Part of it is there, so poll reports readable at once: ask whether the peer
                // has hung up, else look again shortly.
                var hangUp = pollfd(fd: fd, events: SocketOptions.pollPeerClosed, revents: 0)
                if poll(&hangUp, 1, 0) > 0, hangUp.revents & SocketOptions.pollPeerClosed != 0 { return .closed(receivedBytes: peeked) }
                usleep(UInt32(min(remaining, 0.01) * 1e6))
                continue
            }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, Int32(min(remaining, 1.0) * 1000) + 1)
        }
    }
}
