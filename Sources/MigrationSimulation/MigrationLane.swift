import MigrationCore

/// One migration as a discrete-event driver sees it: the engine core, the simulated source
/// hypervisor and the simulated stream to the destination. The lane starts the engine's
/// actions (through the same `perform` the real executors use) and says what each needs from
/// the driver's clock: local time, a wait, or bytes over the link. The driver decides when the
/// link delivers them: `SimulationRun` from one `LinkModel`, an evacuation from a link that
/// several lanes share. So the per-action rules live here once.
struct MigrationLane<Memory: SimulatedMemory, Tracker: PageTracking> where Tracker.DirtyLog == Memory.DirtyLog {
    typealias Outcome = ActionOutcome<Memory.DirtyLog>

    /// What the action just started needs before it completes (with the outcome the lane
    /// holds for it: the driver's events then carry no payload to copy and release).
    enum Work {
        /// The migration is over (indirect, as `SourceAction.finished`: the report is large).
        indirect case finished(MigrationReport)
        /// Completes after this many seconds of the host's own time.
        case local(seconds: Double)
        /// A wait for the rate limit, until this time.
        case waitUntil(seconds: Double)
        /// Bytes over the link: completes when the link has carried them, plus the fixed
        /// per-batch cost, and no earlier than `cpuSeconds` after the start (the source's
        /// copy of the pages, which overlaps the network). `batchesAtOnce`: how many batches of
        /// the round could be on the streams together (the round's batches left, 1 for the
        /// device state, which goes on the main connection).
        case transfer(bytes: Double, overheadSeconds: Double, cpuSeconds: Double, batchesAtOnce: Int)
    }

    private(set) var engine: SourceMigration<Tracker>
    private(set) var hypervisor: SimulatedHypervisor<Memory>
    private(set) var channel: SimulatedChannel<Tracker.Batch>
    let config: SimulationConfig
    /// Whether the action last started uses the link (a link failure cuts only those short).
    private(set) var actionUsesLink = false
    /// How the action out ends when it completes on time (`completeStarted`).
    private var startedOutcome: Outcome?
    /// The engine's name for the action out.
    private var startedID: ActionID?
    /// Pages sent as zero-page markers so far (`SimulationConfig.zeroPageShare`).
    private(set) var zeroPagesSent = 0.0
    /// Pages sent as XBZRLE deltas so far (`config.sendsDeltas`), and the round they are counted
    /// against (its index and its pages at its first send).
    private var deltaPagesSent = 0.0
    private var deltaRound = (iteration: -1, pages: 1.0, previousPages: 1.0)
    /// Pages never sent yet: the first full pass's, whose `zeroPageShare` is zero.
    private var pagesNeverSent: Double
    /// Whether a batch went compressed, and the measurement of the send out, for the engine
    /// once it completes (as a real transport reports it).
    private var compressedSomething = false
    private var pendingCompressionSample: SourceEvent?
    /// Post-copy's destination guest and its faults, from the hand-over on (`PostcopyFaultModel`);
    /// whether the scenario can hand over at all is read once.
    private var faultModel: PostcopyFaultModel<Memory>?
    private let mayHandOver: Bool
    /// Whether the action out is a send (whose end serves the faults it carries).
    private var startedSend = false

    init(config setting: SimulationConfig, memory: Memory, tracker: Tracker) {
        var config = setting
        if config.linkEfficiency != 1 {
            // The rates transfers achieve (`link.efficiency`): the link and the cap, scaled.
            for index in config.link.bandwidthProfile.indices { config.link.bandwidthProfile[index].bytesPerSecond *= config.linkEfficiency }
            config.engine.rateLimitBytesPerSecond = config.engine.rateLimitBytesPerSecond.map { $0 * config.linkEfficiency }
        }
        self.config = config
        engine = SourceMigration(tracker: tracker, policy: config.policy.makePolicy(), settings: config.engine)
        hypervisor = SimulatedHypervisor(memory: memory, deviceStateBytes: config.costs.deviceStateBytes)
        channel = SimulatedChannel(guestPages: config.guestPages)
        pagesNeverSent = Double(config.guestPages)
        mayHandOver = config.engine.postcopy != .never
    }

