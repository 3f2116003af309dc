/// The source side of a pre-copy migration, sans I/O: the driver asks `nextAction(now:)` for
/// one action, performs it, and reports its end with `complete(_:now:)`. Time is an argument;
/// the engine never reads a clock, sleeps or starts work of its own. The same code runs under
/// the simulator (virtual time) and the real executors (wall clock).
///
/// Order of a live migration: enable dirty logging; round 1 sends every page; after each live
/// round the policy is consulted, the dirty log is read and cleared into the next round, and
/// the policy is consulted again; when it says stop, the guest is paused, the log read once
/// more, the final round sent paused, then device state, end of stream, the destination's
/// "ready", "cleared to run", and only then is the source destroyed. A failure before the
/// destination has been cleared to run leaves the source guest running.
public struct SourceMigration<Tracker: PageTracking> {
    public let settings: EngineSettings
    public private(set) var stats: PrecopyStats
    private var tracker: Tracker
    private var policy: any PrecopyPolicy
    /// The policy's `skipsPagesDirtiedDuringRound`, read once: it says how the policy works,
    /// not how the migration is going (and an existential read per batch is a real cost).
    private let skipsPagesDirtiedDuringRound: Bool
    /// The policy's `guestThrottlePercent`, read again after every consultation (a policy is a
    /// value: only its mutating calls change it).
    private var wantedThrottlePercent = 0

    private enum Step {
        case enableDirtyLogging, sendNextBatch
        case readDirtyLog(ReadPurpose)
        case pauseGuest, sendDeviceState, awaitDestinationReady, clearDestinationToRun, destroySource
        case abortLiftThrottle, abortDisableDirtyLogging, abortResumeSource
        case finished

        /// The steps that wait for the bandwidth cap: everything up to the end of the stream.
        var isPacedByRateLimit: Bool {
            switch self {
            case .sendNextBatch, .readDirtyLog, .pauseGuest, .sendDeviceState, .awaitDestinationReady: true
            default: false
            }
        }
    }

    private enum ReadPurpose { case endOfLiveRound, finalRound }


    /// The action out with the driver, if any.
    private enum InFlight {
        case enableDirtyLogging, peek, send(startSeconds: Double, pages: Double, wireBytes: Double), wait, throttle(Int)
        case read(ReadPurpose), pause, deviceState, destinationReady, clearToRun, destroy
        case liftThrottle, disableDirtyLogging, resume
    }

    private struct RoundInProgress {
        var index: Int
        var startSeconds: Double
        var pagesSent = 0.0
        var pagesSkipped = 0.0
        var paused: Bool
    }

    private var step: Step
    private var inFlight: InFlight?
    private var startSeconds: Double?
    private var round: RoundInProgress?
    private var roundsBegun = 0
    private var iterations: [IterationReport] = []
    /// Index into `iterations` of the last live round, to credit the pages dirtied during it.
    private var lastLiveIterationIndex: Int?
    private var stop: PrecopyStop?
    private var peeked: Tracker.DirtyLog?
    /// The dirty log of the completion being handled (`complete` parks it here).
    @usableFromInline var deliveredLog: Tracker.DirtyLog?
    private var meter = BandwidthMeter(startSeconds: 0)
    private var rateLimiter: RateLimiter?
    private var appliedThrottlePercent = 0
    private var maxThrottlePercent = 0
    /// When the dirty-log read out now began, and when the last one completed (for the
    /// pause overhead and the dirty rate the policies see).
    private var dirtyLogReadStartSeconds: Double?
    private var lastDirtyLogReadSeconds: Double?
    private var dirtyLoggingOn = false
    private var pausedAtSeconds: Double?
    /// When each step of the pause ended, for `PausePhases`: the final dirty-log read, the
    /// paused round's last page, the device state, the destination's "ready".
    private var pauseMarks = (finalRead: nil as Double?, pagesSent: nil as Double?, deviceState: nil as Double?, ready: nil as Double?)
    private var sourceResumed = false
    private var sourceDestroyed = false
    private var abortReason: String?
    private var finalReport: MigrationReport?

