import MigrationCore

/// One simulated migration: the discrete-event loop that drives one `MigrationLane` against
/// one link on virtual time.
///
/// Each engine action is started at the time it is asked for and completes after the time the
/// models say it takes; link failures and the time limit are events of their own that can cut
/// an action short.
///
/// One action is out at a time and there are only three other events, so each has a slot of
/// its own instead of a place in a heap (`EventQueue` cost a tenth of a fluid run here). Their
/// order is the heap's: at equal times the link failure, then the time limit, then the step
/// after an interruption, and all of them before the completion they tie with (they were
/// scheduled before it).
struct SimulationRun<Memory: SimulatedMemory, Tracker: PageTracking> where Tracker.DirtyLog == Memory.DirtyLog {
    private enum Event {
        case step
        case linkFails
        case timeLimit
        case operatorEvent
    }

    private var lane: MigrationLane<Memory, Tracker>
    /// When the link fails (`link.failAt`), until it has.
    private var linkFailsSeconds: Double?
    /// When the time limit strikes, until it has.
    private var timeLimitSeconds: Double?
    /// When the engine is asked for its next action after an interruption cut one short.
    private var stepSeconds: Double?
    /// The setting, kept once (in the lane): a copy per run cost its retains.
    private var config: SimulationConfig { lane.config }
    /// Whether an action is out, and whether it crosses the link.
    private var inFlightUsesLink: Bool?
    /// When the action out completes and how: one slot, since one action is out at a time (a
    /// heap entry per action cost a tenth of a fluid run). Nil while none is out, or while
    /// the one out never completes on its own (see `stall`).
    private var completionSeconds: Double?
    /// Why the action out can never complete (the link's bandwidth is 0 from then on, or a
    /// wait would end beyond any time), if so: only a link failure or the time limit ends it.
    private var stall: String?
    /// The engine's report, once the migration is over.
    private var report: MigrationReport?
    /// The next of `config.operatorEvents` to hand the engine, and its time (nil when none is
    /// left: kept here so that the loop does not read the setting at every event).
    private var nextOperatorEvent = 0
    private var nextOperatorEventSeconds: Double?
    /// Operator events the engine refused, for the report.
    private var refusedEvents: [String] = []
    /// How long a batch takes on the configured streams.
    private let streamsModel: ParallelStreamsModel

    init(config: SimulationConfig, memory: Memory, tracker: Tracker) {
        lane = MigrationLane(config: config, memory: memory, tracker: tracker)
        streamsModel = ParallelStreamsModel(streams: config.streams, costs: config.costs)
    }

    /// Runs to the end and returns the engine's report, with the simulator's seed and fidelity.
    mutating func run() -> (report: MigrationReport, sourceRunning: Bool, resumeCount: Int) {
        linkFailsSeconds = config.linkFailureAtSeconds
        timeLimitSeconds = config.maxSimulatedSeconds
        nextOperatorEventSeconds = config.operatorEvents.first?.atSeconds
        // The first step comes before any event at time 0 (it was scheduled first).
        if step(now: 0) { return finish() }
        while true {
            let next = nextEvent()
            // The completion goes first unless another event comes at the same time or
            // earlier (see the type's comment).
            if let at = completionSeconds, at < next?.seconds ?? .infinity {
                completionSeconds = nil
                inFlightUsesLink = nil
                lane.completeStarted(now: at)
                if step(now: at) { return finish() }
                continue
            }
            guard let (now, event) = next else { break }
            switch event {
            case .step:
                stepSeconds = nil
                if step(now: now) { return finish() }
            case .linkFails:
                linkFailsSeconds = nil
                lane.breakLink("the link failed at \(now) s (link.failAt)")
                interrupt(now: now, reason: "the link failed at \(now) s (link.failAt)", linkOnly: true)
            case .operatorEvent:
                operate(now: now)
            case .timeLimit:
                timeLimitSeconds = nil
                var reason = "the simulation reached its limit of \(config.maxSimulatedSeconds) s of virtual time (simulation.maxSeconds)"
                if let stall { reason += "; \(stall)" }
                lane.breakLink(reason)
                interrupt(now: now, reason: reason, linkOnly: false)
            }
        }
        preconditionFailure("no event left before the migration finished")
    }

