import MigrationCore

/// Post-copy's destination as the simulator models it: the guest runs there from the hand-over
/// on, touching pages as the workload writes them (a second copy of the source's memory model,
/// advanced from the hand-over); a touch of a page the source still holds is a fault, which
/// the engine hears as a page request and serves before any other page.
///
/// The guest is taken to have one vCPU that stalls on its fault (QEMU's userfaultfd faults
/// block the vCPU that touched), so its faults come one at a time, each waiting for the batch on
/// the wire to end (half a batch on average), the pages pushed ahead of it and not yet placed (the
/// executor's flow-control window, `EngineSettings.postcopyWindowBytes`, full when the link is
/// the bottleneck, as here), its own page, and the link's latency both ways (the request there,
/// the page back): L = (batch / 2 + window + 1) x page + 2 x latency, a page's time
/// being the post-copy round's send time over its pages so far (so a fluid send, many batches in
/// one, weighs by its pages). Its touches then run at `1 / (1 + f L)` of their rate, f the
/// faults per second of the last interval at full speed, and what is lost is the guest's
/// stall (the report's `guestStallShare`). Reads of missing pages also fault in a real guest;
/// the workload models writes only, so the faults here are a floor.
/// A class, not a struct: a lane holds it as one reference whatever its memory model, so the
/// lane's layout (copied and moved at every step) does not grow with a generic member the
/// migrations without post-copy never use (as a struct it cost a fluid scenario 37 % more).
final class PostcopyFaultModel<Memory: SimulatedMemory> {
    private var memory: Memory
    private let linkLatencySeconds: Double
    private let batchPages: Double
    private let windowPages: Double
    private var touchedUpToSeconds: Double
    let startSeconds: Double
    /// The send out now: when it started and how many pages it carries.
    private var sendStart: (seconds: Double, pages: Double)?
    /// The post-copy round's completed sends so far: their pages and their time.
    private var sentPages = 0.0
    private var sendingSeconds = 0.0
    private(set) var faults = 0.0
    private var latencySumSeconds = 0.0
    private(set) var latencyMaxSeconds = 0.0
    private var stallSeconds = 0.0
    /// The slowdown applied to the last interval's touches.
    private var runningShare = 1.0
    /// The fluid model's expected faults not yet a whole page: asked for once they are (a
    /// request for a sliver of a page would be a send of a sliver, and so on without end).
    private var faultsOwed = 0.0

    init(memory: Memory, startSeconds: Double, linkLatencySeconds: Double, batchPages: Int, windowPages: Int) {
        self.batchPages = Double(batchPages)
        self.windowPages = Double(windowPages)
        var fresh = memory
        fresh.clear()
        self.memory = fresh
        self.startSeconds = startSeconds
        touchedUpToSeconds = startSeconds
        self.linkLatencySeconds = linkLatencySeconds
    }

    /// One fault's wait, from the sends seen so far (the latency alone before the first).
    private var faultLatencySeconds: Double {
        guard sentPages > 0 else { return 2 * linkLatencySeconds }
        return (batchPages / 2 + windowPages + 1) * sendingSeconds / sentPages + 2 * linkLatencySeconds
    }

    /// The guest's touches from the last call to `now`: what they fault on, as a request for
    /// the engine (nil when nothing faulted).
    func touches<Tracker: PageTracking>(upTo now: Double, engine: SourceMigration<Tracker>) -> PageRequest?
        where Tracker.DirtyLog == Memory.DirtyLog {
        let span = now - touchedUpToSeconds
        guard span > 0 else { return nil }
        memory.advance(from: touchedUpToSeconds, to: now, rateScale: runningShare)
        touchedUpToSeconds = now
        var request = engine.pendingPages(among: memory.peek())
        memory.clear()
        if request.pages.isEmpty {
            faultsOwed += request.count
            request.count = faultsOwed >= 1 ? faultsOwed.rounded(.down) : 0
            faultsOwed -= request.count
        }
        stallSeconds += span * (1 - runningShare)
        let latency = faultLatencySeconds
        if request.count > 0 {
            faults += request.count
            latencySumSeconds += request.count * latency
            latencyMaxSeconds = max(latencyMaxSeconds, latency)
        }
        // The next interval runs slowed by this one's faults at full speed.
        let fullSpeedRate = request.count / (span * runningShare)
        runningShare = 1 / (1 + fullSpeedRate * latency)
        return request.count > 0 ? request : nil
    }

    /// A send of `pages` starts.
    func sendStarted(pages: Double, now: Double) {
        sendStart = (now, pages)
    }

    /// The send out completed at `now`.
    func sendCompleted(now: Double) {
        guard let start = sendStart, start.pages > 0 else { return }
        sendStart = nil
        sentPages += start.pages
        sendingSeconds += now - start.seconds
    }

    /// The report's figures.
    func fill(_ report: inout PostcopyReport) {
        report.faults = CheckedConversion.clampedInt(faults.rounded(), to: 0 ... Int.max)
        if faults > 0 {
            report.faultLatencyMeanSeconds = latencySumSeconds / faults
            report.faultLatencyMaxSeconds = latencyMaxSeconds
        }
        let duration = touchedUpToSeconds - startSeconds
        report.guestStallShare = duration > 0 ? min(1, stallSeconds / duration) : 0
    }
}
