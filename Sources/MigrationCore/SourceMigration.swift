/// The source side of a pre-copy migration, sans I/O: the driver polls for actions
/// (`poll(now:)`), performs them, and reports each one's end by its id
/// (`complete(_:_:now:)`); input it did not ask for (a cancel, a new limit) goes in through
/// `handle(_:now:)`. Time is an argument; the engine never reads a clock, sleeps or starts work
/// of its own. The same code runs under the simulator (virtual time) and the real executors
/// (wall clock).
///
/// Order of a live migration: enable dirty logging; round 1 sends every page; after each live
/// round the policy is consulted, the dirty log is read and cleared into the next round, and
/// the policy is consulted again; when it says stop, the guest is paused, the log read once
/// more, the final round sent paused, then device state, end of stream, the destination's
/// "ready", "cleared to run", and only then is the source destroyed. A failure before the
/// destination has been cleared to run leaves the source guest running.
///
/// With `EngineSettings.maxActionsInFlight` above 1, the sends of one round overlap (one per
/// stream); every step that reads or changes the round (the end of the round, a dirty-log
/// read, the pause) waits until all of them are in.
///
/// The work is spread over extensions: completions (`+Completion`), rounds and the policy
/// (`+Rounds`), the end and the abort path (`+Ending`), events (`+Events`).
public struct SourceMigration<Tracker: PageTracking> {
    public internal(set) var settings: EngineSettings
    /// The stats the policy sees, the rounds, the rate: kept as every path keeps them.
    var ledger: RoundLedger
    public var stats: PrecopyStats { ledger.stats }
    /// The round under way, counted from 1 at every round begun, the paused one included:
    /// strictly increasing from one round to the next (the policy's `iteration` is not: a round
    /// ended early for the stop-and-copy keeps its number). What a parallel migration marks its
    /// rounds with on the data streams; 0 before the first.
    public var roundNumber: Int { ledger.round?.index ?? 0 }
    /// Whether the sends handed out now are to be compressed (`EngineSettings.compression`:
    /// always, never, or the engine's choice for the round, `CompressionChoice`).
    public var compressesSends: Bool { compression.compressing }
    /// Whether the engine's choice still waits for its first measurement of the compression
    /// (a simulated transport then compresses one batch's worth, as a real one does).
    public var compressionNeedsMeasurement: Bool { compression.needsMeasurement }
    var compression: CompressionChoice
    var tracker: Tracker
    var policy: any PrecopyPolicy
    /// Whether live rounds pass over pages already dirty again (a peek before each batch): the
    /// policy's `skipsPagesDirtiedDuringRound` (Xen 3), read once (it says how the policy works,
    /// and an existential read per batch is a real cost).
    let skipsPagesDirtiedDuringRound: Bool
    /// The live round before a hand-over planned after N rounds, which passes over pages already
    /// dirty again (`EngineSettings.postcopySkipsPagesDirtiedAgain`): such a page is in the dirty
    /// log read after the round, so it goes after the hand-over as a missing page anyway. Nil
    /// when no such round is planned (or the rule is off).
    let skipRoundBeforeHandOver: Int?
    /// The policy's `guestThrottlePercent`, read again after every consultation (a policy is a
    /// value: only its mutating calls change it).
    var wantedThrottlePercent = 0

    /// What the engine hands out next.
    var step: SourceStep
    /// The actions out, oldest first; at most `settings.maxActionsInFlight`.
    var inFlight = ActionsInFlight()
    @usableFromInline var lastActionID: UInt64 = 0
    /// A policy's answer between batches that ends the round, given while sends were still
    /// out: applied once they are all in (only with more than one action in flight).
    var heldCheckpoint: BatchCheckpoint?
    /// An operator's cancel not yet acted on (it waits for the actions out).
    var pendingCancelReason: String?
    var stop: PrecopyStop?
    var peeked: Tracker.DirtyLog?
    /// The dirty log of the completion being handled (`complete` parks it here).
    @usableFromInline var deliveredLog: Tracker.DirtyLog?
    var rateLimiter: RateLimiter?
    /// Bumped whenever a new cap replaces the limiter (`SourceEvent.setRateLimit`): a batch
    /// counted against an older one does not correct the new one's account.
    var rateLimiterGeneration = 0
    var appliedThrottlePercent = 0
    var maxThrottlePercent = 0
    /// When the dirty-log read out now began (for the time a read takes, which policies see).
    var dirtyLogReadStartSeconds: Double?
    var dirtyLoggingOn = false
    var pausedAtSeconds: Double?
    /// When each step of the pause ended, for `PausePhases`: the final dirty-log read, the
    /// paused round's last page, the device state, the destination's "ready".
    var pauseMarks = (finalRead: nil as Double?, pagesSent: nil as Double?, deviceState: nil as Double?, ready: nil as Double?)
    /// Set once "cleared to unpause" has been handed out: from then on a cancel is refused.
    var clearanceStarted = false
    var sourceResumed = false
    var sourceDestroyed = false
    var abortReason: String?
    var finalReport: MigrationReport?
    /// Post-copy's books, from the moment the destination said the guest runs with pages missing.
    var postcopy: PostcopyProgress?
    /// Post-copy: requested pages taken off the pending set when asked for (so a page is asked
    /// for once), a batch each, oldest first, waiting to go before any other.
    var requestedBatches: [TakenBatch<Tracker.Batch>] = []

