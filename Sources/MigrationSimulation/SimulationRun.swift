import MigrationCore

/// One simulated migration: the discrete-event loop that drives the engine core against the
/// simulated hypervisor and link on virtual time.
///
/// Each engine action is performed at the time it is asked for (through the same `perform`
/// the real executors use) and completes after the time the models say it takes; link
/// failures and the time limit are events of their own that can cut an action short.
struct SimulationRun<Memory: SimulatedMemory, Tracker: PageTracking> where Tracker.DirtyLog == Memory.DirtyLog {
    private enum Event {
        case step
        case complete(generation: Int, ActionOutcome<Memory.DirtyLog>)
        case linkFails
        case timeLimit
    }

    private var engine: SourceMigration<Tracker>
    private var hypervisor: SimulatedHypervisor<Memory>
    private var channel: SimulatedChannel<Tracker.Batch>
    private var queue = EventQueue<Event>(capacity: 64)
    private let config: SimulationConfig
    private var generation = 0
    /// The action out: its generation, and whether it crosses the link.
    private var inFlight: (generation: Int, usesLink: Bool)?
    /// Events handled, for the benchmark.
    private(set) var eventCount = 0
    /// Why the action out can never complete (the link's bandwidth is 0 from then on, or a
    /// wait would end beyond any time), if so: only a link failure or the time limit ends it.
    private var stall: String?

    init(config: SimulationConfig, memory: Memory, tracker: Tracker) {
        self.config = config
        engine = SourceMigration(tracker: tracker, policy: config.policy.makePolicy(), settings: config.engine)
        hypervisor = SimulatedHypervisor(memory: memory, deviceStateBytes: config.costs.deviceStateBytes)
        channel = SimulatedChannel(guestPages: config.guestPages)
    }

    /// Runs to the end and returns the engine's report, with the simulator's seed and fidelity.
    mutating func run() -> (report: MigrationReport, sourceRunning: Bool, resumeCount: Int) {
        queue.schedule(.step, at: 0)
        if let failAt = config.linkFailureAtSeconds { queue.schedule(.linkFails, at: failAt) }
        queue.schedule(.timeLimit, at: config.maxSimulatedSeconds)
        while let (now, event) = queue.popNext() {
            eventCount += 1
            switch event {
            case .step:
                if let report = step(now: now) { return finish(report) }
            case .complete(let completed, let outcome):
                guard inFlight?.generation == completed else { continue }
                inFlight = nil
                engine.complete(outcome, now: now)
                if let report = step(now: now) { return finish(report) }
            case .linkFails:
                channel.breakLink("the link failed at \(now) s (link.failAt)")
                interrupt(now: now, reason: "the link failed at \(now) s (link.failAt)", linkOnly: true)
            case .timeLimit:
                var reason = "the simulation reached its limit of \(config.maxSimulatedSeconds) s of virtual time (simulation.maxSeconds)"
                if let stall { reason += "; \(stall)" }
                channel.breakLink(reason)
                interrupt(now: now, reason: reason, linkOnly: false)
            }
        }
        preconditionFailure("the event queue ran dry before the migration finished")
    }

    private func finish(_ report: MigrationReport) -> (report: MigrationReport, sourceRunning: Bool, resumeCount: Int) {
        var report = report
        report.seed = config.seed
        report.fidelity = config.fidelity.rawValue
        return (report, hypervisor.running, hypervisor.resumeCount)
    }

    /// Cuts the action out short with a failure.
    private mutating func interrupt(now: Double, reason: String, linkOnly: Bool) {
        guard let out = inFlight, out.usesLink || !linkOnly else { return }
        inFlight = nil
        stall = nil
        engine.complete(.failed(reason), now: now)
        queue.schedule(.step, at: now)
    }

    /// Asks the engine for its next action and starts it; returns the report when finished.
    private mutating func step(now: Double) -> MigrationReport? {
        hypervisor.nowSeconds = now
        let action = engine.nextAction(now: now)
        generation += 1
        switch action {
        case .finished(let report):
            return report
        case .waitUntil(let seconds):
            inFlight = (generation, false)
            scheduleCompletion(.done, at: max(seconds, now),
                               stall: "the rate limit's wait from \(now) s never ends (migration.rateLimit)")
        default:
            let outcome = perform(action, on: &hypervisor, over: &channel)
            let seconds: Double
            if case .failed = outcome { seconds = 0 } else { seconds = duration(of: action, at: now) }
            inFlight = (generation, action.crossesLink)
            scheduleCompletion(outcome, at: now + seconds,
                               stall: "the transfer started at \(now) s never ends (link.profile: the bandwidth stays 0)")
        }
        return nil
    }

    /// Schedules the completion of the action out, unless it never comes: a transfer over a
    /// link whose bandwidth stays 0 ends at infinity (`LinkModel.transferEndSeconds`), and so
    /// may a wait for a rate limit near 0. Such an action stays out until a link failure or
    /// the time limit cuts it short, which every run has (simulation.maxSeconds).
    private mutating func scheduleCompletion(_ outcome: ActionOutcome<Memory.DirtyLog>, at seconds: Double, stall why: String) {
        guard seconds.isFinite else {
            stall = why
            return
        }
        queue.schedule(.complete(generation: generation, outcome), at: seconds)
    }

    /// Virtual seconds an action takes, from the link and host models.
    private func duration(of action: SourceAction<Tracker.Batch>, at now: Double) -> Double {
        let link = config.link
        let costs = config.costs
        switch action {
        case .enableDirtyLogging, .disableDirtyLogging, .readAndClearDirtyLog:
            return costs.dirtyLogReadSecondsPerGiB * Double(config.guestMemoryBytes) / 1_073_741_824
        case .peekDirtyLog:
            return costs.dirtyLogPeekSecondsPerGiB * Double(config.guestMemoryBytes) / 1_073_741_824
        case .send(_, let pages, let wireBytes):
            let network = link.transferEndSeconds(start: now, bytes: wireBytes) - now + link.perBatchOverheadSeconds
            return max(network, pages * costs.pageCopySecondsPerPage)
        case .sendDeviceState:
            return link.transferEndSeconds(start: now, bytes: Double(costs.deviceStateBytes)) - now + link.perBatchOverheadSeconds
        case .pauseGuest, .resumeSource:
            return costs.pauseSeconds
        case .awaitDestinationReady:
            // The last byte reaches the destination, and its "ready" comes back.
            return 2 * link.latencySeconds
        case .clearDestinationToRun:
            // "Cleared to unpause" reaches the destination, which starts the guest.
            return link.latencySeconds + costs.resumeSeconds
        case .throttleGuest, .destroySource, .waitUntil, .finished:
            return 0
        }
    }
}

extension SourceAction {
    /// True for the actions that use the link to the destination.
    var crossesLink: Bool {
        switch self {
        case .send, .sendDeviceState, .awaitDestinationReady, .clearDestinationToRun: true
        default: false
        }
    }
}
