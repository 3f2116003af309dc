import Foundation
import MigrationCore

/// The source's reader of post-copy's return path: a thread that reads the destination's page
/// requests (`pageRequest`) into a mailbox, which the executor empties between two actions into
/// the engine (`SourceEvent.pagesRequested`); the engine is never shared between threads.
/// The return path ending or breaking is not fatal: the pushed pages still finish the migration.
public final class ReturnPathReader: @unchecked Sendable {
    private let condition = NSCondition()
    private var queued = Set<Int>()
    /// Why reading stopped, once it has (nil while it reads).
    private var endReason: String?
    private var channel: StreamChannel
    private let socket: BlockingSocket
    private let done = DispatchSemaphore(value: 0)
    private var started = false

    /// The guest's page count: a request naming a page at or past it is the destination
    /// breaking the protocol, dropped (and said once) here, so that it cannot make the engine
    /// refuse the valid requests taken with it.
    private let guestPages: Int
    private var refusedRequest: String?

    init(channel: StreamChannel, socket: BlockingSocket, guestPages: Int) {
        self.channel = channel
        self.socket = socket
        self.guestPages = guestPages
    }

    /// Starts reading (once the migration is under way).
    public func start() {
        condition.withLock { started = true }
        let thread = Thread { [self] in
            readRequests()
            done.signal()
        }
        thread.name = "livemig return path"
        thread.start()
    }

    private func readRequests() {
        while true {
            do {
                let pages = try channel.nextPageRequest()
                if let bad = pages.first(where: { $0 >= UInt64(guestPages) }) {
                    if refusedRequest == nil {
                        refusedRequest = "a request for page \(bad); the guest has \(guestPages) pages"
                        FileHandle.standardError.write(Data("livemig: the destination's page request was dropped: \(refusedRequest ?? "")\n".utf8))
                    }
                    continue
                }
                condition.withLock {
                    for page in pages { queued.insert(Int(page)) }
                    condition.broadcast()
                }
            } catch {
                condition.withLock { endReason = error.description }
                return
            }
        }
    }

    /// Whether requests wait to be taken.
    public var hasRequests: Bool { condition.withLock { !queued.isEmpty } }

    /// The pages asked for since the last take, ascending, each once (a batch's pages must be).
    public func take() -> [Int] {
        condition.withLock {
            defer { queued.removeAll(keepingCapacity: true) }
            return queued.sorted()
        }
    }

    /// Why the return path stopped being read (nil while it is).
    public var ended: String? { condition.withLock { endReason } }

    /// Shuts the connection and waits for the reader thread (its read ends at the shutdown), at
    /// most `stopSeconds`; a thread still there then keeps its descriptor (closed, the number
    /// could be reused under it), and is said.
    public func stop() {
        shutdown(socket.fd, Int32(SHUT_RDWR))
        if condition.withLock({ started }), done.wait(timeout: .now() + Self.stopSeconds) == .timedOut {
            FileHandle.standardError.write(Data("livemig: the return path's reader did not end within \(Self.stopSeconds) s of its shutdown\n".utf8))
            return
        }
        socket.close()
    }

    static let stopSeconds = 10.0
}
