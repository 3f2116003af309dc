#if canImport(Glibc)
import Glibc
#endif
import MigrationCore
import DirtyTraceFormat

/// Applies a workload's writes over a stretch of virtual time to a dirty bitmap, page by page.
/// `rateScale` is the share of time the guest's vCPUs run (1 - throttle).
protocol PageWriting: AnyObject {
    func write(from startSeconds: Double, to endSeconds: Double, rateScale: Double, into bitmap: inout DirtyBitmap)
}

/// Builds the page-level writer of a workload.
enum PageWriterFactory {
    /// Zipf sampling keeps an alias table of 16 bytes per working-set page; this bounds it.
    static let maxZipfWorkingSetPages = 1 << 22

    static func make(_ workload: Workload, layout: PageLayout, random: GSLRandom) throws(SimulationError) -> PageWriting {
        switch workload {
        case .idle:
            return IdleWriter()
        case .uniform(let pages, let rate):
            return UniformWriter(firstLogicalPage: 0, pages: pages, ratePagesPerSecond: rate, layout: layout, random: random)
        case .hotCold(let workingSet, let hot, let hotRate, let coldRate):
            return CompositeWriter(parts: [
                UniformWriter(firstLogicalPage: 0, pages: hot, ratePagesPerSecond: hotRate, layout: layout, random: random),
                UniformWriter(firstLogicalPage: hot, pages: workingSet - hot, ratePagesPerSecond: coldRate,
                              layout: layout, random: random),
            ])
        case .zipf(let pages, let rate, let exponent):
            guard pages <= maxZipfWorkingSetPages else {
                throw SimulationError("workload.workingSet: a zipf working set holds at most \(maxZipfWorkingSetPages) pages at page level (got \(pages)); use --fidelity fluid or a smaller working set")
            }
            let weights = (1 ... max(1, pages)).map { 1 / pow(Double($0), exponent) }
            guard let distribution = GSLDiscreteDistribution(weights: weights) else {
                throw SimulationError("workload.exponent: GSL could not build a Zipf table for exponent \(exponent)")
            }
            let total = weights.reduce(0, +)
            return ZipfWriter(distribution: distribution, probabilities: weights.map { $0 / total }, ratePagesPerSecond: rate,
                              layout: layout, random: random)
        case .sequential(let pages, let rate):
            return SweepWriter(firstFrame: layout.offset, pages: pages, ratePagesPerSecond: rate)
        case .phases(let phases):
            var start = 0.0
            var parts: [(start: Double, end: Double, writer: PageWriting)] = []
            for (index, phase) in phases.enumerated() {
                let end = index == phases.count - 1 ? Double.infinity : start + phase.durationSeconds
                parts.append((start, end, try make(phase.workload, layout: layout, random: random)))
                start = end
            }
            return PhaseWriter(parts: parts)
        case .trace(let trace, let loop):
            return TraceWriter(trace: trace, loop: loop, random: random)
        }
    }
}

final class IdleWriter: PageWriting {
    func write(from startSeconds: Double, to endSeconds: Double, rateScale: Double, into bitmap: inout DirtyBitmap) {}
}

/// Poisson-many writes, each to a page drawn uniformly from a slice of the working set.
final class UniformWriter: PageWriting {
    let firstLogicalPage: Int
    let pages: Int
    let ratePagesPerSecond: Double
    let layout: PageLayout
    let random: GSLRandom

    init(firstLogicalPage: Int, pages: Int, ratePagesPerSecond: Double, layout: PageLayout, random: GSLRandom) {
        self.firstLogicalPage = firstLogicalPage
        self.pages = pages
        self.ratePagesPerSecond = ratePagesPerSecond
        self.layout = layout
        self.random = random
    }

    func write(from startSeconds: Double, to endSeconds: Double, rateScale: Double, into bitmap: inout DirtyBitmap) {
        guard pages > 0, ratePagesPerSecond > 0, endSeconds > startSeconds else { return }
        let mean = ratePagesPerSecond * rateScale * (endSeconds - startSeconds)
        if mean > 20 * Double(pages) {
            // Every page is written with probability 1 - e^-20: all of them.
            for index in 0 ..< pages { bitmap.insert(layout.frame(ofLogicalPage: firstLogicalPage + index)) }
            return
        }
        let writes = random.poisson(mean: mean)
        for _ in 0 ..< writes {
            bitmap.insert(layout.frame(ofLogicalPage: firstLogicalPage + random.uniformInt(below: pages)))
        }
    }
}

/// Poisson-many writes, each to a page drawn by Zipf popularity (GSL's alias sampler). When
/// more writes are expected than `perPageFactor` x the working set (a long stretch at a high
/// rate), each page is instead dirty with the probability that at least one of its Poisson
/// share of the writes hits it, 1 - e^(-mean x p): the same distribution of dirty pages, at a
/// cost bounded by the working set instead of by the number of writes (10^16 at 10^9 pages/s
/// over a simulated year).
final class ZipfWriter: PageWriting {
    static let perPageFactor = 8.0
    let distribution: GSLDiscreteDistribution
    /// Each logical page's share of the writes (rank k: k^-exponent, normalised).
    let probabilities: [Double]
    let ratePagesPerSecond: Double
    let layout: PageLayout
    let random: GSLRandom

