/// The destination side of a migration, sans I/O: receive, then commit or abort.
///
/// The destination builds the guest paused as the stream arrives, says "ready to unpause" only
/// when it holds all of it (every page at least once, every vCPU's state, the device state,
/// end of stream), and runs it only when the source says "cleared to unpause": the two-step
/// handshake of `xl migrate` (libxl's `migrate_receive` in `tools/xl/xl_migrate.c`). Any
/// failure before the guest runs destroys the partial guest here and tells the source, so the
/// guest runs in exactly one place.
///
/// The driver (the receiver, or the simulator's channel) feeds events and performs every
/// action returned, in order: this type is where the destination's commit rules live.
public struct DestinationMigration: Sendable {
    public enum State: Sendable, Equatable {
        case awaitingStream, receiving, holdsWholeGuest, unpausing, running, aborted(String)
        /// Post-copy: unpausing with pages missing, then running while they come.
        case postcopyUnpausing, runningPostcopy
        /// Post-copy cut short after the guest ran here: it is held paused, never destroyed
        /// (the source holds the pages it lacks, and its own copy is stale; docs/postcopy.md).
        case postcopyInterrupted(String)
    }

    /// How the destination knows it holds every page.
    public enum CompletenessCheck: Sendable, Equatable {
        /// A bitmap of the pages received (real streams name every page they carry).
        case everyPage
        /// A count of the pages received (the fluid simulator's pages have no identity).
        case pageCount
        /// The hypervisor's restore reads the whole stream and checks it itself (Xen: libxl and
        /// libxenguest build the domain from xl's stream); the machine holds the commit rules.
        case byHypervisor
    }

    public enum Event: Sendable, Equatable {
        case streamOpened(guestPages: Int, vcpuCount: Int)
        /// The hypervisor read the whole stream and built the paused guest
        /// (`CompletenessCheck.byHypervisor` only).
        case restoredByHypervisor
        /// A page batch's head: its page numbers, before its data is read.
        case pageBatchAnnounced(pageNumbers: [UInt64])
        /// Pages the source found all zero and sent as their numbers alone (`zeroPages`).
        case zeroPagesAnnounced(pageNumbers: [UInt64])
        /// `count` pages arrived (`CompletenessCheck.pageCount` only).
        case pagesReceived(count: Int)
        /// The main stream says the pages come on `count` data streams (`parallelStreams`).
        case parallelStreamsAnnounced(count: Int)
        /// Every data stream has ended: the pages they carried (each counted once in `pages`,
        /// `pagesReceived` counting a page sent twice twice). Before `endOfStream`.
        case parallelStreamsEnded(pages: DirtyBitmap, pagesReceived: Int)
        case vcpuStateReceived(vcpu: Int)
        case deviceStateReceived
        /// The source's digest of the paused guest's memory arrived (`migrate --verify-memory`).
        case memoryDigestReceived
        case endOfStream
        /// Post-copy's hand-over: the pages still to come (stale here, or never sent), by number
        /// (`everyPage`) or as a count (`pageCount`), and the clearance to run without them.
        case postcopyStarted(missingPages: DirtyBitmap?, missingCount: Int)
        case clearedToRun
        /// The driver's unpause returned: the guest runs here.
        case guestRunning
        /// A local operation (creating, loading, unpausing the guest) failed.
        case localFailure(String)
        case transportFailed(String)
        /// The source sent `abort`.
        case sourceAborted(String)
    }

    public enum Action: Sendable, Equatable {
        /// Create the (paused) guest that will receive the memory.
        case createGuest(pages: Int)
        /// Read the announced batch's page data into the guest.
        case receivePageData
        /// Make the announced zero pages read as zero in the guest.
        case zeroAnnouncedPages
        /// Take `count` data streams for this migration (they join on a port the driver opens
        /// and names to the source), and apply the pages they carry until each ends.
        case acceptParallelStreams(count: Int)
        /// Load the received state of vCPU `vcpu` into the paused guest.
        case loadVcpuState(vcpu: Int)
        /// Load the received device state into the paused guest.
        case loadDeviceState
        /// Compute the digest of the guest's memory and fail unless it equals the source's.
        case verifyMemory
        /// Tell the source "ready to unpause".
        case reportReady
        /// Post-copy: every missing page is here; end the faults' service and tell the source,
        /// which may then destroy its copy (the guest already runs here).
        case reportPostcopyComplete
        /// Post-copy: make the missing pages fault on the guest's touch (and fetch them).
        case markPagesMissing
        /// Post-copy cut short: stop the guest here and keep it, with what it holds.
        case holdGuestPaused
        /// Run the guest here.
        case unpauseGuest
        /// Tell the source the guest runs here.
        case reportRunning
        /// Throw away the partial guest.
        case destroyGuest
        /// Tell the source why this side gave up (best effort: the link may be gone).
        case reportAbort(String)
    }

