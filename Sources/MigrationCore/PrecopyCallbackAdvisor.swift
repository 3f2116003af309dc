/// The engine core's side of libxenguest's `precopy_policy` callback: when Xen's own save loop
/// (`send_memory_live` in `tools/libs/guest/xg_sr_save.c`) moves the pages, this answers its
/// questions with the same `PrecopyPolicy` values the engine's own loop consults. It only
/// translates: the rounds, the stats the policy sees and the report are kept by the same
/// `RoundLedger` the engine's loop keeps them in. No I/O, no clock: the driver passes the time.
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
    public var pageSizeBytes: Int { ledger.settings.pageSizeBytes }
    /// Why pre-copy stopped, once it has.
    public private(set) var stop: PrecopyStop?
    public private(set) var abortReason: String?
    /// The books: the stats the policy saw, the passes so far.
    public private(set) var ledger: RoundLedger
    /// The live passes so far (the paused one is added by `report`).
    public var iterations: [IterationReport] { ledger.iterations }

    public init(policy: any PrecopyPolicy, guestPageCount: Int, pageSizeBytes: Int = 4096) {
        self.policy = policy
        self.guestPageCount = guestPageCount
        ledger = RoundLedger(guestPageCount: Double(guestPageCount), settings: EngineSettings(pageSizeBytes: pageSizeBytes))
    }

    /// One callback: libxenguest's `struct precopy_stats` and the time now (seconds, any origin).
    public mutating func answer(iteration: Int, totalWritten: Int, dirtyCount: Int, nowSeconds: Double) -> Answer {
        ledger.tick(now: nowSeconds)
        // The pages Xen says it wrote since the last call: its count, not ours, is what was sent.
        let written = max(0, Double(totalWritten) - ledger.stats.totalPagesSent)
        if written > 0 { ledger.recordSent(pages: written, wireBytes: ledger.settings.wireBytes(pages: written), now: nowSeconds) }
        if dirtyCount < 0 {
            return afterSend(nowSeconds: nowSeconds)
        }
        return atTopOfLoop(dirtyCount: Double(dirtyCount), nowSeconds: nowSeconds)
    }

    /// The top of the loop: a pass is about to send `dirtyCount` pages.
    private mutating func atTopOfLoop(dirtyCount: Double, nowSeconds: Double) -> Answer {
        if ledger.stats.iteration > 0 {
            // The CLEAN after the last pass: what the guest dirtied while it ran (Xen's
            // CLEAN is not timed apart from the pass, so it counts as instant).
            ledger.recordDirtyLogRead(dirty: dirtyCount, pending: dirtyCount, readStart: nowSeconds, now: nowSeconds)
        } else {
            // Before the first pass every page is dirty, as the engine's loop asks too.
            ledger.announceFullPass()
        }
        let answer = translate(policy.afterDirtyLogRead(ledger.stats))
        // Xen sends these pages live whatever the answer (but abort); with none dirty, the pass
        // is empty (and Xen 3's rule ends pre-copy on it), and the report leaves it out.
        guard answer != .abort else { return answer }
        ledger.beginRound(now: nowSeconds, paused: false)
        if answer == .stopAndCopy {
            // No call follows this pass: Xen sends it and suspends. Its pages count now; its
            // length is not known, and the report gives it none (as Xen's own callbacks do not).
            ledger.recordSent(pages: dirtyCount, wireBytes: ledger.settings.wireBytes(pages: dirtyCount), now: nowSeconds)
            ledger.closeRound(now: nowSeconds, pending: 0)
        }
        return answer
    }

    /// After a pass has been sent (`dirty_count = -1`).
    private mutating func afterSend(nowSeconds: Double) -> Answer {
        ledger.closeRound(now: nowSeconds, pending: 0)
        ledger.countLiveRoundDone()
        return translate(policy.afterRound(ledger.stats))
    }

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
    /// known), `downtimeSeconds` from the suspend to the guest running on the destination;
    /// times in seconds from the first callback, `bytesSent` as the stream counted them.
    public func report(live: Bool, totalSeconds: Double, downtimeSeconds: Double, pausedPages: Int, pausedStartSeconds: Double,
                       bytesSent: Int, failure: String? = nil) -> MigrationReport {
        var books = ledger
        // An offline save (or one that failed first) asked nothing: its clock starts here.
        if books.startSeconds == nil { books.tick(now: 0) }
        let origin = books.startSeconds ?? 0
        let paused = Double(max(0, pausedPages))
        // The CLEAN inside the suspend found the paused pass's pages: what the guest dirtied
        // during the last live pass, as the engine's final read credits it.
        books.recordDirtyLogRead(dirty: paused, pending: paused, readStart: origin + pausedStartSeconds, now: origin + pausedStartSeconds)
        books.beginRound(now: origin + pausedStartSeconds, paused: true)
        books.recordSent(pages: paused, wireBytes: books.settings.wireBytes(pages: paused), now: origin + pausedStartSeconds)
        books.closeRound(now: origin + pausedStartSeconds + downtimeSeconds, pending: 0)
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
        var report = books.report(outcome: outcome, reason: reason, policy: policy.name, pausedAt: nil, now: origin + totalSeconds,
                                  maxThrottlePercent: 0)
        report.live = live
        report.downtimeSeconds = downtimeSeconds
        report.totalTimeSeconds = totalSeconds
        // What the stream carried, framing included, rather than the pages' share of it.
        report.bytesSent = bytesSent
        // libxenguest's loop budgets no pause of its own.
        report.pauseOverheadBudgetSeconds = nil
        return report
    }
}
