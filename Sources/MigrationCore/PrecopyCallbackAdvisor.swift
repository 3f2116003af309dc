/// The engine core's side of libxenguest's `precopy_policy` callback: when Xen's own save loop
/// (`send_memory_live` in `tools/libs/guest/xg_sr_save.c`) moves the pages, this answers its
/// questions with the same `PrecopyPolicy` values the engine's own loop consults, and keeps the
/// rounds for the report. No I/O, no clock: the driver passes the time.
///
/// Facts from that file (Xen 4.17): the loop calls the callback twice per pass. At the top,
/// with `iteration` = passes done, `total_written` = pages sent so far and `dirty_count` =
/// pages the last dirty-log CLEAN found (the whole p2m size before the first pass); whatever
/// the answer, it then sends those pages live (unless the answer is abort) and breaks on
/// anything but "continue". After the send, with `iteration` = passes done (this one included),
/// `total_written` updated and `dirty_count = -1`; "continue" leads to the next CLEAN. On
/// stop-and-copy it suspends the guest and sends what is dirty, paused. It never asks between
/// the write batches of a pass, so `betweenBatches` (and a timeout inside a pass) is not
/// consulted: time limits take effect at the next pass boundary.
public struct PrecopyCallbackAdvisor: Sendable {
    /// libxenguest's answers (`XGS_POLICY_*` in xenguest.h).
    public enum Answer: Int32, Sendable, Equatable {
        case abort = -1
        case continuePrecopy = 0
        case stopAndCopy = 1
    }

    public private(set) var policy: any PrecopyPolicy
    public let guestPageCount: Int
    public let pageSizeBytes: Int
    /// Why pre-copy stopped, once it has.
    public private(set) var stop: PrecopyStop?
    public private(set) var abortReason: String?
    /// The live passes so far (the paused one is added by `finish`).
    public private(set) var iterations: [IterationReport] = []
    private var stats: PrecopyStats
    private var startSeconds: Double?
    private var roundStartSeconds = 0.0
    /// Pages the current pass sends: the dirty count the top-of-loop call announced.
    private var roundPages = 0

    public init(policy: any PrecopyPolicy, guestPageCount: Int, pageSizeBytes: Int = 4096) {
        self.policy = policy
        self.guestPageCount = guestPageCount
        self.pageSizeBytes = pageSizeBytes
        stats = PrecopyStats(guestPageCount: Double(guestPageCount), pageSizeBytes: pageSizeBytes)
    }

    /// One callback: libxenguest's `struct precopy_stats` and the time now (seconds, any origin).
    public mutating func answer(iteration: Int, totalWritten: Int, dirtyCount: Int, nowSeconds: Double) -> Answer {
        if startSeconds == nil { startSeconds = nowSeconds }
        stats.elapsedSeconds = nowSeconds - startSeconds!
        stats.iteration = iteration
        stats.totalPagesSent = Double(totalWritten)
        stats.totalBytesSent = Double(totalWritten * pageSizeBytes)
        if dirtyCount < 0 {
            return afterSend(nowSeconds: nowSeconds)
        }
        return atTopOfLoop(dirtyCount: dirtyCount, nowSeconds: nowSeconds)
    }

    /// The top of the loop: a pass is about to send `dirtyCount` pages.
    private mutating func atTopOfLoop(dirtyCount: Int, nowSeconds: Double) -> Answer {
        stats.dirtyPageCount = Double(dirtyCount)
        // What is dirty now is what the next pass must send (QEMU's pending estimate).
        stats.pendingPageCount = Double(dirtyCount)
        var answer = Answer.continuePrecopy
        if iteration > 0 {
            // The CLEAN after the last pass: what the guest dirtied while it ran.
            iterations[iterations.count - 1].pagesDirtied = dirtyCount
            answer = translate(policy.afterDirtyLogRead(stats))
        }
        // Xen sends these pages live whatever the answer (but abort); with none dirty, the pass
        // is empty (and Xen 3's rule ends pre-copy on it), and the report leaves it out.
        if answer != .abort {
            roundPages = dirtyCount
            roundStartSeconds = nowSeconds - (startSeconds ?? nowSeconds)
            stats.roundPagesSent = 0
        }
        if answer != .abort, dirtyCount > 0 {
            iterations.append(IterationReport(index: iterations.count + 1, pagesSent: dirtyCount, pagesSkipped: 0, pagesDirtied: 0,
                                              startSeconds: roundStartSeconds, durationSeconds: 0, paused: false))
        }
        return answer
    }

    /// After a pass has been sent (`dirty_count = -1`).
    private mutating func afterSend(nowSeconds: Double) -> Answer {
        let elapsed = nowSeconds - (startSeconds ?? nowSeconds)
        if roundPages > 0, !iterations.isEmpty {
            iterations[iterations.count - 1].durationSeconds = elapsed - roundStartSeconds
        }
        let duration = elapsed - roundStartSeconds
        stats.roundPagesSent = Double(roundPages)
        stats.pendingPageCount = 0
        stats.dirtyPageCount = nil
        if duration > 0 { stats.measuredBandwidthBytesPerSecond = Double(roundPages * pageSizeBytes) / duration }
        return translate(policy.afterRound(stats))
    }

    private var iteration: Int { stats.iteration }

    private mutating func translate(_ decision: PrecopyDecision) -> Answer {
        switch decision {
        case .continuePrecopy:
            return .continuePrecopy
        case .stopAndCopy(let reason):
            stop = reason
            return .stopAndCopy
        case .abort(let reason):
            abortReason = reason
            return .abort
        }
    }

    /// The report once Xen's save has ended: `pausedPages` sent with the guest suspended (when
    /// known), `downtimeSeconds` from the suspend to the guest running on the destination.
    public func report(live: Bool, totalSeconds: Double, downtimeSeconds: Double, pausedPages: Int, pausedStartSeconds: Double,
                       bytesSent: Int, failure: String? = nil) -> MigrationReport {
        var passes = iterations
        passes.append(IterationReport(index: passes.count + 1, pagesSent: pausedPages, pagesSkipped: 0, pagesDirtied: 0,
                                      startSeconds: pausedStartSeconds, durationSeconds: downtimeSeconds, paused: true))
        let outcome: MigrationOutcome
        let reason: String
        if let failure {
            (outcome, reason) = (.aborted, failure)
        } else if let abortReason {
            (outcome, reason) = (.aborted, abortReason)
        } else if let stop {
            (outcome, reason) = (stop.outcome, stop.reason)
        } else {
            // Without a stop the loop never ran: an offline migration, paused for the whole copy.
            (outcome, reason) = (.converged, "offline migration: the guest was paused for the whole copy")
        }
        return MigrationReport(outcome: outcome, reason: reason, policy: policy.name, live: live, totalTimeSeconds: totalSeconds,
                               downtimeSeconds: downtimeSeconds, bytesSent: bytesSent,
                               pagesSent: passes.reduce(0) { $0 + $1.pagesSent }, guestPages: guestPageCount,
                               pageSizeBytes: pageSizeBytes, maxThrottlePercent: 0, iterations: passes)
    }
}
