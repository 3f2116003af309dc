import ArgumentParser
import Dispatch
import Foundation
import KVMBackend
import MigrationCore
import MigrationExecutor

/// A receiver on 127.0.0.1 in this process, on a thread of its own, for the benchmarks that
/// migrate a KVM guest to themselves (`bench migrate`, its `--peer` runs): it takes one
/// migration into a fresh `KVMIncomingGuest`. Every wait is bounded: the sender has 30 s to
/// connect, and the caller says how long it waits for the end.
final class InProcessReceiver: @unchecked Sendable {
    /// How long the thread waits for a sender before it gives up.
    static let connectSeconds = 30.0

    let port: Int
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var guest: KVMGuest?
    private var failure: String?

    init() throws(HostFailure) {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        port = listener.port
        let thread = Thread { [self] in
            do {
                var entry = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
                guard poll(&entry, 1, Int32(Self.connectSeconds * 1000)) > 0 else {
                    throw HostFailure("no sender connected within \(Self.connectSeconds) s")
                }
                let received = try MigrationReceiver.receive(on: try listener.accept()) { layout throws(HostFailure) in
                    try KVMIncomingGuest.make(for: layout)
                }
                record(guest: (received.guest as? KVMIncomingGuest)?.guest, failure: nil)
            } catch {
                record(guest: nil, failure: "\(error)")
            }
            finished.signal()
        }
        thread.start()
    }

    private func record(guest: KVMGuest?, failure: String?) {
        lock.lock()
        self.guest = guest
        self.failure = failure
        lock.unlock()
    }

    /// The guest that arrived (running; the caller destroys it), once the receiver has finished,
    /// waiting at most `seconds`; nil when the migration left it on the source.
    func arrivedGuest(waitingUpTo seconds: Double) throws -> KVMGuest? {
        guard finished.wait(timeout: .now() + seconds) == .success else {
            throw ValidationError("the receiver did not finish within \(seconds) s (its guest, if one arrives, is left to this process's exit)")
        }
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw ValidationError("the receiver failed: \(failure)") }
        return guest
    }
}
