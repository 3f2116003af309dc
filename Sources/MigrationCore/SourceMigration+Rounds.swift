/// Rounds and the policy: where a round begins and ends, and the three points the policy is
/// consulted at (`PrecopyPolicy`).
extension SourceMigration {
    /// Asks the policy `question` with the stats as they are, then reads the throttle it wants
    /// now: the one place the engine consults its policy, so the cached throttle is never stale.
    mutating func consult<Answer>(_ question: (inout any PrecopyPolicy, PrecopyStats) -> Answer) -> Answer {
        let answer = question(&policy, ledger.stats)
        wantedThrottlePercent = policy.guestThrottlePercent
        return answer
    }

    mutating func consultBeforeFirstRound(now: Double) {
        // Xen 4 asks its policy once before the first pass, with every page dirty.
        ledger.announceFullPass()
        tracker.beginFullPass()
        switch consult({ $0.afterDirtyLogRead($1) }) {
        case .continuePrecopy:
            break
        case .stopAndCopy(let policyStop):
            let reason = adopted(policyStop)
            stop = reason
            if !reason.sendDirtyPagesLiveFirst {
                // Nothing sent yet: the whole guest goes in the paused round (or post-copy).
                step = .pauseGuest
                return
            }
        case .abort(let reason):
            beginAbort(reason: "policy aborted: \(reason)", now: now)
            return
        }
        beginRound(now: now, paused: false)
    }

    mutating func beginRound(now: Double, paused: Bool, postcopy: Bool = false) {
        if settings.compression != .off {
            compression.beginRound(measuredBytesPerSecond: stats.measuredBandwidthBytesPerSecond, capBytesPerSecond: capForCompression)
        }
        ledger.beginRound(now: now, paused: paused, postcopy: postcopy)
        step = .sendNextBatch
    }

    mutating func refreshRoundStats() {
        ledger.refresh(pending: tracker.pendingPageCount)
    }

    /// Records the round in progress (if it sent anything, or if it is the paused one).
    mutating func closeRound(now: Double) {
        ledger.closeRound(now: now, pending: tracker.pendingPageCount)
    }

    /// A round has sent its last page (or QEMU's rule ended it early).
    mutating func endRound(now: Double) {
        let paused = ledger.round?.paused ?? false
        let postcopyRound = ledger.round?.postcopy ?? false
        closeRound(now: now)
        if postcopyRound {
            // Every page has gone: the end of the stream, and the destination's word that it
            // holds them all.
            step = .awaitDestinationReady
            return
        }
        if paused {
            pauseMarks.pagesSent = now
            step = .sendDeviceState
            return
        }
        ledger.countLiveRoundDone()
        if stop != nil {
            // Xen 4's last live send after stop-and-copy is done: now pause.
            step = .pauseGuest
            return
        }
        switch consult({ $0.afterRound($1) }) {
        case .continuePrecopy:
            step = .readDirtyLog(.endOfLiveRound)
        case .stopAndCopy(let reason):
            stop = adopted(reason)
            step = .pauseGuest
        case .abort(let reason):
            beginAbort(reason: "policy aborted: \(reason)", now: now)
        }
    }

    mutating func dirtyLogRead(_ log: Tracker.DirtyLog, purpose: ReadPurpose, now: Double) {
        let dirty = tracker.mergeDirtyLog(log)
        ledger.recordDirtyLogRead(dirty: dirty, pending: tracker.pendingPageCount, readStart: dirtyLogReadStartSeconds ?? now, now: now)
        switch purpose {
        case .finalRound:
            pauseMarks.finalRead = now
            if stop?.outcome == .postcopy {
                // No paused round: the pages still dirty are what the destination will lack.
                pauseMarks.pagesSent = now
                step = .sendDeviceState
            } else {
                beginRound(now: now, paused: true)
            }
        case .endOfLiveRound:
            switch consult({ $0.afterDirtyLogRead($1) }) {
            case .continuePrecopy:
                if case .afterLiveRounds(let rounds) = settings.postcopy, stats.iteration >= rounds {
                    // The policy would go on: hand over instead (a converged stop stays one).
                    stop = .postcopy("post-copy after \(rounds) live round\(rounds == 1 ? "" : "s"), as asked")
                    step = .pauseGuest
                } else {
                    beginRound(now: now, paused: false)
                }
            case .stopAndCopy(let policyStop):
                let reason = adopted(policyStop)
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

    /// A policy's stop as this migration takes it: a give-up on convergence becomes post-copy's
    /// hand-over when `EngineSettings.postcopy` says so (a live migration only).
    func adopted(_ stop: PrecopyStop) -> PrecopyStop {
        guard settings.live, settings.postcopy.replacesFallback(stop) else { return stop }
        return .postcopy("pre-copy would not converge (\(stop.reason)); post-copy instead")
    }
}
