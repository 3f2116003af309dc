import Foundation
import MigrationCore
import MigrationStream

/// What the destination's data streams of one migration share: the round barrier, the first
/// failure, the pages each stream received, and which pages hold data.
///
/// Round order: each data stream carries `roundStart(r)` before its pages of round r, on every
/// stream at every round. A stream that reads `roundStart(r)` waits here until every stream has
/// read a `roundStart` of at least r (or ended): then every page of the rounds before r has been
/// written, on every stream, and none of round r yet. So a page's copy from round r-1, still in
/// one socket's buffer, can never land after its copy from round r on another. QEMU's multifd
/// orders its rounds the same way, with a sync packet on every channel at each dirty-bitmap sync
/// (`multifd_send_sync_main` / `multifd_recv_sync_main`, migration/multifd.c).
///
/// Which pages hold data (for zero-page markers, as `ReceiveSession.pagesWithData`): each stream
/// notes the pages it writes in its own bitmap; at each barrier, when every stream is waiting
/// or ended, the last to arrive merges them all into the shared one. A marker of round r for a
/// page written in an earlier round then finds it in the shared bitmap; one written in round r
/// cannot exist (a round sends a page once).
final class DataStreamGroup: @unchecked Sendable {
    let count: Int
    let guestPages: Int
    private let condition = NSCondition()
    /// The round each stream has come to (nil: none yet); `UInt64.max` once it has ended.
    private var reached: [UInt64?]
    /// Threads gone (of the streams joined: one per socket).
    private var exited = 0
    private var failure: String?
    private var stopped = false
    /// The last round whose barrier merged the streams' written pages.
    private var mergedRound: UInt64?
    /// Pages with data, as of the last barrier (written only there; read by the streams
    /// between barriers).
    private(set) var sharedWritten: DirtyBitmap
    /// Each stream's own pages, written by its thread alone (and read at a barrier or the end).
    let streams: [DataStreamPages]
    /// The sockets, to shut when the migration stops; the main connection, to wake its reader
    /// when a data stream fails.
    private var sockets: [BlockingSocket] = []
    private let mainSocket: BlockingSocket
    /// Monotonic time of the last item read on any data stream: the main connection is silent
    /// while they carry the pages, and its idle timeout counts their traffic.
    private var lastActivity: Double
    /// One fault trigger for all data streams (`LIVEMIG_FAULT` counts their records together).
    private var faults: FaultTrigger

    init(count: Int, guestPages: Int, mainSocket: BlockingSocket, fault: ReceiverFaultInjection?) {
        self.count = count
        self.guestPages = guestPages
        self.mainSocket = mainSocket
        reached = [UInt64?](repeating: nil, count: count)
        sharedWritten = DirtyBitmap(pageCount: guestPages)
        streams = (0 ..< count).map { _ in DataStreamPages(guestPages: guestPages) }
        lastActivity = monotonicSeconds()
        faults = FaultTrigger(fault)
    }