    public init(tracker: Tracker, policy: any PrecopyPolicy, settings: EngineSettings) {
        self.tracker = tracker
        self.policy = policy
        skipsPagesDirtiedDuringRound = policy.skipsPagesDirtiedDuringRound
        wantedThrottlePercent = policy.guestThrottlePercent
        self.settings = settings
        stats = PrecopyStats(guestPageCount: tracker.guestPageCount, pageSizeBytes: settings.pageSizeBytes)
        stats.pauseOverheadSeconds = settings.pauseOverheadSeconds
        rateLimiter = settings.rateLimitBytesPerSecond.map(RateLimiter.init(bytesPerSecond:))
        step = settings.live ? .enableDirtyLogging : .pauseGuest
    }

    /// The report, once the migration has finished (completed or aborted).
    public var report: MigrationReport? { finalReport }
    public var policyName: String { policy.name }

    // MARK: - Actions out

    /// The next action for the driver. Call again only after completing the previous one.
    // Pre-specialized for the two trackers (SE-0460): drivers in other modules otherwise run
    // the generic code, whose metadata look-ups and witness calls cost more than the work.
    @specialized(where Tracker == BitmapPageTracker)
    @specialized(where Tracker == FluidPageTracker)
    public mutating func nextAction(now: Double) -> SourceAction<Tracker.Batch> {
        precondition(inFlight == nil, "nextAction called while an action is still out")
        if startSeconds == nil {
            startSeconds = now
            meter = BandwidthMeter(startSeconds: now)
        }
        stats.elapsedSeconds = now - startSeconds!
        if let limiter = rateLimiter, limiter.nextSendSeconds > now, step.isPacedByRateLimit, capStillApplies {
            // The bandwidth cap: nothing moves on until the bytes sent so far fit under it.
            inFlight = .wait
            return .waitUntil(seconds: limiter.nextSendSeconds)
        }
        switch step {
        case .enableDirtyLogging:
            inFlight = .enableDirtyLogging
            return .enableDirtyLogging
        case .sendNextBatch:
            return nextBatchAction(now: now)
        case .readDirtyLog(let purpose):
            inFlight = .read(purpose)
            dirtyLogReadStartSeconds = now
            return .readAndClearDirtyLog
        case .pauseGuest:
            inFlight = .pause
            return .pauseGuest
        case .sendDeviceState:
            inFlight = .deviceState
            return .sendDeviceState
        case .awaitDestinationReady:
            inFlight = .destinationReady
            return .awaitDestinationReady
        case .clearDestinationToRun:
            inFlight = .clearToRun
            return .clearDestinationToRun
        case .destroySource:
            inFlight = .destroy
            return .destroySource
        case .abortLiftThrottle:
            inFlight = .liftThrottle
            return .throttleGuest(percent: 0)
        case .abortDisableDirtyLogging:
            inFlight = .disableDirtyLogging
            return .disableDirtyLogging
        case .abortResumeSource:
            inFlight = .resume
            return .resumeSource
        case .finished:
            return .finished(finalReport!)
        }
    }

    private mutating func nextBatchAction(now: Double) -> SourceAction<Tracker.Batch> {
        guard var current = round else { preconditionFailure("sending without a round") }
        if !current.paused, wantedThrottlePercent != appliedThrottlePercent {
            let percent = wantedThrottlePercent
            inFlight = .throttle(percent)
            return .throttleGuest(percent: percent)
        }
        if tracker.pendingPageCount <= 0 {
            endRound(now: now)
            return nextAction(now: now)
        }
        if !current.paused, stop == nil, peeked == nil {
            refreshRoundStats()
            switch consult({ $0.betweenBatches($1) }) {
            case .keepSending:
                break
            case .syncDirtyLogNow:
                endRound(now: now)
                return nextAction(now: now)
            case .stopAndCopy(let reason):
                stop = reason
                closeRound(now: now)
                step = .pauseGuest
                return nextAction(now: now)
            }
        }
        if !current.paused, skipsPagesDirtiedDuringRound, peeked == nil {
            inFlight = .peek
            return .peekDirtyLog
        }
        let taken = tracker.takeBatch(maxPages: settings.maxBatchPages, skippingPagesDirtyIn: peeked)
        peeked = nil
        current.pagesSkipped += taken.pagesSkipped
        round = current
        if taken.pagesSent <= 0 {
            return nextAction(now: now)
        }
        let wireBytes = settings.wireBytes(pages: taken.pagesSent)
        inFlight = .send(startSeconds: now, pages: taken.pagesSent, wireBytes: wireBytes)
        return .send(taken.batch, pageCount: taken.pagesSent, wireBytes: wireBytes)
    }