    public private(set) var state: State = .awaitingStream
    public let completenessCheck: CompletenessCheck
    public private(set) var guestPages = 0
    /// Pages received, counting a page sent twice twice.
    public private(set) var pagesReceived = 0
    /// Distinct pages received (`everyPage`).
    public private(set) var distinctPagesReceived = 0
    private var received = DirtyBitmap(pageCount: 0)
    private var vcpuStatesLoaded: [Bool] = []
    private var hasDeviceState = false
    /// The source sent a memory digest: "ready" waits for the memory to match it.
    public private(set) var hasMemoryDigest = false
    /// Data streams announced (0: the pages come on the main stream), and whether all ended.
    public private(set) var parallelStreams = 0
    private var parallelStreamsEnded = false
    /// The most data streams a migration may announce (the stream format's bound).
    public static let maxParallelStreams = 16

    public init(completenessCheck: CompletenessCheck = .everyPage) {
        self.completenessCheck = completenessCheck
    }

    /// Feeds one event; returns what the driver must do, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        switch (state, event) {
        case (.awaitingStream, .restoredByHypervisor):
            guard completenessCheck == .byHypervisor else { return abort("a restore by the hypervisor where the stream is checked here") }
            state = .holdsWholeGuest
            return [.reportReady]
        case (.awaitingStream, .streamOpened) where completenessCheck == .byHypervisor:
            return abort("a stream to check where the hypervisor restores the guest")
        case (.awaitingStream, .streamOpened(let pages, let vcpus)):
            return open(guestPages: pages, vcpuCount: vcpus)
        case (.receiving, .pageBatchAnnounced) where parallelStreams > 0, (.receiving, .zeroPagesAnnounced) where parallelStreams > 0:
            // The data streams write pages concurrently; one on the main stream could race them.
            return abort("page data on the main stream of a migration with \(parallelStreams) data streams")
        case (.receiving, .pageBatchAnnounced(let pageNumbers)):
            return announce(pageNumbers, then: .receivePageData)
        case (.receiving, .zeroPagesAnnounced(let pageNumbers)):
            return announce(pageNumbers, then: .zeroAnnouncedPages)
        case (.receiving, .parallelStreamsAnnounced(let count)):
            guard completenessCheck == .everyPage else { return abort("parallel streams where the pages are not checked by number") }
            guard parallelStreams == 0, distinctPagesReceived == 0 else { return abort("parallel streams announced after pages or twice") }
            guard count >= 2, count <= Self.maxParallelStreams else {
                return abort("\(count) data streams announced; 2 to \(Self.maxParallelStreams) may be")
            }
            parallelStreams = count
            return [.acceptParallelStreams(count: count)]
        case (.receiving, .parallelStreamsEnded(let pages, let count)):
            guard parallelStreams > 0, !parallelStreamsEnded else { return abort("data streams ended that were never announced, or twice") }
            guard pages.pageCount == guestPages, count >= 0 else { return abort("the data streams' pages do not fit the guest") }
            parallelStreamsEnded = true
            received.formUnion(pages)
            distinctPagesReceived = received.count
            countPagesReceived(count)
            return []
        case (.receiving, .pagesReceived(let count)):
            guard completenessCheck == .pageCount else { return abort("a page count where page numbers are needed") }
            guard count >= 0 else { return abort("a batch of \(count) pages") }
            countPagesReceived(count)
            return []
        case (.receiving, .vcpuStateReceived(let vcpu)):
            guard vcpuStatesLoaded.indices.contains(vcpu) else {
                return abort("state for vCPU \(vcpu); the guest has \(vcpuStatesLoaded.count)")
            }
            guard !vcpuStatesLoaded[vcpu] else { return abort("a second state for vCPU \(vcpu)") }
            vcpuStatesLoaded[vcpu] = true
            return [.loadVcpuState(vcpu: vcpu)]
        case (.receiving, .deviceStateReceived):
            guard !hasDeviceState else { return abort("a second device state") }
            hasDeviceState = true
            return [.loadDeviceState]
        case (.receiving, .memoryDigestReceived):
            guard !hasMemoryDigest else { return abort("a second memory digest") }
            hasMemoryDigest = true
            return []
        case (.receiving, .endOfStream):
            if let missing = missingPart() { return abort("the stream ended before \(missing) arrived") }
            state = .holdsWholeGuest
            return hasMemoryDigest ? [.verifyMemory, .reportReady] : [.reportReady]
        case (.holdsWholeGuest, .clearedToRun):
            state = .unpausing
            return [.unpauseGuest]
        case (.unpausing, .guestRunning):
            state = .running
            return [.reportRunning]
        case (.receiving, .postcopyStarted(let missingPages, let missingCount)):
            return startPostcopy(missingPages: missingPages, missingCount: missingCount)
        case (.postcopyUnpausing, .guestRunning):
            state = .runningPostcopy
            return [.reportRunning]
        case (.runningPostcopy, .pageBatchAnnounced(let pageNumbers)):
            return announceMissing(pageNumbers, then: .receivePageData)
        case (.runningPostcopy, .zeroPagesAnnounced(let pageNumbers)):
            return announceMissing(pageNumbers, then: .zeroAnnouncedPages)
        case (.runningPostcopy, .pagesReceived(let count)):
            guard completenessCheck == .pageCount else { return interruptPostcopy("a page count where page numbers are needed") }
            guard count >= 0 else { return interruptPostcopy("a batch of \(count) pages") }
            countPagesReceived(count)
            return []
        case (.runningPostcopy, .endOfStream):
            if let missing = missingPart() { return interruptPostcopy("the stream ended before \(missing) arrived") }
            state = .running
            return [.reportPostcopyComplete]
        case (.runningPostcopy, .transportFailed(let reason)), (.runningPostcopy, .localFailure(let reason)):
            return interruptPostcopy(reason)
        case (.runningPostcopy, .sourceAborted(let reason)):
            return interruptPostcopy("the source aborted: \(reason)")
        case (.runningPostcopy, _):
            return interruptPostcopy("unexpected \(event) during post-copy")
        case (.running, _), (.aborted, _), (.postcopyInterrupted, _):
            return []
        case (_, .transportFailed(let reason)), (_, .localFailure(let reason)):
            return abort(reason)
        case (_, .sourceAborted(let reason)):
            return abort("the source aborted: \(reason)", tellSource: false)
        default:
            return abort("unexpected \(event) while \(state)")
        }
    }

    private mutating func open(guestPages pages: Int, vcpuCount: Int) -> [Action] {
        guard pages > 0 else { return abort("the stream announces a guest of \(pages) pages") }
        guard vcpuCount > 0 else { return abort("the stream announces a guest of \(vcpuCount) vCPUs") }
        guestPages = pages
        vcpuStatesLoaded = [Bool](repeating: false, count: vcpuCount)
        if completenessCheck == .everyPage { received = DirtyBitmap(pageCount: pages) }
        state = .receiving
        return [.createGuest(pages: pages)]
    }

    /// Pages announced (with data to read, or as zero): each counts as received once.
    private mutating func announce(_ pageNumbers: [UInt64], then action: Action) -> [Action] {
        guard completenessCheck == .everyPage else { return abort("page numbers where a page count is expected") }
        for page in pageNumbers {
            guard page < UInt64(guestPages) else {
                return abort("page \(page) is beyond the guest's \(guestPages) pages")
            }
            let index = Int(page)
            if !received.contains(index) {
                received.insert(index)
                distinctPagesReceived += 1
            }
        }
        pagesReceived += pageNumbers.count
        return [action]
    }

    /// Adds `count` (not negative) to the pages received, saturating: a count is bounded by the
    /// sender, not by this type.
    private mutating func countPagesReceived(_ count: Int) {
        let (sum, overflow) = pagesReceived.addingReportingOverflow(count)
        pagesReceived = overflow ? Int.max : sum
    }

    /// Pages arriving while the guest runs here: each must be one still missing. A page the guest
    /// already holds (received before, or earlier in this batch) has been running here, maybe
    /// written: placing the source's older copy over it would corrupt the guest, so such a batch
    /// interrupts post-copy (terminal: what this batch marked no longer matters).
    private mutating func announceMissing(_ pageNumbers: [UInt64], then action: Action) -> [Action] {
        guard completenessCheck == .everyPage else { return interruptPostcopy("page numbers where a page count is expected") }
        for page in pageNumbers {
            guard page < UInt64(guestPages) else {
                return interruptPostcopy("page \(page) is beyond the guest's \(guestPages) pages")
            }
            guard !received.contains(Int(page)) else {
                return interruptPostcopy("page \(page) arrived during post-copy but was not missing (it would overwrite the running guest's copy)")
            }
            received.insert(Int(page))
        }
        distinctPagesReceived += pageNumbers.count
        pagesReceived += pageNumbers.count
        return [action]
    }

    /// Post-copy's hand-over: everything but the pages named missing must be here.
    private mutating func startPostcopy(missingPages: DirtyBitmap?, missingCount: Int) -> [Action] {
        if parallelStreams > 0 { return abort("post-copy with data streams") }
        if let vcpu = vcpuStatesLoaded.firstIndex(of: false) { return abort("post-copy before the state of vCPU \(vcpu)") }
        if !hasDeviceState { return abort("post-copy before the device state") }
        guard missingCount >= 0, missingCount <= guestPages else {
            return abort("post-copy with \(missingCount) pages missing of \(guestPages)")
        }
        switch completenessCheck {
        case .everyPage:
            guard let missing = missingPages, missing.pageCount == guestPages, missing.count == missingCount else {
                return abort("post-copy without the list of the \(missingCount) missing pages")
            }
            // Every page here or to come: the union is the whole guest.
            var whole = missing
            _ = whole.formUnion(received)
            guard whole.count == guestPages else {
                return abort("post-copy with \(guestPages - whole.count) pages neither received nor named missing")
            }
            // A page named missing that came before is stale here: it counts once it comes again.
            for page in missing.pageNumbers { received.remove(page) }
            distinctPagesReceived = received.count
        case .pageCount:
            pagesReceived = guestPages - missingCount
        case .byHypervisor:
            return abort("post-copy where the hypervisor restores the guest")
        }
        state = .postcopyUnpausing
        return [.markPagesMissing, .unpauseGuest]
    }

    /// Post-copy cut short: the guest has run here, so it is held, not destroyed.
    private mutating func interruptPostcopy(_ reason: String) -> [Action] {
        state = .postcopyInterrupted(reason)
        return [.holdGuestPaused, .reportAbort(reason)]
    }

    /// What the guest still lacks, described for an abort reason; nil when it is whole.
    private func missingPart() -> String? {
        if parallelStreams > 0, !parallelStreamsEnded { return "the end of the \(parallelStreams) data streams" }
        if let vcpu = vcpuStatesLoaded.firstIndex(of: false) { return "the state of vCPU \(vcpu)" }
        if !hasDeviceState { return "the device state" }
        switch completenessCheck {
        case .everyPage where distinctPagesReceived < guestPages:
            let first = (0 ..< guestPages).first { !received.contains($0) } ?? 0
            return "every page (\(guestPages - distinctPagesReceived) of \(guestPages) never came, the first is page \(first))"
        case .pageCount where pagesReceived < guestPages:
            return "every page (\(pagesReceived) received of \(guestPages))"
        default:
            return nil
        }
    }

    /// Destroy first, then tell the source: a driver stops at the first action that fails, so
    /// a source told after the clearance that this side gave up (and may resume) is told only
    /// once the copy here is gone (`CommitRules`).
    private mutating func abort(_ reason: String, tellSource: Bool = true) -> [Action] {
        let hadGuest = state != .awaitingStream
        state = .aborted(reason)
        return (hadGuest ? [.destroyGuest] : []) + (tellSource ? [.reportAbort(reason)] : [])
    }
}