    init(distribution: GSLDiscreteDistribution, probabilities: [Double], ratePagesPerSecond: Double, layout: PageLayout,
         random: GSLRandom) {
        self.distribution = distribution
        self.probabilities = probabilities
        self.ratePagesPerSecond = ratePagesPerSecond
        self.layout = layout
        self.random = random
    }

    func write(from startSeconds: Double, to endSeconds: Double, rateScale: Double, into bitmap: inout DirtyBitmap) {
        guard ratePagesPerSecond > 0, endSeconds > startSeconds else { return }
        let mean = ratePagesPerSecond * rateScale * (endSeconds - startSeconds)
        if mean > Self.perPageFactor * Double(probabilities.count) {
            for (page, share) in probabilities.enumerated() where random.uniform() < -expm1(-mean * share) {
                bitmap.insert(layout.frame(ofLogicalPage: page))
            }
            return
        }
        let writes = random.poisson(mean: mean)
        for _ in 0 ..< writes { bitmap.insert(layout.frame(ofLogicalPage: distribution.sample(random))) }
    }
}

/// A sweep over frames firstFrame ..< firstFrame + pages at a steady rate, wrapping around
/// inside the region (the configuration keeps the region inside memory).
final class SweepWriter: PageWriting {
    let firstFrame: Int
    let pages: Int
    let ratePagesPerSecond: Double
    /// Position of the sweep in pages, fractional between writes.
    private var position = 0.0

    init(firstFrame: Int, pages: Int, ratePagesPerSecond: Double) {
        self.firstFrame = firstFrame
        self.pages = pages
        self.ratePagesPerSecond = ratePagesPerSecond
    }

    /// Marks the region's pages `range` (relative to the region) dirty.
    private func insert(_ range: Range<Int>, into bitmap: inout DirtyBitmap) {
        bitmap.insert(range: firstFrame + range.lowerBound ..< firstFrame + range.upperBound)
    }

    func write(from startSeconds: Double, to endSeconds: Double, rateScale: Double, into bitmap: inout DirtyBitmap) {
        guard pages > 0, ratePagesPerSecond > 0, endSeconds > startSeconds else { return }
        let advance = ratePagesPerSecond * rateScale * (endSeconds - startSeconds)
        guard advance < Double(pages) else {
            // A whole sweep or more: every page, and the position moves on modulo the region
            // (no Int of a position that may be beyond Int's range).
            insert(0 ..< pages, into: &bitmap)
            position = (position + advance).truncatingRemainder(dividingBy: Double(pages))
            return
        }
        // position < pages and advance < pages: both ends fit an Int.
        let from = Int(position)
        position += advance
        let to = Int(position)
        if to - from >= pages {
            insert(0 ..< pages, into: &bitmap)
        } else if to > from {
            let low = from % pages
            let high = low + (to - from)
            if high <= pages {
                insert(low ..< high, into: &bitmap)
            } else {
                insert(low ..< pages, into: &bitmap)
                insert(0 ..< high - pages, into: &bitmap)
            }
        }
        position = position.truncatingRemainder(dividingBy: Double(pages))
    }
}

/// Several writers at once (a hot set and a cold set).
final class CompositeWriter: PageWriting {
    let parts: [PageWriting]
    init(parts: [PageWriting]) { self.parts = parts }

    func write(from startSeconds: Double, to endSeconds: Double, rateScale: Double, into bitmap: inout DirtyBitmap) {
        for part in parts { part.write(from: startSeconds, to: endSeconds, rateScale: rateScale, into: &bitmap) }
    }
}

/// A schedule of writers, each over its own stretch of time.
final class PhaseWriter: PageWriting {
    let parts: [(start: Double, end: Double, writer: PageWriting)]
    init(parts: [(start: Double, end: Double, writer: PageWriting)]) { self.parts = parts }

    func write(from startSeconds: Double, to endSeconds: Double, rateScale: Double, into bitmap: inout DirtyBitmap) {
        for part in parts where part.start < endSeconds && part.end > startSeconds {
            part.writer.write(from: max(startSeconds, part.start), to: min(endSeconds, part.end),
                              rateScale: rateScale, into: &bitmap)
        }
    }
}

/// Replays a recorded trace: the pages of each record are written at the record's time
/// (repeating the trace when `loop` is set). A throttled guest writes each page with
/// probability `rateScale`.
final class TraceWriter: PageWriting {
    let trace: DirtyTrace
    let loop: Bool
    let random: GSLRandom

    init(trace: DirtyTrace, loop: Bool, random: GSLRandom) {
        self.trace = trace
        self.loop = loop
        self.random = random
    }

    func write(from startSeconds: Double, to endSeconds: Double, rateScale: Double, into bitmap: inout DirtyBitmap) {
        let period = trace.durationSeconds
        guard !trace.records.isEmpty, endSeconds > startSeconds else { return }
        var cycle = loop && period > 0 ? (startSeconds / period).rounded(.down) : 0
        while true {
            let offset = cycle * period
            if offset > endSeconds { return }
            for record in trace.records {
                let time = record.timeSeconds + offset
                guard time > startSeconds, time <= endSeconds else { continue }
                for page in record.pages where rateScale >= 1 || random.uniform() < rateScale {
                    bitmap.insert(page)
                }
            }
            guard loop, period > 0 else { return }
            cycle += 1
        }
    }
}
