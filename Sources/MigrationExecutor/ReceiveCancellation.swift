import Foundation

/// Lets another thread (a `guest stop` of an arriving guest) cancel a receive before the
/// guest runs here, and never after: the receiver commits through `commit()` before it
/// unpauses the guest, and a cancel that comes later is refused. A cancel shuts the reading
/// side of the connection down, so the receiver wakes from any wait at once, throws the
/// partial guest away and tells the source why.
public final class ReceiveCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var socketFD: Int32?
    private var committed = false
    public private(set) var reason: String?

    public init() {}

    /// The connection to wake when cancelled (set by the receiver).
    func attach(_ socket: BlockingSocket) {
        lock.withLock { socketFD = socket.isSocket ? socket.fd : nil }
    }

    /// Cancels the receive unless the guest was already committed to run here; true if it
    /// was cancelled (now or before).
    @discardableResult
    public func cancel(reason: String) -> Bool {
        lock.withLock {
            guard !committed else { return false }
            if self.reason == nil {
                self.reason = reason
                if let socketFD { shutdown(socketFD, Int32(SHUT_RD)) }
            }
            return true
        }
    }

    /// Called once before unpausing: false if a cancel came first.
    func commit() -> Bool {
        lock.withLock {
            guard reason == nil else { return false }
            committed = true
            return true
        }
    }

    var cancelledReason: String? { lock.withLock { reason } }
}
