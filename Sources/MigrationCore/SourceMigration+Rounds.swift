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

    mutating func beginRound(now: Double, paused: Bool) {
        if settings.compression != .off {
            compression.beginRound(measuredBytesPerSecond: stats.measuredBandwidthBytesPerSecond, capBytesPerSecond: capForCompression)
        }
        ledger.beginRound(now: now, paused: paused)
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
        closeRound(now: now)
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
            stop = reason
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
}
