#if canImport(Glibc)
import Glibc
#endif

/// The fluid model's view of a workload: guest memory cut into regions whose pages are alike,
/// with, for each phase of the schedule, how fast a page of the region gets dirtied.
///
/// Regions are ranges of logical pages (`PageLayout` scatters them over frames the same way
/// for every region, so the page-level and fluid models see the same mix). A phase-less
/// workload has one phase that lasts for ever.
struct FluidRegions: Sendable {
    enum Growth: Sendable, Equatable {
        /// Poisson writes: a clean page stays clean for `dt` with probability e^(-rate x dt).
        case poisson
        /// A sweep: the dirty share grows linearly, `rate x dt` of the region per second.
        case sweep
    }

    struct PhaseRates: Sendable {
        var startSeconds: Double
        var endSeconds: Double
        /// Per region: growth kind and rate per page per second.
        var rates: [(growth: Growth, perPagePerSecond: Double)]
    }

    /// Pages in each region.
    let pageCounts: [Double]
    let phases: [PhaseRates]

    /// Per region: a sweep writes it in some phase (`FluidPageTracker`'s ordered merge); nil
    /// when no sweep writes any.
    var sweepRegions: [Bool]? {
        guard phases.contains(where: { $0.rates.contains { $0.growth == .sweep } }) else { return nil }
        return pageCounts.indices.map { index in phases.contains { $0.rates[index].growth == .sweep } }
    }

    /// Log-spaced rank buckets a Zipf working set is cut into.
    static let zipfBuckets = 48

    init(workload: Workload, guestPages: Int) throws(SimulationError) {
        // Each phase as segments over logical pages: (end page, growth, total rate of the segment).
        var phaseSegments: [(start: Double, end: Double, segments: [Segment])] = []
        switch workload {
        case .phases(let phases):
            var start = 0.0
            for (index, phase) in phases.enumerated() {
                let end = index == phases.count - 1 ? Double.infinity : start + phase.durationSeconds
                phaseSegments.append((start, end, try Self.segments(phase.workload, guestPages: guestPages)))
                start = end
            }
        default:
            phaseSegments.append((0, .infinity, try Self.segments(workload, guestPages: guestPages)))
        }
        // Cut memory at every boundary of every phase (a sorted array without repeats: a Set
        // cost more than the rest of a fluid scenario's set-up).
        var bounds = [0, guestPages]
        for phase in phaseSegments { for segment in phase.segments { bounds.append(segment.endPage) } }
        bounds.sort()
        var cuts: [Int] = []
        cuts.reserveCapacity(bounds.count)
        for bound in bounds where bound != cuts.last { cuts.append(bound) }
        pageCounts = zip(cuts, cuts.dropFirst()).map { Double($1 - $0) }
        phases = phaseSegments.map { phase in
            var rates: [(Growth, Double)] = []
            var segmentIndex = 0
            var segmentStart = 0
            for (low, _) in zip(cuts, cuts.dropFirst()) {
                while phase.segments[segmentIndex].endPage <= low {
                    segmentStart = phase.segments[segmentIndex].endPage
                    segmentIndex += 1
                }
                let segment = phase.segments[segmentIndex]
                let pages = Double(segment.endPage - segmentStart)
                rates.append((segment.growth, pages > 0 ? segment.ratePagesPerSecond / pages : 0))
            }
            return PhaseRates(startSeconds: phase.start, endSeconds: phase.end, rates: rates)
        }
    }

    private struct Segment {
        var endPage: Int
        var growth: Growth
        var ratePagesPerSecond: Double
    }

    /// One phase's segments, covering 0 ..< guestPages in order.
    private static func segments(_ workload: Workload, guestPages: Int) throws(SimulationError) -> [Segment] {
        var segments: [Segment]
        switch workload {
        case .idle:
            segments = []
        case .uniform(let pages, let rate):
            segments = [Segment(endPage: pages, growth: .poisson, ratePagesPerSecond: rate)]
        case .hotCold(let workingSet, let hot, let hotRate, let coldRate):
            segments = [Segment(endPage: hot, growth: .poisson, ratePagesPerSecond: hotRate),
                        Segment(endPage: workingSet, growth: .poisson, ratePagesPerSecond: coldRate)]
        case .zipf(let pages, let rate, let exponent):
            segments = zipfSegments(pages: pages, rate: rate, exponent: exponent)
        case .sequential(let pages, let rate):
            segments = [Segment(endPage: pages, growth: .sweep, ratePagesPerSecond: rate)]
        case .phases:
            throw SimulationError("workload.phases: phases cannot be nested")
        case .trace:
            throw SimulationError("workload.kind: a trace replays exact pages; simulate it with --fidelity page")
        }
        segments = segments.filter { $0.endPage > 0 }
        if segments.last?.endPage ?? 0 < guestPages {
            segments.append(Segment(endPage: guestPages, growth: .poisson, ratePagesPerSecond: 0))
        }
        return segments
    }

    /// Ranks cut into log-spaced buckets; each bucket's share of the writes is its part of the
    /// Zipf normalisation sum (exact for the first ranks, the midpoint integral beyond).
    private static func zipfSegments(pages: Int, rate: Double, exponent: Double) -> [Segment] {
        guard pages > 0 else { return [] }
        var ends: [Int] = []
        var end = 1
        while end < pages {
            ends.append(end)
            end = max(end + 1, Int(Double(end) * pow(Double(pages), 1.0 / Double(zipfBuckets))))
        }
        ends.append(pages)
        func weight(_ low: Int, _ high: Int) -> Double {  // sum over ranks low+1 ... high
            if high - low <= 64 {
                return (low + 1 ... high).reduce(0.0) { $0 + 1 / pow(Double($1), exponent) }
            }
            let a = Double(low) + 0.5, b = Double(high) + 0.5
            return abs(exponent - 1) < 1e-12 ? log(b / a) : (pow(b, 1 - exponent) - pow(a, 1 - exponent)) / (1 - exponent)
        }
        var weights: [Double] = []
        var low = 0
        for high in ends { weights.append(weight(low, high)); low = high }
        let total = weights.reduce(0, +)
        return zip(ends, weights).map { Segment(endPage: $0, growth: .poisson, ratePagesPerSecond: rate * $1 / total) }
    }
}
