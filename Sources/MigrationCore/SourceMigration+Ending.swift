/// How a migration ends: the report, the commit rules on a failure, and the abort path.
extension SourceMigration {
    mutating func finish(outcome: MigrationOutcome, reason: String, runningAt now: Double) {
        finalReport = ledger.report(outcome: outcome, reason: reason, policy: policy.name, pausedAt: pausedAtSeconds,
                                    now: now, maxThrottlePercent: maxThrottlePercent)
    }

    /// The pause's phases, once the destination said "running" (`now`); nil if a step's end
    /// was never seen.
    func pausePhases(runningAt now: Double) -> PausePhases? {
        guard let pausedAt = pausedAtSeconds, let pagesSent = pauseMarks.pagesSent, let deviceState = pauseMarks.deviceState,
              let ready = pauseMarks.ready else { return nil }
        let finalRead = pauseMarks.finalRead ?? pausedAt
        return PausePhases(finalDirtyLogReadSeconds: finalRead - pausedAt, finalPagesSeconds: pagesSent - finalRead,
                           deviceStateSeconds: deviceState - pagesSent, destinationReadySeconds: ready - deviceState,
                           clearedToRunningSeconds: now - ready)
    }

    /// Post-copy's end: every page is at the destination. The report's downtime is the pause up
    /// to the hand-over; its total time runs to now.
    mutating func finishPostcopy(now: Double) {
        guard let progress = postcopy, let runningAt = progress.runningAtSeconds, let stop else { return }
        finish(outcome: .postcopy, reason: stop.reason, runningAt: now)
        finalReport?.pausePhases = progress.pausePhases
        reportPostcopy(progress, runningAt: runningAt, now: now)
    }

    /// The finished report's post-copy parts: the downtime, which ended at the hand-over, and
    /// the `postcopy` section.
    private mutating func reportPostcopy(_ progress: PostcopyProgress, runningAt: Double, now: Double) {
        finalReport?.downtimeSeconds = runningAt - (pausedAtSeconds ?? runningAt)
        let round = ledger.iterations.last { $0.postcopy == true }
        finalReport?.postcopy = PostcopyReport(
            startSeconds: ledger.elapsed(at: runningAt), durationSeconds: now - runningAt,
            pagesMissingAtStart: wholePages(progress.pagesMissingAtStart), pagesSent: round?.pagesSent ?? 0,
            requests: progress.requests, pagesRequested: wholePages(progress.pagesRequested))
    }

    mutating func handleFailure(of action: SourceStep, message: String, now: Double) {
        switch action {
        case .clearDestinationToRun, .startPostcopy:
            apply(CommitRules.verdict(onFailureAt: .clearanceSent), message, now: now)
        case .destroySource:
            apply(CommitRules.verdict(onFailureAt: .sourceDestroy), message, now: now)
        case _ where postcopy?.runningAtSeconds != nil:
            // After the hand-over the first failure cuts post-copy short; a later one (another
            // send that was out beside it) changes nothing: above all it never starts the abort
            // path, which would resume the source while the destination runs the guest.
            if finalReport == nil { apply(CommitRules.verdict(onFailureAt: .postcopy), message, now: now) }
        case .abortLiftThrottle:
            appliedThrottlePercent = 0
            abortReason = (abortReason ?? "") + "; lifting the throttle failed: \(message)"
            advanceAbort(now: now)
        case .abortDisableDirtyLogging:
            dirtyLoggingOn = false
            abortReason = (abortReason ?? "") + "; turning dirty logging off failed: \(message)"
            advanceAbort(now: now)
        case .abortResumeSource:
            abortReason = (abortReason ?? "") + "; resuming the source failed: \(message)"
            finishAborted(now: now)
        default:
            apply(CommitRules.verdict(onFailureAt: .transfer), message, now: now)
        }
    }

    /// Post-copy cut short (the link, the destination, the source's own read of a page): the
    /// source stays paused and is never destroyed (`CommitPoint.postcopy`).
    mutating func interruptPostcopy(_ message: String, now: Double) {
        guard let progress = postcopy, let runningAt = progress.runningAtSeconds else { return }
        closeRound(now: now)
        abortReason = message
        finish(outcome: .aborted, reason: CommitRules.postcopyInterruptedReason(message), runningAt: now)
        finalReport?.sourceLeftPaused = true
        reportPostcopy(progress, runningAt: runningAt, now: now)
        step = .finished
    }

    /// Carries out the core's commit verdict for a failure (`CommitRules`).
    mutating func apply(_ verdict: CommitVerdict, _ message: String, now: Double) {
        switch verdict {
        case .resumeSource:
            beginAbort(reason: message, now: now)
        case .leaveSourcePaused where postcopy?.runningAtSeconds != nil:
            interruptPostcopy(message, now: now)
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

    /// Starts the abort path. Once it has begun, a further failure (another stream's batch
    /// failing after the first) changes nothing: the first reason is the one reported.
    mutating func beginAbort(reason: String, now: Double) {
        guard abortReason == nil else { return }
        closeRound(now: now)
        abortReason = reason
        peeked = nil
        heldCheckpoint = nil
        pendingCancelReason = nil
        advanceAbort(now: now)
    }

    /// The abort path, one step at a time: lift the throttle, turn dirty logging off, resume the
    /// source if it was paused (exactly once), then report.
    mutating func advanceAbort(now: Double) {
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

    mutating func finishAborted(now: Double) {
        finish(outcome: .aborted, reason: abortReason ?? "aborted", runningAt: now)
        finalReport?.downtimeSeconds = pausedAtSeconds.map { now - $0 } ?? 0
        step = .finished
    }
}