    /// Asks the engine for its next action at `now` and starts it.
    mutating func start(now: Double) -> Work {
        hypervisor.nowSeconds = now
        if mayHandOver, engine.inPostcopy { touchMissingPages(now: now) }
        // One action out at a time (the lane starts the next only once the last completed), so
        // the engine always has one to hand out.
        guard let tagged = engine.poll(now: now) else { preconditionFailure("the engine handed out nothing with no action out") }
        let action = tagged.action
        startedID = tagged.id
        if faultModel != nil {
            startedSend = false
            if case .send(_, let pages, _) = action {
                startedSend = true
                faultModel?.sendStarted(pages: pages, now: now)
            }
        }
        actionIsCapWait = false
        actionUsesLink = action.crossesLink
        switch action {
        case .finished(let report):
            var report = report
            report.seed = config.seed
            if compressedSomething { report.compressionRatio = 1 / config.compressRatio }
            if deltaPagesSent >= 1 {
                report.deltaPagesSent = CheckedConversion.clampedInt(deltaPagesSent.rounded(), to: 0 ... Int.max)
                report.compressionRatio = 1 / config.deltaRatio
            }
            report.fidelity = config.fidelity.rawValue
            if config.zeroPageShare > 0 { report.zeroPagesSent = CheckedConversion.clampedInt(zeroPagesSent.rounded(), to: 0 ... Int.max) }
            if let model = faultModel, var postcopy = report.postcopy {
                model.fill(&postcopy)
                report.postcopy = postcopy
            }
            // The destination's part as the host model has it: starting the guest there
            // (`resumeSeconds`); its state load and check cost nothing in this model.
            report.pausePhases = report.pausePhases?.adding(
                destination: DestinationPauseWork(stateLoadSeconds: 0, checkSeconds: 0, unpauseSeconds: config.costs.resumeSeconds))
            return .finished(report)
        case .waitUntil(let seconds):
            startedOutcome = .done
            actionIsCapWait = true
            return .waitUntil(seconds: max(seconds, now))
        default:
            let outcome = perform(action, on: &hypervisor, over: &channel)
            startedOutcome = outcome
            if case .failed = outcome { return .local(seconds: 0) }
            let costs = config.costs
            switch action {
            case .send(_, let pages, let wireBytes):
                var bytes = wireBytesAfterZeroPages(pages: pages, wireBytes: wireBytes)
                var cpuSeconds = pages * costs.pageCopySecondsPerPage
                var serialSeconds = 0.0
                if config.sendsDeltas {
                    if engine.compressesSends, !engine.inPostcopy, engine.stats.iteration >= 1 {
                        let delta = deltaSend(pages: pages, wireBytes: wireBytes, bytes: bytes)
                        bytes -= delta.savedBytes
                        serialSeconds = delta.seconds
                    }
                } else if config.engine.compression != .off, engine.compressesSends {
                    // The pages with data (not zero markers) shrink to the ratio, at a CPU cost
                    // each; the engine hears it, as from a real transport.
                    var dataPages = max(0, (bytes - (wireBytes - pages * Double(config.pageSizeBytes))) / Double(config.pageSizeBytes))
                    // The choice's first measurement is one real batch (a fluid batch is many).
                    if engine.compressionNeedsMeasurement { dataPages = min(dataPages, Double(config.engine.maxBatchPages)) }
                    let dataBytes = dataPages * Double(config.pageSizeBytes)
                    // A frame not a sixteenth smaller is not sent (the batch goes whole), as
                    // the transport does.
                    let shrinks = config.compressRatio <= 15.0 / 16
                    if shrinks { bytes -= dataBytes * (1 - config.compressRatio) }
                    let seconds = dataPages * costs.compressSecondsPerPage
                    // One connection compresses a batch, then writes it; several overlap one
                    // stream's compression with the others' writes.
                    if config.streams > 1 { cpuSeconds += seconds } else { serialSeconds = seconds }
                    if dataBytes > 0 {
                        compressedSomething = compressedSomething || shrinks
                        pendingCompressionSample = .compressionMeasured(dataBytes: dataBytes, frameBytes: dataBytes * config.compressRatio,
                                                                        seconds: seconds)
                    }
                }
                startedOutcome = .sent(bytes: bytes)
                // This batch and the round's pages still pending, in real batches (a fluid
                // batch is a sixteenth of a round: many real ones).
                // (Only streams need it: one stream skips the sum on the hot path.)
                let batchesLeft = config.streams == 1 ? 1
                    : CheckedConversion.clampedInt(((pages + engine.pagesPending) / Double(max(config.engine.maxBatchPages, 1))).rounded(.up),
                                                   to: 1 ... SimulationConfig.maxStreams)
                return .transfer(bytes: bytes, overheadSeconds: config.link.perBatchOverheadSeconds + serialSeconds, cpuSeconds: cpuSeconds,
                                 batchesAtOnce: batchesLeft)
            case .sendDeviceState:
                return .transfer(bytes: Double(costs.deviceStateBytes), overheadSeconds: config.link.perBatchOverheadSeconds, cpuSeconds: 0,
                                 batchesAtOnce: 1)
            default:
                return .local(seconds: localSeconds(of: action))
            }
        }
    }

