import Foundation
import MigrationCore

/// `MissingPages` on a KVM guest's memory: a `MissingPageTrap`, closed by `end()`.
final class KVMMissingPages: MissingPages, @unchecked Sendable {
    private let lock = NSLock()
    private var trap: MissingPageTrap?

    init(trap: MissingPageTrap) { self.trap = trap }

    private var current: MissingPageTrap? { lock.withLock { trap } }

    func nextFault(timeoutMilliseconds: Int32) throws(HostFailure) -> Int? {
        guard let trap = current else { return nil }
        do {
            return try trap.nextFault(timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw HostFailure(error.description)
        }
    }

    func place(page: Int, count: Int, from source: UnsafeRawPointer) throws(HostFailure) -> Bool {
        guard let trap = current else { throw HostFailure("page \(page) placed after post-copy ended") }
        do {
            return try trap.place(page: page, count: count, from: source)
        } catch {
            throw HostFailure(error.description)
        }
    }

    /// Closing the userfaultfd unregisters the memory (the trap's deinit).
    func end() { lock.withLock { trap = nil } }
}

extension KVMIncomingGuest: PostcopyIncomingGuest {
    public func beginPostcopy(missing: [Int]) throws(HostFailure) -> any MissingPages {
        do {
            let trap = try MissingPageTrap(memory: guest.memory)
            try trap.markMissing(pages: missing)
            return KVMMissingPages(trap: trap)
        } catch {
            throw HostFailure("cannot trap the guest's missing pages: \(error.description)")
        }
    }

    public func holdPaused(timeoutSeconds: Double) -> Bool {
        guest.pause(waitingUpToSeconds: timeoutSeconds)
    }
}
