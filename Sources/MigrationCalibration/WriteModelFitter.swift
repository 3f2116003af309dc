#if canImport(Glibc)
import Glibc
#endif
import DirtyTraceFormat
import MigrationCore
import MigrationSimulation

/// Why a trace could not be fitted; the message says what the observation lacked.
public struct CalibrationError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Fits a write model to what a guest was seen to dirty (`livemig observe`'s trace, read at a
/// fine interval): where the working set lies, its size, a hot set if there is one, the rates
/// and their spread from one stretch of the observation to the next.
///
/// The method, in order: count in how many reads each page was dirty; find the contiguous
/// blocks the dirty pages form (a block holding most of the writes is the working set, placed
/// where it was seen); tell a sweep (each read one run of pages) from random writes; split
/// random writes into a hot and a cold class where the pages' hit counts fall in two groups
/// (Otsu's threshold); each class's rate from the share of reads its pages were dirty in (a
/// page written at λ per second is clean over a read interval Δ with probability e^(-λΔ)).
/// A working set that is not one block is sized by the dirty counts over several interval
/// lengths, which only the right size and rate reproduce together.
public enum WriteModelFitter {
    /// Fewest reads a fit rests on.
    public static let minReads = 8
    /// Widest span of dirty pages a fit counts in one array (512 GiB of 4 KiB pages).
    public static let maxSpanPages = 1 << 27
    /// Gaps between dirty pages up to this many pages are taken to be inside one block (pages
    /// of a block that the observation happened not to see written).
    public static let mergedGapPages = 64
    /// A block holding at least this share of the writes is the working set, placed where it
    /// lies, unless it spans nearly all of memory (`spreadShare`) with few of its pages seen
    /// dirty (under `denseShare`): a working set scattered over memory also forms one long
    /// block when its pages are closer than the merged gap.
    public static let dominantShare = 0.8
    public static let denseShare = 0.5
    public static let spreadShare = 0.9
    /// Below this many page writes per second the guest is taken to be idle.
    public static let idleRatePagesPerSecond = 1.0
    /// Classes whose per-page rates differ less than this factor are one working set.
    public static let hotColdRatio = 5.0

    public static func fit(_ trace: DirtyTrace) throws(CalibrationError) -> WriteModelFit {
        let reads = trace.records.count
        guard reads >= minReads, let last = trace.records.last, last.timeSeconds > 0 else {
            throw CalibrationError("the observation has \(reads) reads; a fit needs at least \(minReads) over a positive time")
        }
        let interval = last.timeSeconds / Double(reads)
        let hits = try PageHitCounts(trace: trace, maxSpanPages: maxSpanPages)
        let counts = DirtyCountsByInterval(trace: trace)
        let blocks = hits.blocks(mergingGapsUpTo: mergedGapPages)
        let totalHits = blocks.reduce(0) { $0 + $1.hits }
        var model: FittedWriteModel
        if totalHits == 0 || Double(hits.totalPageWrites) / last.timeSeconds < idleRatePagesPerSecond {
            model = FittedWriteModel(kind: .idle, placement: .scattered, workingSetPages: 0, hotPages: 0,
                                     ratePagesPerSecond: 0, coldRatePagesPerSecond: 0, rateSpreadPagesPerSecond: 0)
        } else if let block = blocks.max(by: { $0.hits < $1.hits }), Double(block.hits) >= dominantShare * Double(totalHits),
                  Double(block.pages.count) < spreadShare * Double(trace.pageCount)
                    || Double(hits.distinctPages(in: block.pages)) >= denseShare * Double(block.pages.count) {
            model = fitBlock(block.pages, hits: hits, trace: trace, interval: interval)
        } else {
            model = fitScattered(hits: hits, counts: counts, trace: trace, interval: interval)
        }
        let points = counts.points.map { point in
            WriteModelFit.Check(seconds: point.seconds, observedDirtyPages: point.meanDirtyPages,
                                predictedDirtyPages: model.expectedDirtyPages(in: point.seconds))
        }
        return WriteModelFit(model: model, reads: reads, observedSeconds: last.timeSeconds, intervalSeconds: interval,
                             distinctPages: hits.distinctPages, blocks: blocks.sorted { $0.hits > $1.hits },
                             checks: points)
    }

    /// The working set is one block: a sweep over it, or random writes (with a hot set if the
    /// pages' hit counts fall in two groups).
    private static func fitBlock(_ block: Range<Int>, hits: PageHitCounts, trace: DirtyTrace, interval: Double) -> FittedWriteModel {
        let placement = WorkingSetPlacement.contiguous(firstPage: block.lowerBound)
        if let sweep = sweepRate(trace, in: block, interval: interval) {
            return FittedWriteModel(kind: .sequential, placement: placement, workingSetPages: block.count, hotPages: 0,
                                    ratePagesPerSecond: sweep.mean, coldRatePagesPerSecond: 0, rateSpreadPagesPerSecond: sweep.spread)
        }
        let pages = Array(block)
        return fitRandomWrites(pages: pages, hits: hits, trace: trace, interval: interval, placement: placement)
    }

    /// The dirty pages are spread over memory: the working set's size and rate are the pair
    /// that best reproduces the dirty counts at every interval length (each size gives the rate
    /// that matches the shortest interval; the size is searched between the pages seen and all
    /// of memory), and a hot set is split off the pages seen.
    private static func fitScattered(hits: PageHitCounts, counts: DirtyCountsByInterval, trace: DirtyTrace,
                                     interval: Double) -> FittedWriteModel {
        var model = fitRandomWrites(pages: hits.dirtyPages, hits: hits, trace: trace, interval: interval, placement: .scattered)
        guard model.kind == .uniform, let first = counts.points.first, first.meanDirtyPages > 0 else { return model }
        let seen = Double(hits.distinctPages)
        let memory = Double(trace.pageCount)
        func rate(forWorkingSet pages: Double) -> Double {
            // The rate whose expected count over the shortest interval is the one seen.
            let share = min(first.meanDirtyPages / pages, 1 - 1e-12)
            return -pages * log1p(-share) / first.seconds
        }
        func error(_ pages: Double) -> Double {
            let r = rate(forWorkingSet: pages)
            return counts.points.reduce(0) { sum, point in
                let predicted = pages * -expm1(-r * point.seconds / pages)
                let relative = (predicted - point.meanDirtyPages) / max(point.meanDirtyPages, 1)
                return sum + relative * relative
            }
        }
        // Golden-section search on log(size): the error has one valley between the two ends.
        var low = log(max(seen, 1))
        var high = log(max(memory, seen, 1))
        let golden = (sqrt(5.0) - 1) / 2
        for _ in 0 ..< 60 where high - low > 1e-6 {
            let a = high - golden * (high - low)
            let b = low + golden * (high - low)
            if error(exp(a)) <= error(exp(b)) { high = b } else { low = a }
        }
        let pages = exp((low + high) / 2)
        model.workingSetPages = min(trace.pageCount, max(hits.distinctPages, CheckedConversion.clampedInt(pages, to: 0 ... trace.pageCount)))
        let scale = model.ratePagesPerSecond > 0 ? rate(forWorkingSet: Double(model.workingSetPages)) / model.ratePagesPerSecond : 1
        model.ratePagesPerSecond = rate(forWorkingSet: Double(model.workingSetPages))
        model.rateSpreadPagesPerSecond *= scale
        return model
    }

    /// Random writes over `pages`: one rate, or a hot and a cold class where the pages' hit
    /// counts fall in two groups whose rates differ at least `hotColdRatio` times.
    private static func fitRandomWrites(pages: [Int], hits: PageHitCounts, trace: DirtyTrace, interval: Double,
                                        placement: WorkingSetPlacement) -> FittedWriteModel {
        let reads = trace.records.count
        let counts = pages.map { hits.count(of: $0) }
        let all = ClassRate(pages: pages, counts: counts, reads: reads, interval: interval)
        var model = FittedWriteModel(kind: .uniform, placement: placement, workingSetPages: pages.count, hotPages: 0,
                                     ratePagesPerSecond: all.ratePagesPerSecond, coldRatePagesPerSecond: 0,
                                     rateSpreadPagesPerSecond: windowSpread(of: Set(pages), trace: trace, interval: interval))
        guard let threshold = otsuThreshold(counts, reads: reads) else { return model }
        let hotIndices = counts.indices.filter { counts[$0] > threshold }
        let coldIndices = counts.indices.filter { counts[$0] <= threshold }
        guard !hotIndices.isEmpty, !coldIndices.isEmpty else { return model }
        let hot = ClassRate(pages: hotIndices.map { pages[$0] }, counts: hotIndices.map { counts[$0] }, reads: reads, interval: interval)
        let cold = ClassRate(pages: coldIndices.map { pages[$0] }, counts: coldIndices.map { counts[$0] }, reads: reads, interval: interval)
        guard hot.perPageRate >= hotColdRatio * max(cold.perPageRate, 1e-12) else { return model }
        // One rate also gives pages different counts (binomially); two classes need hot pages
        // that no cold page would match by chance: every hot count at least 4 standard
        // deviations above the cold pages' mean.
        let coldMean = Double(coldIndices.reduce(0) { $0 + counts[$1] }) / Double(coldIndices.count)
        let coldShare = coldMean / Double(reads)
        let coldDeviation = (Double(reads) * coldShare * (1 - coldShare)).squareRoot()
        let hotLowest = hotIndices.map { counts[$0] }.min() ?? 0
        guard Double(hotLowest) >= coldMean + 4 * coldDeviation + 1 else { return model }
        if cold.ratePagesPerSecond == 0 {
            // Pages of the block never seen written are not a class: the writes are uniform
            // over the pages that were (an idle guest's few pages of its own state, say).
            let hotPages = hot.pages.sorted()
            let first = hotPages.first ?? 0
            var uniform = model
            uniform.workingSetPages = hotPages.count
            uniform.ratePagesPerSecond = hot.ratePagesPerSecond
            uniform.rateSpreadPagesPerSecond = windowSpread(of: Set(hot.pages), trace: trace, interval: interval)
            if case .contiguous = placement, hotPages.last.map({ $0 - first + 1 }) == hotPages.count {
                uniform.placement = .contiguous(firstPage: first)
            } else {
                uniform.placement = .scattered
            }
            return uniform
        }
        model.kind = .hotCold
        model.hotPages = hot.pages.count
        model.ratePagesPerSecond = hot.ratePagesPerSecond
        model.coldRatePagesPerSecond = cold.ratePagesPerSecond
        model.rateSpreadPagesPerSecond = windowSpread(of: Set(hot.pages), trace: trace, interval: interval)
        if case .contiguous(let first) = placement, hot.pages.min() != first {
            // The simulator puts the hot set at the start of a contiguous block; one seen
            // elsewhere in the block is still modelled there (only its rate and size matter
            // to a fluid run; at page level its place in the pass may shift Xen 3's skips).
            model.placement = .contiguous(firstPage: first)
        }
        return model
    }

    /// Pages per second of a sweep over `block`, if the reads look like one: most reads dirty
    /// one run of pages (two where the sweep wraps), and the runs are not single pages. A read
    /// that found most of the block dirty says nothing either way (random writes fast enough
    /// to touch every page between reads also leave one run): it is not counted as a sweep's.
    private static func sweepRate(_ trace: DirtyTrace, in block: Range<Int>, interval: Double) -> (mean: Double, spread: Double)? {
        var runsLikeASweep = 0
        var nonEmpty = 0
        var perRead: [Double] = []
        for record in trace.records {
            let pages = record.pages.filter { block.contains($0) }.sorted()
            guard pages.count >= 4 else { continue }
            nonEmpty += 1
            var runs = 1
            for (previous, page) in zip(pages, pages.dropFirst()) where page != previous + 1 { runs += 1 }
            if runs <= 2, Double(pages.count) < 0.9 * Double(block.count) { runsLikeASweep += 1 }
            perRead.append(Double(pages.count) / interval)
        }
        guard nonEmpty >= minReads, Double(runsLikeASweep) >= 0.8 * Double(nonEmpty) else { return nil }
        let mean = perRead.reduce(0, +) / Double(perRead.count)
        let variance = perRead.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(perRead.count - 1, 1))
        return (mean, variance.squareRoot())
    }

    /// Otsu's threshold on the hit counts: the count that splits them into two groups with the
    /// largest variance between the groups. Nil when all pages have the same count.
    static func otsuThreshold(_ counts: [Int], reads: Int) -> Int? {
        guard let low = counts.min(), let high = counts.max(), high > low else { return nil }
        var histogram = [Int](repeating: 0, count: high - low + 1)
        for count in counts { histogram[count - low] += 1 }
        let total = Double(counts.count)
        let sum = counts.reduce(0.0) { $0 + Double($1) }
        var best: (threshold: Int, variance: Double)?
        var weightBelow = 0.0
        var sumBelow = 0.0
        for offset in 0 ..< histogram.count - 1 {
            weightBelow += Double(histogram[offset])
            sumBelow += Double(histogram[offset]) * Double(low + offset)
            let weightAbove = total - weightBelow
            guard weightBelow > 0, weightAbove > 0 else { continue }
            let meanBelow = sumBelow / weightBelow
            let meanAbove = (sum - sumBelow) / weightAbove
            let between = weightBelow * weightAbove * (meanBelow - meanAbove) * (meanBelow - meanAbove)
            if best == nil || between > best!.variance { best = (low + offset, between) }
        }
        return best?.threshold
    }

    /// The standard deviation of the rate over `pages` from one stretch of the observation to
    /// the next (up to 10 stretches of at least 4 reads each), less what sampling alone puts
    /// there: each stretch's estimate varies binomially even at a steady rate (by the delta
    /// method, n p / ((1 - p) Δ² R) for n pages dirty in a read with probability p, R reads), and
    /// only the rest is the guest's own variation. 0 when there are fewer than two stretches.
    private static func windowSpread(of pages: Set<Int>, trace: DirtyTrace, interval: Double) -> Double {
        let windows = min(10, trace.records.count / 4)
        guard windows >= 2, !pages.isEmpty else { return 0 }
        let perWindow = trace.records.count / windows
        var rates: [Double] = []
        for window in 0 ..< windows {
            let records = trace.records[window * perWindow ..< (window + 1) * perWindow]
            var counts: [Int: Int] = [:]
            for record in records { for page in record.pages where pages.contains(page) { counts[page, default: 0] += 1 } }
            let pageList = Array(pages)
            let rate = ClassRate(pages: pageList, counts: pageList.map { counts[$0] ?? 0 }, reads: records.count, interval: interval)
            rates.append(rate.ratePagesPerSecond)
        }
        let mean = rates.reduce(0, +) / Double(rates.count)
        let variance = rates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rates.count - 1)
        let n = Double(pages.count)
        let share = -expm1(-mean / n * interval)  // a page's chance to be dirty in one read
        let sampling = share < 1 ? n * share / ((1 - share) * interval * interval * Double(perWindow)) : 0
        return max(0, variance - sampling).squareRoot()
    }
}

/// A class of pages written at one rate: its page writes per second, from the share of reads
/// its pages were dirty in. A page written at λ per second is dirty in a read of interval Δ
/// with probability 1 - e^(-λΔ), so λ = -ln(1 - share) / Δ; a share of 1 (dirty in every read)
/// only bounds λ from below, and is taken as one read short of it.
struct ClassRate {
    let pages: [Int]
    let perPageRate: Double
    var ratePagesPerSecond: Double { perPageRate * Double(pages.count) }

    init(pages: [Int], counts: [Int], reads: Int, interval: Double) {
        self.pages = pages
        guard !pages.isEmpty, reads > 0, interval > 0 else {
            perPageRate = 0
            return
        }
        let share = Double(counts.reduce(0, +)) / (Double(pages.count) * Double(reads))
        let capped = min(share, Double(reads) / Double(reads + 1))
        perPageRate = -log1p(-capped) / interval
    }
}