    /// A stream joined on `socket` (its thread starts next); the socket is shut down when the
    /// migration stops.
    func add(_ socket: BlockingSocket) {
        condition.withLock {
            sockets.append(socket)
            if stopped { shutdown(socket.fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Stream `index` read `roundStart(round)`: waits until every stream has come to it (or
    /// ended), at most `timeoutSeconds`. Throws if the group failed or stopped, or the wait ran out.
    func arrive(_ index: Int, atRound round: UInt64, timeoutSeconds: Double) throws(HostFailure) {
        condition.lock()
        defer { condition.unlock() }
        reached[index] = round
        lastActivity = monotonicSeconds()
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while !allReached(round), failure == nil, !stopped {
            if !condition.wait(until: deadline) {
                if allReached(round) || failure != nil || stopped { break }
                let behind = reached.indices.filter { (reached[$0] ?? 0) < round || reached[$0] == nil }
                throw HostFailure("data streams \(behind.map(String.init).joined(separator: ", ")) did not come to round \(round) within \(timeoutSeconds) s (the receiver's idle timeout)")
            }
        }
        if let failure { throw HostFailure(failure) }
        if stopped { throw HostFailure("the migration stopped") }
        // The first stream out of the barrier (whoever completed it: an arrival or an end)
        // merges, before any stream writes a page of this round.
        if mergedRound.map({ $0 < round }) ?? true {
            mergeWritten()
            mergedRound = round
        }
        condition.broadcast()
    }

    private func allReached(_ round: UInt64) -> Bool {
        reached.allSatisfy { $0.map { $0 >= round } ?? false }
    }

    /// Every stream has read its `endOfStream`.
    private var allEnded: Bool { allReached(.max) }

    /// Called with the lock held, when every stream waits at the barrier or has ended.
    private func mergeWritten() {
        for stream in streams {
            sharedWritten.formUnion(stream.written)
            stream.written.removeAll()
        }
    }

    /// Stream `index` read `endOfStream`.
    func end(_ index: Int) {
        condition.withLock {
            reached[index] = .max
            lastActivity = monotonicSeconds()
            condition.broadcast()
        }
    }

    /// Stream `index`'s thread is done (ended, failed or stopped).
    func exit() {
        condition.withLock {
            exited += 1
            condition.broadcast()
        }
    }

    /// A data stream failed: the first reason is kept, every stream stops, and the main
    /// connection's reader wakes (its read ends) to abort the migration.
    func fail(_ reason: String) {
        condition.withLock {
            guard failure == nil, !stopped else { return }
            failure = reason
            for socket in sockets { shutdown(socket.fd, Int32(SHUT_RDWR)) }
            shutdown(mainSocket.fd, Int32(SHUT_RD))
            condition.broadcast()
        }
    }

    /// Why a data stream failed, if one did.
    var failureReason: String? { condition.withLock { failure } }

    /// Notes activity (an item read) for the main connection's idle timeout.
    func noteActivity() {
        condition.withLock { lastActivity = monotonicSeconds() }
    }

    /// Whether any data stream read something within the last `seconds`.
    func activeWithin(_ seconds: Double) -> Bool {
        condition.withLock { monotonicSeconds() - lastActivity < seconds }
    }

    /// The fault to act on for this record of `type` on a data stream, if any.
    func strikes(_ type: RecordType) -> ReceiverFaultInjection.Action? {
        condition.withLock { faults.strikes(type) }
    }

    /// Waits (at most `timeoutSeconds`, counted from the last activity) until every stream has
    /// ended; then the pages they received, for the machine. Throws the first failure, or a
    /// stream that fell silent.
    func awaitEnd(idleSeconds: Double) throws(HostFailure) -> (pages: DirtyBitmap, count: Int) {
        condition.lock()
        defer { condition.unlock() }
        while !allEnded, failure == nil, !stopped {
            let deadline = Date(timeIntervalSinceReferenceDate: Date.timeIntervalSinceReferenceDate + idleSeconds - (monotonicSeconds() - lastActivity))
            if !condition.wait(until: deadline), monotonicSeconds() - lastActivity >= idleSeconds, !allEnded {
                let open = reached.indices.filter { reached[$0] != .max }
                throw HostFailure("data streams \(open.map(String.init).joined(separator: ", ")) sent nothing for \(idleSeconds) s before their end (the receiver's idle timeout)")
            }
        }
        if let failure { throw HostFailure(failure) }
        if stopped { throw HostFailure("the migration stopped") }
        // Every thread is past its last write once it has ended; it exits at once after.
        let exitDeadline = Date(timeIntervalSinceNow: 10)
        while exited < count {
            if !condition.wait(until: exitDeadline), exited < count {
                throw HostFailure("\(count - exited) data stream threads did not finish within 10 s of their end")
            }
        }
        var pages = DirtyBitmap(pageCount: guestPages)
        for stream in streams { pages.formUnion(stream.received) }
        return (pages, streams.reduce(0) { $0 &+ $1.receivedCount })
    }

    /// Stops every stream (the migration is over, or aborted) and waits until their threads
    /// are gone, so that the guest's memory may be thrown away. Each thread leaves at its next
    /// read or barrier (its socket is shut); a write into guest memory under way finishes
    /// first. Bounded at 30 s: a thread still there then is reported, and the memory goes
    /// anyway (a write after that would end this process, never the source's guest).
    func stopAndWait() {
        condition.lock()
        defer { condition.unlock() }
        stopped = true
        for socket in sockets { shutdown(socket.fd, Int32(SHUT_RDWR)) }
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: 30)
        while exited < sockets.count {
            if !condition.wait(until: deadline), exited < sockets.count {
                FileHandle.standardError.write(Data("livemig: \(sockets.count - exited) data stream threads still running 30 s after the stop\n".utf8))
                return
            }
        }
    }
}

/// One data stream's pages: written by its thread alone, read by the group at a barrier (while
/// the thread waits there) or after it ended.
final class DataStreamPages: @unchecked Sendable {
    /// Pages this stream wrote data to since the last barrier.
    var written: DirtyBitmap
    /// Pages this stream received, as data or marker; how many (a page twice counts twice).
    var received: DirtyBitmap
    var receivedCount = 0
    /// Bytes read on this stream, set when it has ended.
    var bytesRead = 0

    init(guestPages: Int) {
        written = DirtyBitmap(pageCount: guestPages)
        received = written
    }
}