    public init(tracker: Tracker, policy: any PrecopyPolicy, settings: EngineSettings) {
        precondition((1 ... EngineSettings.maxActionsInFlightLimit).contains(settings.maxActionsInFlight),
                     "maxActionsInFlight out of range")
        self.tracker = tracker
        self.policy = policy
        skipsPagesDirtiedDuringRound = policy.skipsPagesDirtiedDuringRound
        if case .afterLiveRounds(let rounds) = settings.postcopy, settings.postcopySkipsPagesDirtiedAgain {
            skipRoundBeforeHandOver = rounds
        } else {
            skipRoundBeforeHandOver = nil
        }
        wantedThrottlePercent = policy.guestThrottlePercent
        self.settings = settings
        ledger = RoundLedger(guestPageCount: tracker.guestPageCount, settings: settings)
        compression = CompressionChoice(mode: settings.compression, threads: settings.compressionThreads,
                                        pagesToMeasureLink: Double(16 * settings.maxBatchPages))
        rateLimiter = settings.rateLimitBytesPerSecond.map(RateLimiter.init(bytesPerSecond:))
        step = settings.live ? .enableDirtyLogging : .pauseGuest
    }

    /// The report, once the migration has finished (completed or aborted).
    public var report: MigrationReport? { finalReport }
    public var policyName: String { policy.name }
    /// Pages the round under way has still to send (its batches out already taken off).
    public var pagesPending: Double { tracker.pendingPageCount }
    /// The guest CPU throttle applied now, percent.
    public var throttlePercent: Int { appliedThrottlePercent }
    /// True once a failure or a cancel has started the abort path.
    public var isAborting: Bool { abortReason != nil }
    /// How many actions are out with the driver now.
    public var actionsInFlight: Int { inFlight.count }

    // MARK: - Actions out

    /// The next action to start, or nil when none may start until one out completes (the cap
    /// on actions in flight is reached, or the next step needs every action in). Never nil
    /// while no action is out: a driver that keeps one action out at a time always gets one.
    /// `.finished` comes once every action is in, and needs no completion.
    // Inlined into the driver, which then calls the copy of `nextAction` specialized for its
    // tracker: `poll` itself, generic, would look up `TaggedAction`'s metadata on every call.
    @inlinable
    public mutating func poll(now: Double) -> TaggedAction<Tracker.Batch>? {
        guard let action = nextAction(now: now) else { return nil }
        lastActionID &+= 1
        return TaggedAction(id: ActionID(lastActionID), action: action)
    }

    /// The step out now, as `poll` hands it out, under the id `poll` is about to give.
    mutating func handOut(_ out: SourceStep) {
        inFlight.append(OutAction(id: lastActionID &+ 1, step: out))
    }

