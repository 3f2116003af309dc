import Dispatch
import Foundation
import Glibc

/// Bounds a whole wait on a TLS connection: under TLS one read may be several of the socket's
/// (OpenSSL gathers a whole record, up to 16 KiB, and each `recv` may wait its full timeout),
/// so a peer trickling a byte at a time would stretch a per-read bound far beyond the wait's.
/// At the deadline, unless disarmed first, it shuts the connection down, so the read fails
/// instead of waiting on. A plain socket needs none: `StreamReader.deadline` bounds it.
final class DeadlineWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32?
    private var firedFlag = false

    /// Whether it shut the connection down (the wait ran out).
    var fired: Bool { lock.withLock { firedFlag } }

    /// Arms a watchdog for `socket` at `deadlineSeconds` (monotonic); nil for a plain socket.
    static func arm(_ socket: BlockingSocket, deadlineSeconds: Double) -> DeadlineWatchdog? {
        guard socket.isTLS else { return nil }
        let watchdog = DeadlineWatchdog()
        watchdog.fd = socket.fd
        let delay = max(0, deadlineSeconds - monotonicSeconds())
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { watchdog.fire() }
        return watchdog
    }

    private func fire() {
        lock.withLock {
            if let fd {
                shutdown(fd, Int32(SHUT_RDWR))
                firedFlag = true
            }
            fd = nil
        }
    }

    /// The wait ended in time: the watchdog does nothing when it fires.
    func disarm() {
        lock.withLock { fd = nil }
    }
}
