import MigrationCore

/// How finely the simulator models guest memory.
public enum Fidelity: String, Sendable, CaseIterable, Codable {
    /// Bitmaps of dirty / to-send / to-skip pages: exact Xen skip semantics, distinct pages.
    case page
    /// Expected values per region of alike pages: microseconds per scenario.
    case fluid
}

/// Everything one simulated migration needs.
public struct SimulationConfig: Sendable {
    public var guestMemoryBytes: Int
    public var workload: Workload
    public var link: LinkModel
    public var costs: HostCosts
    public var engine: EngineSettings
    public var policy: PolicyConfiguration
    public var fidelity: Fidelity
    public var seed: UInt64
    /// A simulation still running at this virtual time is stopped and reported `aborted`.
    public var maxSimulatedSeconds: Double
    /// Failure injection: the link goes down at this time.
    public var linkFailureAtSeconds: Double?
    /// Where the working set lies (`workload.placement`); page level only: the fluid model's
    /// pages have no place.
    public var placement: WorkingSetPlacement = .scattered
    /// The share of the link's bandwidth and of the rate limit that transfers achieve
    /// (`link.efficiency`, 1 by default); the simulated migration runs at the scaled rates, and
    /// a real one the scenario describes keeps the nominal cap.
    public var linkEfficiency: Double = 1
    /// The share of guest memory that is zero pages when the migration starts (`guest.zeroShare`,
    /// 0 by default): memory the guest never wrote since boot. The source finds them as it reads
    /// each page (QEMU's `buffer_is_zero` in migration/ram.c; livemig's stream sends them as
    /// `zeroPages` markers of 8 bytes a page). The model gives that share of the pages sent for
    /// the first time (the first full pass, however many rounds it spans) a marker's cost;
    /// pages the guest dirties are not zero, so their later sends are whole pages.
    public var zeroPageShare: Double = 0
    /// What the operator does mid-run (`events:`), in time order: a new cap, a new downtime
    /// limit, a cancel, each handed to the engine at its time as `livemig job` does for real.
    public var operatorEvents: [OperatorEvent] = []
    /// Connections carrying the pages (`migration.streams`, `migrate --streams`): the batches
    /// spread over them, so their copying (`costs.pageCopySecondsPerPage`) and per-batch costs
    /// overlap, on at most `costs.sourceCores` cores, and their rate is at most that many times
    /// `costs.streamBytesPerSecond`, all within the shared link.
    public var streams = 1
    /// The size page data shrinks to when compressed (`guest.compressRatio`, compressed over
    /// raw); whether it is, is the engine's setting (`engine.compression`).
    public var compressRatio = 0.5
    /// XBZRLE deltas (`migration.compression: xbzrle`, `migrate --compress xbzrle`) instead of
    /// zstd: a data page sent before goes at `deltaRatio` of its size (`guest.deltaRatio`), at
    /// `costs.deltaSecondsPerPage` each, from the second round on, as far as the 64 MiB of copies
    /// hold the round's pages.
    public var sendsDeltas = false
    public var deltaRatio = 0.02
    /// The copies the source keeps for deltas (as `DeltaPageCache`'s default, QEMU's 64 MiB).
    public var deltaCacheBytes = 64.0 * 1_048_576
    /// The most data streams a migration may have (the stream format's bound).
    public static let maxStreams = 16

    public init(guestMemoryBytes: Int, workload: Workload, link: LinkModel, costs: HostCosts = HostCosts(),
                engine: EngineSettings = EngineSettings(), policy: PolicyConfiguration, fidelity: Fidelity = .page,
                seed: UInt64 = 1, maxSimulatedSeconds: Double = 86_400, linkFailureAtSeconds: Double? = nil) {
        self.guestMemoryBytes = guestMemoryBytes
        self.workload = workload
        self.link = link
        self.costs = costs
        self.engine = engine
        self.policy = policy
        self.fidelity = fidelity
        self.seed = seed
        self.maxSimulatedSeconds = maxSimulatedSeconds
        self.linkFailureAtSeconds = linkFailureAtSeconds
    }

    public var pageSizeBytes: Int { engine.pageSizeBytes }
    public var guestPages: Int { guestMemoryBytes / engine.pageSizeBytes }