    /// A send with XBZRLE deltas, from the second round on: those of the data pages (not zero
    /// markers) whose copy is still kept go at `deltaRatio` of their size, at `deltaSecondsPerPage`
    /// each, before the write. The copies are direct-mapped (page mod slots), so after the first
    /// round's pass over the whole guest they hold its last 64 MiB: a share slots / guest pages of
    /// round 2's pages; after that, the previous round's pages, as far as 64 MiB holds them. (Pages
    /// never sent before and slot collisions are left out: an upper bound.) The engine hears the
    /// measurement, as from the transport.
    private mutating func deltaSend(pages: Double, wireBytes: Double, bytes: Double) -> (savedBytes: Double, seconds: Double) {
        let pageBytes = Double(config.pageSizeBytes)
        let dataPages = max(0, (bytes - (wireBytes - pages * pageBytes)) / pageBytes)
        let slots = config.deltaCacheBytes / pageBytes
        if deltaRound.iteration != engine.stats.iteration {
            deltaRound = (engine.stats.iteration, max(pages + engine.pagesPending, 1), deltaRound.pages)
        }
        let heldShare = engine.stats.iteration == 1 ? slots / max(Double(config.guestMemoryBytes) / pageBytes, 1) : slots / deltaRound.previousPages
        let held = dataPages * min(1, heldShare)
        guard held > 0 else { return (0, 0) }
        let seconds = held * config.costs.deltaSecondsPerPage
        deltaPagesSent += held
        pendingCompressionSample = .compressionMeasured(dataBytes: held * pageBytes, frameBytes: held * pageBytes * config.deltaRatio,
                                                        seconds: seconds)
        return (held * pageBytes * (1 - config.deltaRatio), seconds)
    }

    /// The action out completed on time at `now`, with the outcome it was started with.
    mutating func completeStarted(now: Double) {
        // Moved out, not copied: an outcome may hold a dirty log.
        guard let outcome = startedOutcome.take(), let id = startedID.take() else { preconditionFailure("no action out to complete") }
        engine.complete(id, outcome, now: now)
        if let sample = pendingCompressionSample.take() { _ = engine.handle(sample, now: now) }
        if startedSend { faultModel?.sendCompleted(now: now) }
    }

    /// Post-copy: the destination's guest touches pages up to `now`; those still on the source
    /// go to the engine as a request.
    private mutating func touchMissingPages(now: Double) {
        if faultModel == nil {
            faultModel = PostcopyFaultModel(memory: hypervisor.memory, startSeconds: now, linkLatencySeconds: config.link.latencySeconds,
                                            batchPages: max(1, min(config.engine.maxBatchPages, config.engine.postcopyBatchPages)),
                                            windowPages: config.engine.postcopyWindowBytes / max(config.engine.pageSizeBytes, 1))
        }
        guard let request = faultModel?.touches(upTo: now, engine: engine) else { return }
        _ = engine.handle(.pagesRequested(request), now: now)
    }

    /// Hands the engine an operator's event at `now` (`SimulationConfig.operatorEvents`).
    mutating func handle(_ event: SourceEvent, now: Double) -> SourceEventAnswer {
        engine.handle(event, now: now)
    }

    /// Whether the action out is a wait for the bandwidth cap (which a new cap cuts short).
    private(set) var actionIsCapWait = false

    /// The action out was cut short at `now`: it ends with `outcome` instead of its own.
    mutating func complete(_ outcome: Outcome, now: Double) {
        startedOutcome = nil
        pendingCompressionSample = nil
        guard let id = startedID.take() else { preconditionFailure("no action out to complete") }
        engine.complete(id, outcome, now: now)
    }

    /// The link went down: the destination learns it and throws its partial guest away.
    mutating func breakLink(_ reason: String) {
        channel.breakLink(reason)
    }

    /// A batch's bytes once its zero pages go as markers: `zeroPageShare` of the pages sent for
    /// the first time cost their 8-byte page number, not the page. A batch holds pages never
    /// sent in the share they have among the pages pending (the first pass can run on past a
    /// round's end: QEMU's mid-round sync adds the dirtied pages to the rest of it); pages
    /// sent before were dirtied since, so they are not zero.
    private mutating func wireBytesAfterZeroPages(pages: Double, wireBytes: Double) -> Double {
        guard config.zeroPageShare > 0, pagesNeverSent > 0 else { return wireBytes }
        let pendingBefore = engine.pagesPending + pages
        let firstSends = min(pagesNeverSent, pendingBefore > 0 ? pages * min(1, pagesNeverSent / pendingBefore) : 0)
        pagesNeverSent -= firstSends
        let zero = firstSends * config.zeroPageShare
        zeroPagesSent += zero
        return max(0, wireBytes - zero * Double(config.pageSizeBytes))
    }

    /// Seconds an action that does not use the link's bandwidth takes, from the host model
    /// and the link's latency.
    private func localSeconds(of action: SourceAction<Tracker.Batch>) -> Double {
        let costs = config.costs
        switch action {
        case .enableDirtyLogging, .disableDirtyLogging, .readAndClearDirtyLog:
            return costs.dirtyLogReadSecondsPerGiB * Double(config.guestMemoryBytes) / 1_073_741_824
        case .peekDirtyLog:
            return costs.dirtyLogPeekSecondsPerGiB * Double(config.guestMemoryBytes) / 1_073_741_824
        case .pauseGuest, .resumeSource:
            return costs.pauseSeconds
        case .awaitDestinationReady:
            // The last byte reaches the destination, and its "ready" comes back.
            return 2 * config.link.latencySeconds
        case .clearDestinationToRun, .startPostcopy:
            // "Cleared to unpause" reaches the destination, which starts the guest.
            return config.link.latencySeconds + costs.resumeSeconds
        case .send, .sendDeviceState, .throttleGuest, .destroySource, .waitUntil, .finished:
            return 0
        }
    }
}