    // MARK: - Completions in

    /// Reports the end of the action last returned by `nextAction(now:)`.
    ///
    /// Inlined into the driver, it parks a dirty log in `deliveredLog` and hands the rest on as
    /// a `SourceCompletion`: a signature without a generic type in it is one the compiler dispatches
    /// to its `@specialized` copies without instantiating metadata first, which saves the
    /// generic code's look-ups on every completion.
    @inlinable
    public mutating func complete(_ outcome: ActionOutcome<Tracker.DirtyLog>, now: Double) {
        switch outcome {
        case .done: completeAction(.done, now: now)
        case .dirtyLog(let log):
            deliveredLog = log
            completeAction(.dirtyLog, now: now)
        case .sent(let bytes): completeAction(.sent(bytes: bytes), now: now)
        case .failed(let message): completeAction(.failed(message), now: now)
        case .notPerformed(let message): completeAction(.notPerformed(message), now: now)
        case .released(let reason): completeAction(.released(reason), now: now)
        }
    }

    /// `complete`'s work; a dirty log, if the outcome is one, waits in `deliveredLog`.
    @usableFromInline
    @specialized(where Tracker == BitmapPageTracker)
    @specialized(where Tracker == FluidPageTracker)
    mutating func completeAction(_ outcome: SourceCompletion, now: Double) {
        // Only a call here: a local of a generic type in this body would make its generic copy
        // look up metadata before it can dispatch to the specialized ones.
        handleCompletion(outcome, now: now)
    }

    private mutating func handleCompletion(_ outcome: SourceCompletion, now: Double) {
        guard let action = inFlight else { preconditionFailure("complete called with no action out") }
        inFlight = nil
        let log = deliveredLog
        deliveredLog = nil
        stats.elapsedSeconds = now - (startSeconds ?? now)
        if case .failed(let message) = outcome {
            handleFailure(of: action, message: message, now: now)
            return
        }
        if case .notPerformed(let message) = outcome {
            // Nothing happened: even an unsent "cleared to unpause" leaves the source free to resume.
            if case .clearToRun = action { apply(CommitRules.verdict(onFailureAt: .clearanceWithheld), message, now: now) } else { handleFailure(of: action, message: message, now: now) }
            return
        }
        if case .released(let reason) = outcome {
            apply(CommitRules.verdict(onFailureAt: .destinationReleasedGuest), CommitRules.releasedReason(reason), now: now)
            return
        }
        switch action {
        case .enableDirtyLogging:
            dirtyLoggingOn = true
            consultBeforeFirstRound(now: now)
        case .peek:
            guard case .dirtyLog = outcome, let log else { preconditionFailure("a peek completes with a dirty log") }
            peeked = log
        case .send(let start, let pages, let wireBytes):
            // Counted once the transport took the batch: a failed send sent nothing.
            round?.pagesSent += pages
            stats.totalPagesSent += pages
            stats.totalBytesSent += wireBytes
            rateLimiter?.recordSend(bytes: wireBytes, startedAt: start)
            meter.record(totalBytes: stats.totalBytesSent, now: now)
            stats.measuredBandwidthBytesPerSecond = meter.bytesPerSecond
        case .wait:
            break
        case .throttle(let percent):
            appliedThrottlePercent = percent
            maxThrottlePercent = max(maxThrottlePercent, percent)
        case .read(let purpose):
            guard case .dirtyLog = outcome, let log else { preconditionFailure("a read completes with a dirty log") }
            dirtyLogRead(log, purpose: purpose, now: now)
        case .pause:
            pausedAtSeconds = now
            if settings.live {
                step = .readDirtyLog(.finalRound)
            } else {
                tracker.beginFullPass()
                beginRound(now: now, paused: true)
            }
        case .deviceState:
            if case .sent(let bytes) = outcome {
                stats.totalBytesSent += bytes
                rateLimiter?.recordSend(bytes: bytes, startedAt: now)
            }
            pauseMarks.deviceState = now
            step = .awaitDestinationReady
        case .destinationReady:
            pauseMarks.ready = now
            step = .clearDestinationToRun
        case .clearToRun:
            finish(outcome: stop?.outcome ?? .converged,
                   reason: stop?.reason ?? "offline migration: the guest was paused for the whole copy",
                   runningAt: now)
            // Only here: an aborted or uncertain end has no "running" to measure up to.
            let phases = pausePhases(runningAt: now)
            finalReport?.pausePhases = phases
            step = .destroySource
        case .destroy:
            sourceDestroyed = true
            step = .finished
        case .liftThrottle:
            appliedThrottlePercent = 0
            advanceAbort(now: now)
        case .disableDirtyLogging:
            dirtyLoggingOn = false
            advanceAbort(now: now)
        case .resume:
            sourceResumed = true
            finishAborted(now: now)
        }
    }

