import Foundation
import MigrationCore

/// Lets another thread watch and steer a running migration (`livemig job NAME`, like QEMU's
/// `query-migrate` and `migrate-set-parameters`, libvirt's `domjobinfo` and
/// `migrate-setspeed`): the executor leaves its latest progress here, and an event submitted
/// here waits until the executor's loop hands it to the engine between two actions, whose
/// answer goes back to the submitter. The engine stays single-threaded: only this mailbox is
/// shared.
public final class MigrationSteering: @unchecked Sendable {
    private let condition = NSCondition()
    private var queued: [(ticket: Int, event: SourceEvent)] = []
    /// Tickets the loop has taken and not yet answered: their answer is certain to come (the
    /// engine's `handle` never blocks), so a submitter waits for it past its deadline.
    private var taken: Set<Int> = []
    private var answers: [Int: SourceEventAnswer] = [:]
    private var lastTicket = 0
    private var ended = false
    private var latest: MigrationProgress?
    private var accepted = false

    public init() {}

    /// How much longer than its own wait a submitter waits for a ticket the loop has taken.
    static let takenAnswerSeconds = 30.0

    /// Hands `event` to the migration and waits up to `seconds` for the engine's answer. The
    /// answer is `.refused` when the migration has ended, or when the loop did not reach a point
    /// to take the event in time (then the event is withdrawn: nothing changed).
    public func submit(_ event: SourceEvent, waitingUpTo seconds: Double) -> SourceEventAnswer {
        condition.lock()
        defer { condition.unlock() }
        guard !ended else { return .refused("the migration has ended") }
        lastTicket += 1
        let ticket = lastTicket
        queued.append((ticket, event))
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: max(0, seconds))
        // A ticket the loop has taken is answered within the engine's step (`handle` neither
        // blocks nor does I/O); this bound only keeps a wedged loop from holding the caller.
        let takenDeadline = Date(timeIntervalSinceNow: max(0, seconds) + Self.takenAnswerSeconds)
        while answers[ticket] == nil {
            if taken.contains(ticket) {
                if !condition.wait(until: takenDeadline), answers[ticket] == nil {
                    return .refused("the migration took it but gave no answer within \(seconds + Self.takenAnswerSeconds) s; it may have changed")
                }
                continue
            }
            if ended { break }
            if !condition.wait(until: deadline), answers[ticket] == nil, !taken.contains(ticket) { break }
        }
        if let answer = answers.removeValue(forKey: ticket) { return answer }
        queued.removeAll { $0.ticket == ticket }
        return .refused(ended ? "the migration ended before it could take it" : "the migration did not take it within \(seconds) s; nothing changed")
    }

    /// Whether an event waits for the engine (the executor cuts a wait for the cap short).
    var hasQueuedEvents: Bool { condition.withLock { !queued.isEmpty } }

    /// True once the engine has accepted a new limit: the migration ran under more than one.
    public var changedLimits: Bool { condition.withLock { accepted } }

    /// The executor's side: hands every queued event to `handle` (the engine) and posts the answers.
    func deliver(to handle: (SourceEvent) -> SourceEventAnswer) {
        let events = condition.withLock {
            defer { queued.removeAll() }
            for item in queued { taken.insert(item.ticket) }
            return queued
        }
        guard !events.isEmpty else { return }
        let answered = events.map { ($0.ticket, $0.event, handle($0.event)) }
        condition.withLock {
            for (ticket, event, answer) in answered {
                taken.remove(ticket)
                answers[ticket] = answer
                if answer == .accepted, event.changesALimit { accepted = true }
            }
            condition.broadcast()
        }
    }

    /// The migration is over: events from now on are refused, and the progress left is cleared.
    func end() {
        condition.withLock {
            ended = true
            queued.removeAll()
            latest = nil
            condition.broadcast()
        }
    }

    func record(_ progress: MigrationProgress) {
        condition.withLock { if !ended { latest = progress } }
    }

    /// The migration's progress as the executor last left it (every 0.25 s at most); nil
    /// before its first and once it has ended.
    public var progress: MigrationProgress? { condition.withLock { latest } }
}

extension SourceEvent {
    /// A new cap or downtime limit (not a cancel).
    var changesALimit: Bool {
        if case .cancel = self { return false }
        return true
    }
}
