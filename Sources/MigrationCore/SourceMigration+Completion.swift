/// How the engine takes in the end of an action it handed out.
extension SourceMigration {
    /// Reports the end of the action `poll(now:)` handed out as `id`.
    ///
    /// Inlined into the driver, it parks a dirty log in `deliveredLog` and hands the rest on as
    /// a `SourceCompletion`: a signature without a generic type in it is one the compiler dispatches
    /// to its `@specialized` copies without instantiating metadata first, which saves the
    /// generic code's look-ups on every completion.
    @inlinable
    public mutating func complete(_ id: ActionID, _ outcome: ActionOutcome<Tracker.DirtyLog>, now: Double) {
        switch outcome {
        case .done: completeAction(id.value, .done, now: now)
        case .dirtyLog(let log):
            deliveredLog = log
            completeAction(id.value, .dirtyLog, now: now)
        case .sent(let bytes): completeAction(id.value, .sent(bytes: bytes), now: now)
        case .failed(let message): completeAction(id.value, .failed(message), now: now)
        case .notPerformed(let message): completeAction(id.value, .notPerformed(message), now: now)
        case .released(let reason): completeAction(id.value, .released(reason), now: now)
        }
    }

    /// `complete`'s work; a dirty log, if the outcome is one, waits in `deliveredLog`.
    @usableFromInline
    @specialized(where Tracker == BitmapPageTracker)
    @specialized(where Tracker == FluidPageTracker)
    mutating func completeAction(_ id: UInt64, _ outcome: SourceCompletion, now: Double) {
        // Only a call here: a local of a generic type in this body would make its generic copy
        // look up metadata before it can dispatch to the specialized ones.
        handleCompletion(id, outcome, now: now)
    }

    private mutating func handleCompletion(_ id: UInt64, _ outcome: SourceCompletion, now: Double) {
        guard let action = inFlight.remove(id: id) else {
            preconditionFailure("complete called for action #\(id), which is not out")
        }
        let log = deliveredLog
        deliveredLog = nil
        ledger.tick(now: now)
        if case .failed(let message) = outcome {
            handleFailure(of: action, message: message, now: now)
            return
        }
        if case .notPerformed(let message) = outcome {
            // Nothing happened: even an unsent "cleared to unpause" leaves the source free to resume.
            switch action {
            case .clearDestinationToRun, .startPostcopy:
                apply(CommitRules.verdict(onFailureAt: .clearanceWithheld), message, now: now)
            default:
                handleFailure(of: action, message: message, now: now)
            }
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
        case .peekDirtyLog:
            guard case .dirtyLog = outcome, let log else { preconditionFailure("a peek completes with a dirty log") }
            peeked = log
        case .sendBatch(_, let pages, let wireBytes, let capGeneration):
            // Counted once the transport took the batch: a failed send sent nothing. What it
            // took on the wire, when the transport says (zero pages go as markers), replaces
            // the estimate the cap counted at the start.
            var bytes = wireBytes
            if case .sent(let sent) = outcome, sent.isFinite, sent >= 0 {
                bytes = sent
                if capGeneration == rateLimiterGeneration { rateLimiter?.correct(byBytes: sent - wireBytes) }
            }
            ledger.recordSent(pages: pages, wireBytes: bytes, now: now)
        case .waitForRateLimit:
            break
        case .throttleGuest(let percent):
            appliedThrottlePercent = percent
            maxThrottlePercent = max(maxThrottlePercent, percent)
        case .readDirtyLog(let purpose):
            guard case .dirtyLog = outcome, let log else { preconditionFailure("a read completes with a dirty log") }
            dirtyLogRead(log, purpose: purpose, now: now)
        case .pauseGuest:
            pausedAtSeconds = now
            if settings.live {
                step = .readDirtyLog(.finalRound)
            } else {
                tracker.beginFullPass()
                beginRound(now: now, paused: true)
            }
        case .sendDeviceState:
            if case .sent(let bytes) = outcome {
                ledger.recordOtherBytes(bytes)
                rateLimiter?.recordSend(bytes: bytes, startedAt: now)
            }
            pauseMarks.deviceState = now
            step = stop?.outcome == .postcopy ? .startPostcopy : .awaitDestinationReady
        case .startPostcopy:
            // The guest runs on the destination: the pause is over, post-copy's round begins.
            pauseMarks.ready = pauseMarks.deviceState
            let phases = pausePhases(runningAt: now)
            postcopy?.pausePhases = phases
            postcopy?.runningAtSeconds = now
            beginRound(now: now, paused: false, postcopy: true)
        case .awaitDestinationReady where postcopy != nil:
            finishPostcopy(now: now)
            step = .destroySource
        case .awaitDestinationReady:
            pauseMarks.ready = now
            step = .clearDestinationToRun
        case .clearDestinationToRun:
            finish(outcome: stop?.outcome ?? .converged,
                   reason: stop?.reason ?? "offline migration: the guest was paused for the whole copy",
                   runningAt: now)
            // Only here: an aborted or uncertain end has no "running" to measure up to.
            let phases = pausePhases(runningAt: now)
            finalReport?.pausePhases = phases
            step = .destroySource
        case .destroySource:
            sourceDestroyed = true
            step = .finished
        case .abortLiftThrottle:
            appliedThrottlePercent = 0
            advanceAbort(now: now)
        case .abortDisableDirtyLogging:
            dirtyLoggingOn = false
            advanceAbort(now: now)
        case .abortResumeSource:
            sourceResumed = true
            finishAborted(now: now)
        case .sendNextBatch, .finished:
            preconditionFailure("a step that is never out with the driver")
        }
    }
}

/// An `ActionOutcome` without its dirty log, which `SourceMigration.complete` parks beside it.
/// Not nested in the generic engine, so that it needs no metadata of its own at run time.
@usableFromInline
enum SourceCompletion {
    case done, dirtyLog, sent(bytes: Double), failed(String), notPerformed(String), released(String)
}