    // MARK: - Rounds

    /// Asks the policy `question` with the stats as they are, then reads the throttle it wants
    /// now: the one place the engine consults its policy, so the cached throttle is never stale.
    private mutating func consult<Answer>(_ question: (inout any PrecopyPolicy, PrecopyStats) -> Answer) -> Answer {
        let answer = question(&policy, stats)
        wantedThrottlePercent = policy.guestThrottlePercent
        return answer
    }

    private mutating func consultBeforeFirstRound(now: Double) {
        // Xen 4 asks its policy once before the first pass, with every page dirty.
        stats.dirtyPageCount = stats.guestPageCount
        stats.pendingPageCount = stats.guestPageCount
        tracker.beginFullPass()
        switch consult({ $0.afterDirtyLogRead($1) }) {
        case .continuePrecopy:
            break
        case .stopAndCopy(let reason):
            stop = reason
            if !reason.sendDirtyPagesLiveFirst {
                // Nothing sent yet: the whole guest goes in the paused round.
                step = .pauseGuest
                return
            }
        case .abort(let reason):
            beginAbort(reason: "policy aborted: \(reason)", now: now)
            return
        }
        beginRound(now: now, paused: false)
    }

    private mutating func beginRound(now: Double, paused: Bool) {
        roundsBegun += 1
        round = RoundInProgress(index: roundsBegun, startSeconds: now - (startSeconds ?? now), paused: paused)
        stats.roundPagesSent = 0
        stats.roundPagesSkipped = 0
        step = .sendNextBatch
    }

    private mutating func refreshRoundStats() {
        stats.roundPagesSent = round?.pagesSent ?? 0
        stats.roundPagesSkipped = round?.pagesSkipped ?? 0
        stats.pendingPageCount = tracker.pendingPageCount
    }

    /// Records the round in progress (if it sent anything, or if it is the paused one).
    private mutating func closeRound(now: Double) {
        guard let current = round else { return }
        refreshRoundStats()
        round = nil
        let elapsed = now - (startSeconds ?? now)
        guard current.pagesSent > 0 || current.paused else { return }
        // Room for a typical migration's rounds at once, not grown append by append.
        if iterations.isEmpty { iterations.reserveCapacity(8) }
        iterations.append(IterationReport(
            index: current.index, pagesSent: wholePages(current.pagesSent),
            pagesSkipped: wholePages(current.pagesSkipped), pagesDirtied: 0,
            startSeconds: current.startSeconds, durationSeconds: elapsed - current.startSeconds,
            paused: current.paused))
        if !current.paused { lastLiveIterationIndex = iterations.count - 1 }
    }

