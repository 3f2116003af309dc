/// The destination side of a migration, sans I/O: receive, then commit or abort.
///
/// The destination builds the guest paused as the stream arrives, says "ready to unpause" only
/// when it holds all of it (pages, device state, end of stream), and runs it only when the
/// source says "cleared to unpause": the two-step handshake of `xl migrate` (libxl's
/// `migrate_receive` in `tools/xl/xl_migrate.c`). Any failure before that destroys the partial
/// guest here, so the guest runs in exactly one place.
public struct DestinationMigration: Sendable {
    public enum State: Sendable, Equatable {
        case awaitingStream, receiving, holdsWholeGuest, running, aborted(String)
    }

    public enum Event: Sendable, Equatable {
        case streamOpened(guestPages: Int)
        case pagesReceived(count: Int)
        case deviceStateReceived
        case endOfStream
        case clearedToRun
        case transportFailed(String)
    }

    public enum Action: Sendable, Equatable {
        /// Create the (paused) guest that will receive the memory.
        case createGuest(pages: Int)
        /// Load received vCPU and device state into the paused guest.
        case loadDeviceState
        /// Tell the source "ready to unpause".
        case reportReady
        /// Run the guest here.
        case unpauseGuest
        /// Tell the source the guest runs here.
        case reportRunning
        /// Throw away the partial guest.
        case destroyGuest
    }

    public private(set) var state: State = .awaitingStream
    public private(set) var guestPages = 0
    public private(set) var pagesReceived = 0
    private var hasDeviceState = false

    public init() {}

    /// Feeds one event; returns what the driver must do, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        switch (state, event) {
        case (.awaitingStream, .streamOpened(let pages)):
            guard pages > 0 else { return abort("the stream announces a guest of \(pages) pages") }
            guestPages = pages
            state = .receiving
            return [.createGuest(pages: pages)]
        case (.receiving, .pagesReceived(let count)):
            guard count >= 0 else { return abort("a batch of \(count) pages") }
            pagesReceived += count
            return []
        case (.receiving, .deviceStateReceived):
            hasDeviceState = true
            return [.loadDeviceState]
        case (.receiving, .endOfStream):
            guard hasDeviceState else { return abort("the stream ended before the vCPU and device state arrived") }
            // Every page goes out at least once (the first pass sends them all, skipped ones go
            // later), so fewer pages than the guest has means pages are missing. The executors
            // also check a bitmap of the pages received.
            guard pagesReceived >= guestPages else {
                return abort("the stream ended with \(pagesReceived) pages received of the guest's \(guestPages)")
            }
            state = .holdsWholeGuest
            return [.reportReady]
        case (.holdsWholeGuest, .clearedToRun):
            state = .running
            return [.unpauseGuest, .reportRunning]
        case (.running, _), (.aborted, _):
            return []
        case (_, .transportFailed(let message)):
            return abort(message)
        default:
            return abort("unexpected \(event) while \(state)")
        }
    }

    private mutating func abort(_ reason: String) -> [Action] {
        let hadGuest = state != .awaitingStream
        state = .aborted(reason)
        return hadGuest ? [.destroyGuest] : []
    }
}
