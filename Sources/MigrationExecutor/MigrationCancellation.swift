import Foundation

/// Lets another thread cancel a migration before it commits, and never after. Either side
/// commits through `commit()` at its point of no return (the source before it sends "cleared
/// to unpause", the destination before it unpauses the guest); a cancel that comes later is
/// refused. A cancel shuts the connection down, so the migration wakes from any blocked read
/// or write at once and takes its abort path: the source resumes its guest, the destination
/// throws its partial guest away. Used by `guest stop` of an arriving guest, `migrate
/// --cancel`, a `migrate` client that went away, and the source's `--max-downtime` watchdog.
public final class MigrationCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var socketFD: Int32?
    /// A parallel migration's data streams: shut with the main connection.
    private var additionalFDs: [Int32] = []
    private var shutdownHow = Int32(SHUT_RD)
    private var committed = false
    private var reason: String?

    public init() {}

    /// The connection to wake when cancelled. The destination shuts only its reading side
    /// (it can still tell the source why); the source shuts both, since a write to a peer
    /// that stopped reading blocks too.
    public func attach(_ socket: BlockingSocket, shutdownWriting: Bool = false) {
        lock.withLock {
            socketFD = socket.isSocket ? socket.fd : nil
            shutdownHow = Int32(shutdownWriting ? SHUT_RDWR : SHUT_RD)
            if reason != nil, let socketFD { shutdown(socketFD, shutdownHow) }
        }
    }

    /// Another connection of the same migration (a data stream), shut down with the main one.
    public func attach(additional socket: BlockingSocket) {
        lock.withLock {
            guard socket.isSocket else { return }
            additionalFDs.append(socket.fd)
            if reason != nil { shutdown(socket.fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Forgets the additional connections (a parallel migration that could not open them all).
    public func forgetAdditional() {
        lock.withLock { additionalFDs = [] }
    }

    /// Cancels the migration unless it has committed; true if it is cancelled (now or before).
    @discardableResult
    public func cancel(reason: String) -> Bool {
        lock.withLock {
            guard !committed else { return false }
            if self.reason == nil {
                self.reason = reason
                if let socketFD { shutdown(socketFD, shutdownHow) }
                for fd in additionalFDs { shutdown(fd, Int32(SHUT_RDWR)) }
            }
            return true
        }
    }

    /// The point of no return: false if a cancel came first, else no cancel succeeds from now on.
    public func commit() -> Bool {
        lock.withLock {
            guard reason == nil else { return false }
            committed = true
            return true
        }
    }

    /// Forgets the connection once the migration is over, so that a late cancel (a watchdog
    /// that fires after the end) cannot shut a descriptor number that now belongs to another.
    public func detach() {
        lock.withLock {
            socketFD = nil
            additionalFDs = []
        }
    }

    /// Why the migration was cancelled, if it was.
    public var cancelledReason: String? { lock.withLock { reason } }

    /// Whether the point of no return has passed.
    public var hasCommitted: Bool { lock.withLock { committed } }
}

extension MigrationCancellation {
    /// `--max-downtime`: armed when the guest is paused; after `seconds`, cancels the migration
    /// unless it has committed by then, so the source resumes its guest.
    public func armDowntimeWatchdog(seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            cancel(reason: "the destination was not cleared to run the guest within --max-downtime \(seconds) s; the guest resumes here")
        }
    }
}