    /// A round has sent its last page (or QEMU's rule ended it early).
    private mutating func endRound(now: Double) {
        let paused = round?.paused ?? false
        closeRound(now: now)
        if paused {
            pauseMarks.pagesSent = now
            step = .sendDeviceState
            return
        }
        stats.iteration += 1
        stats.dirtyPageCount = nil
        if stop != nil {
            // Xen 4's last live send after stop-and-copy is done: now pause.
            step = .pauseGuest
            return
        }
        switch consult({ $0.afterRound($1) }) {
        case .continuePrecopy:
            step = .readDirtyLog(.endOfLiveRound)
        case .stopAndCopy(let reason):
            stop = reason
            step = .pauseGuest
        case .abort(let reason):
            beginAbort(reason: "policy aborted: \(reason)", now: now)
        }
    }

    private mutating func dirtyLogRead(_ log: Tracker.DirtyLog, purpose: ReadPurpose, now: Double) {
        let dirty = tracker.mergeDirtyLog(log)
        // The last read's time stands for the final one, which happens in the pause.
        stats.dirtyLogReadSeconds = max(0, now - (dirtyLogReadStartSeconds ?? now))
        stats.secondsSinceDirtyLogRead = now - (lastDirtyLogReadSeconds ?? startSeconds ?? now)
        lastDirtyLogReadSeconds = now
        if let index = lastLiveIterationIndex {
            iterations[index].pagesDirtied += wholePages(dirty)
            lastLiveIterationIndex = nil
        }
        stats.dirtyPageCount = dirty
        stats.pendingPageCount = tracker.pendingPageCount
        switch purpose {
        case .finalRound:
            pauseMarks.finalRead = now
            beginRound(now: now, paused: true)
        case .endOfLiveRound:
            switch consult({ $0.afterDirtyLogRead($1) }) {
            case .continuePrecopy:
                beginRound(now: now, paused: false)
            case .stopAndCopy(let reason):
                stop = reason
                if reason.sendDirtyPagesLiveFirst {
                    beginRound(now: now, paused: false)
                } else {
                    step = .pauseGuest
                }
            case .abort(let reason):
                beginAbort(reason: "policy aborted: \(reason)", now: now)
            }
        }
    }

    // MARK: - Ending

    private mutating func finish(outcome: MigrationOutcome, reason: String, runningAt now: Double) {
        let start = startSeconds ?? now
        let pausedAt = pausedAtSeconds ?? now
        var report = MigrationReport(
            outcome: outcome, reason: reason, policy: policy.name, live: settings.live,
            totalTimeSeconds: now - start, downtimeSeconds: now - pausedAt,
            bytesSent: CheckedConversion.clampedInt(stats.totalBytesSent, to: 0 ... Int.max), pagesSent: wholePages(stats.totalPagesSent),
            guestPages: wholePages(stats.guestPageCount), pageSizeBytes: settings.pageSizeBytes,
            maxThrottlePercent: maxThrottlePercent, iterations: iterations)
        report.pauseOverheadBudgetSeconds = settings.pauseOverheadSeconds
        finalReport = report
    }

    /// The pause's phases, once the destination said "running" (`now`); nil if a step's end
    /// was never seen.
    private func pausePhases(runningAt now: Double) -> PausePhases? {
        guard let pausedAt = pausedAtSeconds, let pagesSent = pauseMarks.pagesSent, let deviceState = pauseMarks.deviceState,
              let ready = pauseMarks.ready else { return nil }
        let finalRead = pauseMarks.finalRead ?? pausedAt
        return PausePhases(finalDirtyLogReadSeconds: finalRead - pausedAt, finalPagesSeconds: pagesSent - finalRead,
                           deviceStateSeconds: deviceState - pagesSent, destinationReadySeconds: ready - deviceState,
                           clearedToRunningSeconds: now - ready)
    }