    // Pre-specialized for the two trackers (SE-0460): drivers in other modules otherwise run
    // the generic code, whose metadata look-ups and witness calls cost more than the work.
    @usableFromInline
    @specialized(where Tracker == BitmapPageTracker)
    @specialized(where Tracker == FluidPageTracker)
    mutating func nextAction(now: Double) -> SourceAction<Tracker.Batch>? {
        ledger.tick(now: now)
        if !inFlight.isEmpty {
            // Only sends overlap: another batch of the round, or one side step beside them.
            guard inFlight.count < settings.maxActionsInFlight, case .sendNextBatch = step,
                  inFlight.allSends, pendingCancelReason == nil else { return nil }
        } else if let reason = pendingCancelReason {
            pendingCancelReason = nil
            beginAbort(reason: "cancelled: \(reason)", now: now)
        }
        if let limiter = rateLimiter, limiter.nextSendSeconds > now, step.isPacedByRateLimit, capStillApplies {
            // The bandwidth cap: nothing moves on until the bytes sent so far fit under it.
            handOut(.waitForRateLimit)
            return .waitUntil(seconds: limiter.nextSendSeconds)
        }
        switch step {
        case .enableDirtyLogging:
            handOut(.enableDirtyLogging)
            return .enableDirtyLogging
        case .sendNextBatch:
            return nextBatchAction(now: now)
        case .readDirtyLog:
            handOut(step)
            dirtyLogReadStartSeconds = now
            return .readAndClearDirtyLog
        case .pauseGuest:
            handOut(.pauseGuest)
            return .pauseGuest
        case .sendDeviceState:
            handOut(.sendDeviceState)
            return .sendDeviceState
        case .awaitDestinationReady:
            handOut(.awaitDestinationReady)
            return .awaitDestinationReady
        case .clearDestinationToRun:
            handOut(.clearDestinationToRun)
            clearanceStarted = true
            return .clearDestinationToRun
        case .startPostcopy:
            handOut(.startPostcopy)
            clearanceStarted = true
            // From here the destination may run the guest and ask for pages (before its
            // "running" reaches us): its requests are taken from now on.
            postcopy = PostcopyProgress(pagesMissingAtStart: tracker.pendingPageCount)
            return .startPostcopy(missing: tracker.pendingPagesBatch(), pageCount: tracker.pendingPageCount)
        case .destroySource:
            handOut(.destroySource)
            return .destroySource
        case .abortLiftThrottle:
            handOut(.abortLiftThrottle)
            return .throttleGuest(percent: 0)
        case .abortDisableDirtyLogging:
            handOut(.abortDisableDirtyLogging)
            return .disableDirtyLogging
        case .abortResumeSource:
            handOut(.abortResumeSource)
            return .resumeSource
        case .finished:
            return .finished(finalReport!)
        case .waitForRateLimit, .peekDirtyLog, .throttleGuest, .sendBatch:
            preconditionFailure("a step that exists only while out with the driver")
        }
    }

    private mutating func nextBatchAction(now: Double) -> SourceAction<Tracker.Batch>? {
        guard let current = ledger.round else { preconditionFailure("sending without a round") }
        if postcopy != nil { return nextPostcopyAction(now: now) }
        if !current.paused, wantedThrottlePercent != appliedThrottlePercent {
            let percent = wantedThrottlePercent
            handOut(.throttleGuest(percent: percent))
            return .throttleGuest(percent: percent)
        }
        if let held = heldCheckpoint {
            guard inFlight.isEmpty else { return nil }
            heldCheckpoint = nil
            return endRoundEarly(held, now: now)
        }
        if tracker.pendingPageCount <= 0 {
            // The round's last batches may still be out: it ends when they are in.
            guard inFlight.isEmpty else { return nil }
            endRound(now: now)
            return nextAction(now: now)
        }
        if !current.paused, stop == nil, peeked == nil {
            refreshRoundStats()
            let checkpoint = consult({ $0.betweenBatches($1) })
            if case .keepSending = checkpoint {
            } else if inFlight.isEmpty {
                return endRoundEarly(checkpoint, now: now)
            } else {
                heldCheckpoint = checkpoint
                return nil
            }
        }
        if !current.paused, skipsPagesDirtiedDuringRound || current.index == skipRoundBeforeHandOver, peeked == nil {
            handOut(.peekDirtyLog)
            return .peekDirtyLog
        }
        let taken = tracker.takeBatch(maxPages: settings.maxBatchPages, skippingPagesDirtyIn: peeked)
        peeked = nil
        ledger.recordSkipped(pages: taken.pagesSkipped)
        if taken.pagesSent <= 0 {
            return nextAction(now: now)
        }
        return handOutSend(taken, now: now)
    }

    /// Post-copy's round: the destination's requests first, oldest first, then the rest in page
    /// order; no policy, no throttle, no dirty log (the source is paused). It ends when no page
    /// is pending and every send is in.
    private mutating func nextPostcopyAction(now: Double) -> SourceAction<Tracker.Batch>? {
        if !requestedBatches.isEmpty {
            return handOutSend(requestedBatches.removeFirst(), now: now)
        }
        if tracker.pendingPageCount <= 0 {
            guard inFlight.isEmpty else { return nil }
            endRound(now: now)
            return nextAction(now: now)
        }
        let taken = tracker.takeBatch(maxPages: max(1, min(settings.maxBatchPages, settings.postcopyBatchPages)), skippingPagesDirtyIn: nil)
        if taken.pagesSent <= 0 { return nextAction(now: now) }
        return handOutSend(taken, now: now)
    }

