import Foundation

/// Watches a control client while a long command (a migration) runs for it, and calls
/// `onHangUp` once if the client goes away: Ctrl-C of `livemig migrate` then cancels the
/// migration instead of letting it run on unobserved. Polls every 100 ms; `stop()` ends it.
final class ClientWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    init(_ connection: ControlConnection, onHangUp: @escaping @Sendable () -> Void) {
        Thread { [self] in
            while !isStopped {
                if connection.peerHasHungUp {
                    onHangUp()
                    return
                }
                usleep(100_000)
            }
        }.start()
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    func stop() { lock.withLock { stopped = true } }
}
