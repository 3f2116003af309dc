import DirtyTraceFormat

/// A guest's memory write behaviour in the simulator's vocabulary (the same words the real
/// executors' built-in guest workloads use). Rates are pages written per second; a page
/// written twice between two dirty-log reads is one dirty page.
public indirect enum Workload: Sendable, Equatable {
    /// Writes nothing.
    case idle
    /// Uniform random writes over a working set.
    case uniform(workingSetPages: Int, ratePagesPerSecond: Double)
    /// A writable working set: the first `hotPages` of it written at `hotRatePagesPerSecond`,
    /// the rest of it at `coldRatePagesPerSecond`.
    case hotCold(workingSetPages: Int, hotPages: Int, hotRatePagesPerSecond: Double, coldRatePagesPerSecond: Double)
    /// Writes whose page popularity follows Zipf's law with this exponent (rank k has weight
    /// 1/k^exponent) over the working set.
    case zipf(workingSetPages: Int, ratePagesPerSecond: Double, exponent: Double)
    /// A sequential sweep over a region, wrapping around (a memcpy or a scan).
    case sequential(regionPages: Int, ratePagesPerSecond: Double)
    /// A schedule: each phase runs for its duration, the last one for ever.
    case phases([WorkloadPhase])
    /// Replay of a recorded dirty-page trace (`docs/trace-format.md`).
    case trace(DirtyTrace, loop: Bool)

    /// The kind as scenario files spell it.
    public var kindName: String {
        switch self {
        case .idle: "idle"
        case .uniform: "uniform"
        case .hotCold: "hotCold"
        case .zipf: "zipf"
        case .sequential: "sequential"
        case .phases: "phases"
        case .trace: "trace"
        }
    }
}

/// One phase of a `Workload.phases` schedule.
public struct WorkloadPhase: Sendable, Equatable {
    public var durationSeconds: Double
    public var workload: Workload
    public init(durationSeconds: Double, workload: Workload) {
        self.durationSeconds = durationSeconds
        self.workload = workload
    }
}

/// Where a workload's working set lies in guest memory (`workload.placement`).
public enum WorkingSetPlacement: Sendable, Equatable {
    /// Spread over the whole of memory, the way a guest's hot pages are spread over physical
    /// frames (the default).
    case scattered
    /// One contiguous block from `firstPage`, the way a program writing one buffer (the
    /// built-in guest program, a database's buffer pool) lays it out. Where the block lies
    /// matters at page level: Xen 3 skips the pages dirtied again ahead of its sweep, and how
    /// many those are depends on where they sit in the pass.
    case contiguous(firstPage: Int)
}

/// Where a workload's pages sit in guest memory: logical page i of a working set goes to frame
/// (i x stride + offset) mod N. Scattered: stride near the golden section of N and coprime to
/// it, offset 0 (a fixed bijection over all frames); a sequential sweep's region is then
/// contiguous from frame 0. Contiguous: stride 1 from the block's first page, for sweeps too.
public struct PageLayout: Sendable, Equatable {
    public let pageCount: Int
    public let stride: Int
    /// The frame of logical page 0.
    public let offset: Int

    public init(pageCount: Int, placement: WorkingSetPlacement = .scattered) {
        precondition(pageCount > 0, "a layout needs pages")
        self.pageCount = pageCount
        switch placement {
        case .scattered:
            // Near the golden section of N, odd, and coprime to N.
            var candidate = max(1, Int(Double(pageCount) * 0.6180339887498949)) | 1
            while gcd(candidate, pageCount) != 1 { candidate += 2 }
            stride = candidate % pageCount == 0 ? 1 : candidate % pageCount
            offset = 0
        case .contiguous(let firstPage):
            precondition((0 ..< pageCount).contains(firstPage), "a contiguous block starts inside memory")
            stride = 1
            offset = firstPage
        }
    }

    /// The frame of logical page `index` of a working set. `index` and the stride are below
    /// N <= 2^32 and the offset below N, so the sum stays under 2^64.
    @inline(__always)
    public func frame(ofLogicalPage index: Int) -> Int {
        Int((UInt64(index) &* UInt64(stride) &+ UInt64(offset)) % UInt64(pageCount))
    }
}

func gcd(_ a: Int, _ b: Int) -> Int {
    var (x, y) = (a, b)
    while y != 0 { (x, y) = (y, x % y) }
    return x
}

extension Workload {
    /// The most pages any part of the workload writes to (a phase schedule: its largest phase);
    /// 0 for idle and for a trace, whose pages lie where it recorded them.
    public var largestWorkingSetPages: Int {
        switch self {
        case .idle, .trace: 0
        case .uniform(let pages, _), .zipf(let pages, _, _), .sequential(let pages, _), .hotCold(let pages, _, _, _): pages
        case .phases(let phases): phases.map(\.workload.largestWorkingSetPages).max() ?? 0
        }
    }

    /// Page writes per second the workload asks for (a phase schedule: its busiest phase; a
    /// trace: its pages over its duration). For ranking guests by how hard they dirty memory,
    /// not a prediction of the dirty rate a round sees.
    public var writePagesPerSecond: Double {
        switch self {
        case .idle: 0
        case .uniform(_, let rate), .zipf(_, let rate, _), .sequential(_, let rate): rate
        case .hotCold(_, _, let hot, let cold): hot + cold
        case .phases(let phases): phases.map(\.workload.writePagesPerSecond).max() ?? 0
        case .trace(let trace, _):
            trace.durationSeconds > 0 ? Double(trace.records.reduce(0) { $0 + $1.pages.count }) / trace.durationSeconds : 0
        }
    }
}