    /// Hands out a batch taken from the tracker: counted against the cap, noted for the
    /// compression choice.
    @inline(__always)
    private mutating func handOutSend(_ taken: TakenBatch<Tracker.Batch>, now: Double) -> SourceAction<Tracker.Batch> {
        let wireBytes = settings.wireBytes(pages: taken.pagesSent)
        // Counted against the cap when it starts, so that batches out together are paced too.
        rateLimiter?.recordSend(bytes: wireBytes, startedAt: now)
        handOut(.sendBatch(startSeconds: now, pages: taken.pagesSent, wireBytes: wireBytes, capGeneration: rateLimiterGeneration))
        if settings.compression != .off {
            compression.noteSend(pages: taken.pagesSent, measuredBytesPerSecond: stats.measuredBandwidthBytesPerSecond,
                                 capBytesPerSecond: capForCompression)
        }
        return .send(taken.batch, pageCount: taken.pagesSent, wireBytes: wireBytes)
    }

    /// A policy's answer between batches that ends the live round before its last page.
    private mutating func endRoundEarly(_ checkpoint: BatchCheckpoint, now: Double) -> SourceAction<Tracker.Batch>? {
        switch checkpoint {
        case .keepSending:
            break
        case .syncDirtyLogNow:
            endRound(now: now)
        case .stopAndCopy(let reason):
            stop = adopted(reason)
            closeRound(now: now)
            step = .pauseGuest
        }
        return nextAction(now: now)
    }
}

extension SourceMigration {
    /// Whether the bandwidth cap paces what comes next: always while the guest runs; after a
    /// live migration's pause only with `capsPausedRound` (see `EngineSettings`), or when no
    /// live round came first (the whole guest in the paused round, as offline).
    /// The cap the compression choice weighs: none once it no longer paces the sends (a live
    /// migration's paused round runs at the link's rate unless `capsPausedRound`).
    var capForCompression: Double? { capStillApplies ? settings.rateLimitBytesPerSecond : nil }

    var capStillApplies: Bool {
        pausedAtSeconds == nil || !settings.live || settings.capsPausedRound || !ledger.iterations.contains { !$0.paused }
    }

    /// The rounds finished so far, with the pages dirtied during each live one once the dirty
    /// log after it has been read (what a progress display refits its estimate from).
    public var completedIterations: [IterationReport] { ledger.iterations }

    /// True when the source guest is running: never paused, or resumed after an abort.
    public var sourceGuestRunning: Bool {
        !sourceDestroyed && (pausedAtSeconds == nil || sourceResumed)
    }

    /// True from post-copy's hand-over (the guest runs on the destination with pages missing)
    /// until the migration ends.
    public var inPostcopy: Bool { postcopy?.runningAtSeconds != nil && abortReason == nil && !isFinished }

    /// Post-copy: of the pages `touched` holds, those the destination still lacks (the
    /// simulator's faults).
    public func pendingPages(among touched: Tracker.DirtyLog) -> PageRequest { tracker.pendingPages(among: touched) }

    /// True once the migration has finished, completed or aborted.
    public var isFinished: Bool {
        if case .finished = step { return true }
        return false
    }
}

// The engine's own types, kept outside the generic `SourceMigration`: a type nested in a generic
// one is generic too, and its arrays and copies would look up metadata at run time on every step.

/// The engine's steps: what it will hand out next (`step`), and what it handed out and
/// waits to hear the end of (`inFlight`). The last four exist only while out with the
/// driver: they start from `sendNextBatch` or from the bandwidth cap.
enum SourceStep {
    case enableDirtyLogging, sendNextBatch
    case readDirtyLog(ReadPurpose)
    case pauseGuest, sendDeviceState, awaitDestinationReady, clearDestinationToRun, startPostcopy, destroySource
    case abortLiftThrottle, abortDisableDirtyLogging, abortResumeSource
    case finished
    case waitForRateLimit, peekDirtyLog, throttleGuest(percent: Int)
    /// `capGeneration`: the bandwidth cap the batch was counted against (`rateLimiterGeneration`).
    case sendBatch(startSeconds: Double, pages: Double, wireBytes: Double, capGeneration: Int)

    /// The steps that wait for the bandwidth cap: everything up to the end of the stream.
    var isPacedByRateLimit: Bool {
        switch self {
        case .sendNextBatch, .readDirtyLog, .pauseGuest, .sendDeviceState, .awaitDestinationReady: true
        default: false
        }
    }

    var isSend: Bool {
        if case .sendBatch = self { return true }
        return false
    }
}

enum ReadPurpose { case endOfLiveRound, finalRound }
