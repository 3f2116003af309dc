import MigrationCore

/// The simulator's source hypervisor: the same `SourceHypervisor` protocol the real backends
/// implement, over simulated memory whose writes advance with the virtual clock.
struct SimulatedHypervisor<Memory: SimulatedMemory>: SourceHypervisor {
    typealias DirtyLog = Memory.DirtyLog

    private(set) var memory: Memory
    private(set) var throttlePercent = 0
    private(set) var paused = false
    private(set) var destroyed = false
    private(set) var logging = false
    private(set) var resumeCount = 0
    /// Virtual time up to which the guest's writes have been applied.
    private var writtenUpToSeconds = 0.0
    /// The virtual time the next operation happens at; the driver sets it.
    var nowSeconds = 0.0

    let deviceStateBytes: Int

    init(memory: Memory, deviceStateBytes: Int) {
        self.memory = memory
        self.deviceStateBytes = deviceStateBytes
    }

    /// True while the guest runs on the source.
    var running: Bool { !paused && !destroyed }

    private mutating func catchUp() {
        if running && logging {
            memory.advance(from: writtenUpToSeconds, to: nowSeconds, rateScale: 1 - Double(throttlePercent) / 100)
        }
        writtenUpToSeconds = max(writtenUpToSeconds, nowSeconds)
    }

    private func requireGuest() throws(HostFailure) {
        if destroyed { throw HostFailure("the source guest was already destroyed") }
    }

    mutating func enableDirtyLogging() throws(HostFailure) {
        try requireGuest()
        catchUp()
        memory.clear()
        logging = true
    }

    mutating func disableDirtyLogging() throws(HostFailure) {
        catchUp()
        logging = false
    }

    mutating func peekDirtyLog() throws(HostFailure) -> Memory.DirtyLog {
        try requireGuest()
        catchUp()
        return memory.peek()
    }

    mutating func readAndClearDirtyLog() throws(HostFailure) -> Memory.DirtyLog {
        try requireGuest()
        catchUp()
        let log = memory.peek()
        memory.clear()
        return log
    }

    mutating func setThrottle(percent: Int) throws(HostFailure) {
        catchUp()
        throttlePercent = min(max(percent, 0), 99)
    }

    mutating func pauseGuest() throws(HostFailure) {
        try requireGuest()
        catchUp()
        paused = true
    }

    mutating func resumeGuest() throws(HostFailure) {
        try requireGuest()
        catchUp()
        paused = false
        resumeCount += 1
    }

    mutating func captureDeviceState() throws(HostFailure) -> Int {
        try requireGuest()
        return deviceStateBytes
    }

    mutating func destroyGuest() throws(HostFailure) {
        try requireGuest()
        destroyed = true
    }
}

/// The simulator's stream to the destination: drives a real `DestinationMigration` so that
/// the commit handshake is the engine's own; fails every operation once the link is down. The
/// fluid model's pages have no identity, so the destination counts pages instead of keeping a
/// bitmap; the device state stands for one vCPU's state and the devices'.
struct SimulatedChannel<Batch>: MigrationChannel {
    typealias DeviceState = Int
    private(set) var destination = DestinationMigration(completenessCheck: .pageCount)
    var linkDownReason: String?
    private var opened = false
    /// Pages sent in all (fractional in the fluid model) and how many of them the destination
    /// has counted. It only counts them (its check comes at the end of the stream), so they
    /// reach it in one event before the stream's next step instead of one event per batch,
    /// which cost a tenth of a fluid run; the sum is rounded once, not each batch, so that a
    /// fluid post-copy's fractional sends add up to the pages it named missing.
    private var pagesSent = 0.0
    private var pagesCounted = 0
    let guestPages: Int

    init(guestPages: Int) { self.guestPages = guestPages }

    private mutating func deliver(_ event: DestinationMigration.Event) throws(HostFailure) -> [DestinationMigration.Action] {
        if let reason = linkDownReason { throw HostFailure(reason) }
        if !opened {
            opened = true
            _ = destination.handle(.streamOpened(guestPages: guestPages, vcpuCount: 1))
        }
        let whole = CheckedConversion.clampedInt(pagesSent.rounded(), to: 0 ... Int.max)
        if whole > pagesCounted {
            _ = destination.handle(.pagesReceived(count: whole - pagesCounted))
            pagesCounted = whole
        }
        let actions = destination.handle(event)
        if case .aborted(let why) = destination.state { throw HostFailure("destination aborted: \(why)") }
        return actions
    }

    mutating func sendPages(_ batch: Batch, pageCount: Double, wireBytes: Double) throws(HostFailure) -> Double {
        if let reason = linkDownReason { throw HostFailure(reason) }
        if pageCount.isFinite, pageCount > 0 { pagesSent += pageCount }
        return wireBytes
    }

    mutating func sendDeviceState(_ state: Int) throws(HostFailure) {
        _ = try deliver(.vcpuStateReceived(vcpu: 0))
        _ = try deliver(.deviceStateReceived)
    }

    mutating func finishStreamAndAwaitReady() throws(HostFailure) {
        let actions = try deliver(.endOfStream)
        // After post-copy's hand-over the answer is that every page is there; else "ready".
        guard actions.contains(.reportReady) || actions.contains(.reportPostcopyComplete) else {
            throw HostFailure("the destination did not report ready")
        }
    }

    mutating func clearToRunAndAwaitRunning() throws(HostFailure) -> ClearanceAnswer {
        guard try deliver(.clearedToRun).contains(.unpauseGuest), try deliver(.guestRunning).contains(.reportRunning) else { throw HostFailure("the destination did not start the guest") }
        return .running
    }

    var supportsPostcopy: Bool { true }

    mutating func startPostcopyAndAwaitRunning(missing: Batch, pageCount: Double) throws(HostFailure) -> ClearanceAnswer {
        // The sends from here are counted afresh, their sum rounded once (`pagesSent`); the
        // pages named missing are rounded down (a hair up first), so that the fluid model's
        // fractional sends, adding up to `pageCount` within rounding, always cover them.
        let missingCount = CheckedConversion.clampedInt((pageCount + 1e-6).rounded(.down), to: 0 ... guestPages)
        let started = try deliver(.postcopyStarted(missingPages: nil, missingCount: missingCount))
        pagesSent = 0
        pagesCounted = 0
        guard started.contains(.unpauseGuest),
              try deliver(.guestRunning).contains(.reportRunning) else { throw HostFailure("the destination did not start the guest for post-copy") }
        return .running
    }

    /// The link goes down: the destination learns it too, and throws its partial guest away
    /// (or, in post-copy, holds it paused).
    mutating func breakLink(_ reason: String) {
        linkDownReason = reason
        _ = destination.handle(.transportFailed(reason))
    }
}
