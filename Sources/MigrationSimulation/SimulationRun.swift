import MigrationCore

/// One simulated migration: the discrete-event loop that drives one `MigrationLane` against
/// one link on virtual time.
///
/// Each engine action is started at the time it is asked for and completes after the time the
/// models say it takes; link failures and the time limit are events of their own that can cut
/// an action short.
struct SimulationRun<Memory: SimulatedMemory, Tracker: PageTracking> where Tracker.DirtyLog == Memory.DirtyLog {
    private enum Event {
        case step
        case complete(generation: Int, ActionOutcome<Memory.DirtyLog>)
        case linkFails
        case timeLimit
    }

    private var lane: MigrationLane<Memory, Tracker>
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
    /// The engine's report, once the migration is over.
    private var report: MigrationReport?

    init(config: SimulationConfig, memory: Memory, tracker: Tracker) {
        self.config = config
        lane = MigrationLane(config: config, memory: memory, tracker: tracker)
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
                if step(now: now) { return finish() }
            case .complete(let completed, let outcome):
                guard inFlight?.generation == completed else { continue }
                inFlight = nil
                lane.complete(outcome, now: now)
                if step(now: now) { return finish() }
            case .linkFails:
                lane.breakLink("the link failed at \(now) s (link.failAt)")
                interrupt(now: now, reason: "the link failed at \(now) s (link.failAt)", linkOnly: true)
            case .timeLimit:
                var reason = "the simulation reached its limit of \(config.maxSimulatedSeconds) s of virtual time (simulation.maxSeconds)"
                if let stall { reason += "; \(stall)" }
                lane.breakLink(reason)
                interrupt(now: now, reason: reason, linkOnly: false)
            }
        }
        preconditionFailure("the event queue ran dry before the migration finished")
    }

    private func finish() -> (report: MigrationReport, sourceRunning: Bool, resumeCount: Int) {
        (report!, lane.hypervisor.running, lane.hypervisor.resumeCount)
    }

    /// Cuts the action out short with a failure.
    private mutating func interrupt(now: Double, reason: String, linkOnly: Bool) {
        guard let out = inFlight, out.usesLink || !linkOnly else { return }
        inFlight = nil
        stall = nil
        lane.complete(.failed(reason), now: now)
        queue.schedule(.step, at: now)
    }

    /// Starts the lane's next action; true when the migration is over (its report in
    /// `report`: not returned, since a report is large and this runs at every step).
    private mutating func step(now: Double) -> Bool {
        let work = lane.start(now: now)
        generation += 1
        inFlight = (generation, lane.actionUsesLink)
        switch consume work {
        case .finished(let report):
            inFlight = nil
            self.report = report
            return true
        case .waitUntil(let seconds):
            scheduleCompletion(.done, at: seconds,
                               stall: "the rate limit's wait from \(now) s never ends (migration.rateLimit)")
        case .local(let seconds, let outcome):
            scheduleCompletion(outcome, at: now + seconds, stall: "the host action started at \(now) s never ends (source costs)")
        case .transfer(let bytes, let overheadSeconds, let cpuSeconds, let outcome):
            // Written as before the lane was split out, so that the sums round the same way.
            let network = config.link.transferEndSeconds(start: now, bytes: bytes) - now + overheadSeconds
            scheduleCompletion(outcome, at: now + max(network, cpuSeconds),
                               stall: "the transfer started at \(now) s never ends (link.profile: the bandwidth stays 0)")
        }
        return false
    }

    /// Schedules the completion of the action out, unless it never comes: a transfer over a
    /// link whose bandwidth stays 0 ends at infinity (`LinkModel.transferEndSeconds`), and so
    /// may a wait for a rate limit near 0. Such an action stays out until a link failure or
    /// the time limit cuts it short, which every run has (simulation.maxSeconds).
    /// The stall's sentence is built only when it is needed (building it for every action cost
    /// a fifth of a fluid run).
    private mutating func scheduleCompletion(_ outcome: ActionOutcome<Memory.DirtyLog>, at seconds: Double, stall why: @autoclosure () -> String) {
        guard seconds.isFinite else {
            stall = why()
            return
        }
        queue.schedule(.complete(generation: generation, outcome), at: seconds)
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