    private mutating func handleFailure(of action: InFlight, message: String, now: Double) {
        switch action {
        case .clearToRun:
            apply(CommitRules.verdict(onFailureAt: .clearanceSent), message, now: now)
        case .destroy:
            apply(CommitRules.verdict(onFailureAt: .sourceDestroy), message, now: now)
        case .liftThrottle:
            appliedThrottlePercent = 0
            abortReason = (abortReason ?? "") + "; lifting the throttle failed: \(message)"
            advanceAbort(now: now)
        case .disableDirtyLogging:
            dirtyLoggingOn = false
            abortReason = (abortReason ?? "") + "; turning dirty logging off failed: \(message)"
            advanceAbort(now: now)
        case .resume:
            abortReason = (abortReason ?? "") + "; resuming the source failed: \(message)"
            finishAborted(now: now)
        default:
            apply(CommitRules.verdict(onFailureAt: .transfer), message, now: now)
        }
    }

    /// Carries out the core's commit verdict for a failure (`CommitRules`).
    private mutating func apply(_ verdict: CommitVerdict, _ message: String, now: Double) {
        switch verdict {
        case .resumeSource:
            beginAbort(reason: message, now: now)
        case .leaveSourcePaused:
            // The destination may or may not have been cleared: never resume here, never
            // destroy; leave the paused source for the operator, as `xl migrate` does.
            finish(outcome: .aborted, reason: CommitRules.leftPausedReason(message), runningAt: now)
            finalReport?.sourceLeftPaused = true
            step = .finished
        case .destinationOwnsGuest:
            if var report = finalReport {
                report.reason += (report.reason.isEmpty ? "" : "; ")
                    + "the guest runs on the destination but destroying the source failed: \(message)"
                finalReport = report
            }
            step = .finished
        }
    }

    private mutating func beginAbort(reason: String, now: Double) {
        closeRound(now: now)
        abortReason = reason
        peeked = nil
        advanceAbort(now: now)
    }

    /// The abort path, one step at a time: lift the throttle, turn dirty logging off, resume the
    /// source if it was paused (exactly once), then report.
    private mutating func advanceAbort(now: Double) {
        if appliedThrottlePercent != 0 {
            step = .abortLiftThrottle
        } else if dirtyLoggingOn {
            step = .abortDisableDirtyLogging
        } else if pausedAtSeconds != nil && !sourceResumed {
            step = .abortResumeSource
        } else {
            finishAborted(now: now)
        }
    }

    private mutating func finishAborted(now: Double) {
        finish(outcome: .aborted, reason: abortReason ?? "aborted", runningAt: now)
        finalReport?.downtimeSeconds = pausedAtSeconds.map { now - $0 } ?? 0
        step = .finished
    }
}

extension SourceMigration {
    /// Whether the bandwidth cap paces what comes next: always while the guest runs; after a
    /// live migration's pause only with `capsPausedRound` (see `EngineSettings`), or when no
    /// live round came first (the whole guest in the paused round, as offline).
    var capStillApplies: Bool {
        pausedAtSeconds == nil || !settings.live || settings.capsPausedRound || !iterations.contains { !$0.paused }
    }

    /// The rounds finished so far, with the pages dirtied during each live one once the dirty
    /// log after it has been read (what a progress display refits its estimate from).
    public var completedIterations: [IterationReport] { iterations }

    /// True when the source guest is running: never paused, or resumed after an abort.
    public var sourceGuestRunning: Bool {
        !sourceDestroyed && (pausedAtSeconds == nil || sourceResumed)
    }

    /// True once the migration has finished, completed or aborted.
    public var isFinished: Bool {
        if case .finished = step { return true }
        return false
    }
}

/// An `ActionOutcome` without its dirty log, which `SourceMigration.complete` parks beside it.
/// Not nested in the generic engine, so that it needs no metadata of its own at run time.
@usableFromInline
enum SourceCompletion {
    case done, dirtyLog, sent(bytes: Double), failed(String), notPerformed(String), released(String)
}