    /// The earliest event other than the completion; at equal times the link failure, then the
    /// time limit, then the step.
    private func nextEvent() -> (seconds: Double, event: Event)? {
        var next: (seconds: Double, event: Event)?
        if let at = linkFailsSeconds { next = (at, .linkFails) }
        if let at = timeLimitSeconds, at < next?.seconds ?? .infinity { next = (at, .timeLimit) }
        if let at = stepSeconds, at < next?.seconds ?? .infinity { next = (at, .step) }
        if let at = nextOperatorEventSeconds, at < next?.seconds ?? .infinity { next = (at, .operatorEvent) }
        return next
    }

    /// Hands the engine the operator's next event. A wait for the cap then ends at once (as the
    /// executor cuts it short for `livemig job`), so that the engine paces by the new cap.
    private mutating func operate(now: Double) {
        let events = config.operatorEvents
        let timed = events[nextOperatorEvent]
        nextOperatorEvent += 1
        nextOperatorEventSeconds = nextOperatorEvent < events.count ? events[nextOperatorEvent].atSeconds : nil
        if case .refused(let why) = lane.handle(timed.event, now: now) {
            refusedEvents.append("at \(timed.atSeconds) s: \(why)")
        }
        guard lane.actionIsCapWait, completionSeconds != nil || stall != nil else { return }
        completionSeconds = nil
        stall = nil
        inFlightUsesLink = nil
        lane.completeStarted(now: now)
        stepSeconds = now
    }

    private mutating func finish() -> (report: MigrationReport, sourceRunning: Bool, resumeCount: Int) {
        if !refusedEvents.isEmpty { report?.refusedEvents = refusedEvents }
        return (report!, lane.hypervisor.running, lane.hypervisor.resumeCount)
    }

    /// Cuts the action out short with a failure.
    private mutating func interrupt(now: Double, reason: String, linkOnly: Bool) {
        guard let usesLink = inFlightUsesLink, usesLink || !linkOnly else { return }
        inFlightUsesLink = nil
        completionSeconds = nil
        stall = nil
        lane.complete(.failed(reason), now: now)
        stepSeconds = now
    }

    /// Starts the lane's next action; true when the migration is over (its report in
    /// `report`: not returned, since a report is large and this runs at every step).
    private mutating func step(now: Double) -> Bool {
        let work = lane.start(now: now)
        inFlightUsesLink = lane.actionUsesLink
        switch consume work {
        case .finished(let report):
            inFlightUsesLink = nil
            self.report = report
            return true
        case .waitUntil(let seconds):
            scheduleCompletion(at: seconds, stall: "the rate limit's wait from \(now) s never ends (migration.rateLimit)")
        case .local(let seconds):
            scheduleCompletion(at: now + seconds, stall: "the host action started at \(now) s never ends (source costs)")
        case .transfer(let bytes, let overheadSeconds, let cpuSeconds, let batchesAtOnce):
            let end = streamsModel.transferEndSeconds(now: now, bytes: bytes, overheadSeconds: overheadSeconds,
                                                      cpuSeconds: cpuSeconds, batchesAtOnce: batchesAtOnce, link: config.link)
            scheduleCompletion(at: end, stall: "the transfer started at \(now) s never ends (link.profile: the bandwidth stays 0)")
        }
        return false
    }

    /// Schedules the completion of the action out, unless it never comes: a transfer over a
    /// link whose bandwidth stays 0 ends at infinity (`LinkModel.transferEndSeconds`), and so
    /// may a wait for a rate limit near 0. Such an action stays out until a link failure or
    /// the time limit cuts it short, which every run has (simulation.maxSeconds).
    /// The stall's sentence is built only when it is needed (building it for every action cost
    /// a fifth of a fluid run).
    private mutating func scheduleCompletion(at seconds: Double, stall why: @autoclosure () -> String) {
        guard seconds.isFinite else {
            stall = why()
            return
        }
        completionSeconds = seconds
    }
}

extension SourceAction {
    /// True for the actions that use the link to the destination.
    var crossesLink: Bool {
        switch self {
        case .send, .sendDeviceState, .awaitDestinationReady, .clearDestinationToRun, .startPostcopy: true
        default: false
        }
    }
}