    /// Checks what the types cannot; errors name the setting.
    public func validate() throws(SimulationError) {
        guard guestMemoryBytes > 0, guestMemoryBytes % pageSizeBytes == 0 else {
            throw SimulationError("guest.memory: \(guestMemoryBytes) bytes is not a positive multiple of guest.pageSize (\(pageSizeBytes) bytes)")
        }
        guard guestPages <= 1 << 32 else {
            throw SimulationError("guest.memory: \(guestPages) pages is over the limit of 2^32 pages")
        }
        try validate(workload, key: "workload")
        try validatePlacement()
        guard link.bandwidthProfile.allSatisfy({ $0.bytesPerSecond > 0 || $0.fromSeconds > 0 }) else {
            throw SimulationError("link.bandwidth: must be positive")
        }
        guard maxSimulatedSeconds > 0, maxSimulatedSeconds.isFinite else { throw SimulationError("simulation.maxSeconds: must be a positive, finite time") }
        guard linkEfficiency > 0, linkEfficiency <= 1 else {
            throw SimulationError("link.efficiency: \(linkEfficiency) is not a share from 0 (excluded) to 1")
        }
        guard operatorEvents.count <= OperatorEvent.maxCount else {
            throw SimulationError("events: \(operatorEvents.count) events, at most \(OperatorEvent.maxCount)")
        }
        for (index, timed) in operatorEvents.enumerated() {
            guard timed.atSeconds >= 0, timed.atSeconds.isFinite else {
                throw SimulationError("events[\(index)].at: \(timed.atSeconds) is not a time from 0 on")
            }
            guard index == 0 || operatorEvents[index - 1].atSeconds <= timed.atSeconds else {
                throw SimulationError("events[\(index)].at: events must be in time order")
            }
        }
        guard compressRatio >= 0.01, compressRatio <= 1 else {
            throw SimulationError("guest.compressRatio: \(compressRatio) is not a share from 0.01 to 1")
        }
        guard deltaRatio >= 0.001, deltaRatio <= 1 else {
            throw SimulationError("guest.deltaRatio: \(deltaRatio) is not a share from 0.001 to 1")
        }
        guard costs.deltaSecondsPerPage >= 0, costs.deltaSecondsPerPage.isFinite else {
            throw SimulationError("source.deltaCost: \(costs.deltaSecondsPerPage) s is not a time from 0 on")
        }
        guard costs.compressSecondsPerPage >= 0, costs.compressSecondsPerPage.isFinite else {
            throw SimulationError("source.compressCost: \(costs.compressSecondsPerPage) s is not a time from 0 on")
        }
        guard streams >= 1, streams <= Self.maxStreams else {
            throw SimulationError("migration.streams: \(streams) is not from 1 to \(Self.maxStreams)")
        }
        if let rate = costs.streamBytesPerSecond, !(rate > 0 && rate.isFinite) {
            throw SimulationError("source.streamRate: \(rate) B/s is not a positive, finite rate")
        }
        if let cores = costs.sourceCores, cores < 1 {
            throw SimulationError("source.cores: \(cores) is not 1 or more")
        }
        guard zeroPageShare >= 0, zeroPageShare <= 1 else {
            throw SimulationError("guest.zeroShare: \(zeroPageShare) is not a share from 0 to 1")
        }
        if let failAt = linkFailureAtSeconds, !(failAt >= 0 && failAt.isFinite) {
            throw SimulationError("link.failAt: \(failAt) is not a time from 0 on")
        }
    }

    /// A contiguous block must fit in memory from its first page, for every phase's working set;
    /// a trace already says where its pages lie.
    private func validatePlacement() throws(SimulationError) {
        guard case .contiguous(let firstPage) = placement else { return }
        if case .trace = workload {
            throw SimulationError("workload.placement: a trace already records where its pages lie; leave placement out")
        }
        guard firstPage >= 0, firstPage < guestPages else {
            throw SimulationError("workload.offset: page \(firstPage) is outside the guest's \(guestPages) pages")
        }
        let pages = workload.largestWorkingSetPages
        guard pages <= guestPages - firstPage else {
            throw SimulationError("workload.offset: a working set of \(pages) pages from page \(firstPage) runs past the guest's \(guestPages) pages")
        }
    }

    private func validate(_ workload: Workload, key: String) throws(SimulationError) {
        func check(_ pages: Int, _ name: String) throws(SimulationError) {
            guard pages >= 0, pages <= guestPages else {
                throw SimulationError("\(key).\(name): \(pages) pages is outside the guest's \(guestPages) pages")
            }
        }
        func rate(_ value: Double, _ name: String) throws(SimulationError) {
            guard value >= 0, value.isFinite else { throw SimulationError("\(key).\(name): must be a rate >= 0 pages/s") }
        }
        switch workload {
        case .idle: break
        case .uniform(let pages, let r): try check(pages, "workingSet"); try rate(r, "rate")
        case .hotCold(let workingSet, let hot, let hotRate, let coldRate):
            try check(workingSet, "workingSet")
            guard hot >= 0, hot <= workingSet else {
                throw SimulationError("\(key).hotSet: \(hot) pages is not within the working set of \(workingSet) pages")
            }
            try rate(hotRate, "hotRate"); try rate(coldRate, "coldRate")
        case .zipf(let pages, let r, let exponent):
            try check(pages, "workingSet"); try rate(r, "rate")
            guard exponent > 0, exponent.isFinite else { throw SimulationError("\(key).exponent: must be > 0") }
        case .sequential(let pages, let r): try check(pages, "workingSet"); try rate(r, "rate")
        case .phases(let phases):
            guard !phases.isEmpty else { throw SimulationError("\(key).phases: needs at least one phase") }
            for (index, phase) in phases.enumerated() {
                guard phase.durationSeconds > 0 else {
                    throw SimulationError("\(key).phases[\(index)].duration: must be positive")
                }
                if case .phases = phase.workload { throw SimulationError("\(key).phases[\(index)]: phases cannot be nested") }
                try validate(phase.workload, key: "\(key).phases[\(index)]")
            }
        case .trace(let trace, _):
            guard trace.pageCount <= guestPages else {
                throw SimulationError("\(key).trace: the trace covers \(trace.pageCount) pages, the guest has \(guestPages)")
            }
        }
    }
}
