import MigrationCore
import MigrationExecutor

/// Performs `DestinationMigration`'s actions on a Xen host in xl's words: "ready" is
/// `XlMigrationProtocol.ready`; the unpause renames NAME--incoming to NAME first; "running" is
/// the report with status 0; an abort before the permission to go is silence (xl's receiver
/// just closes), after it the report with a failure status and, once the copy here is
/// destroyed (`DestinationMigration` orders the destroy first; a failed destroy stops here),
/// the permission to resume sent back.
struct XenReceiveSession<Host: XenMigrationDestinationHost> {
    let name: String
    let id: UInt32
    let host: Host
    let socket: BlockingSocket
    var machine = DestinationMigration(completenessCheck: .byHypervisor)
    let builtSeconds = monotonicSeconds()
    private(set) var runningSeconds = 0.0
    /// Why the domain does not run here, once the machine aborted.
    private(set) var failure: HostFailure?
    private var cleared = false
    private var destroyed = false

    var incomingName: String { name + "--incoming" }

    init(name: String, id: UInt32, host: Host, socket: BlockingSocket) {
        self.name = name
        self.id = id
        self.host = host
        self.socket = socket
    }

    /// Performs the actions in order; a failing one becomes a `localFailure` whose actions
    /// (destroy, report) are performed in its place.
    mutating func perform(_ actions: [DestinationMigration.Action]) {
        for action in actions {
            do {
                try perform(action)
            } catch {
                if case .aborted(let reason) = machine.state {
                    // The destroy failed: say nothing more, so the sender stays paused.
                    failure = HostFailure("\(name): \(reason); the copy here could not be destroyed (\(error.description)), so the sender was not told to resume")
                    return
                }
                perform(machine.handle(.localFailure(error.description)))
                return
            }
        }
    }

    private mutating func perform(_ action: DestinationMigration.Action) throws(HostFailure) {
        switch action {
        case .reportReady:
            try socket.write(XlMigrationProtocol.ready)
        case .unpauseGuest:
            cleared = true
            try host.rename(id, from: incomingName, to: name)
            try host.unpause(id)
            runningSeconds = monotonicSeconds()
            perform(machine.handle(.guestRunning))
        case .reportRunning:
            try? socket.write(XlMigrationProtocol.report + [0])
        case .destroyGuest:
            try host.destroy(id)
            destroyed = true
        case .reportAbort(let reason):
            failure = HostFailure("\(name): \(reason); the copy here was destroyed" + (cleared ? " and the sender may resume" : ""))
            guard cleared, destroyed else { return }
            // ERROR_FAIL, negated as xl sends it, then the permission back.
            try? socket.write(XlMigrationProtocol.report + [3] + XlMigrationProtocol.permissionToGo)
        case .createGuest, .receivePageData, .zeroAnnouncedPages, .acceptParallelStreams, .loadVcpuState, .loadDeviceState, .verifyMemory,
             .markPagesMissing, .holdGuestPaused, .reportPostcopyComplete:
            throw HostFailure("\(action) has no meaning when libxl restores the domain")
        }
    }
}
