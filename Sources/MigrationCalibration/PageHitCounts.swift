import DirtyTraceFormat

/// In how many reads of a trace each page was dirty, over the span from the lowest dirty page
/// to the highest (one counter per page of the span, so the span is bounded).
struct PageHitCounts {
    /// The first page of the span.
    let firstPage: Int
    private let counts: [UInt32]
    /// Pages dirty in at least one read.
    let distinctPages: Int
    /// Page writes seen: the sum over reads of the pages each read found dirty.
    let totalPageWrites: Int

    init(trace: DirtyTrace, maxSpanPages: Int) throws(CalibrationError) {
        var low = Int.max
        var high = Int.min
        var writes = 0
        for record in trace.records {
            for page in record.pages {
                guard page >= 0, page < trace.pageCount else {
                    throw CalibrationError("the trace names page \(page), outside its \(trace.pageCount) pages")
                }
                low = min(low, page)
                high = max(high, page)
                writes += 1
            }
        }
        totalPageWrites = writes
        guard writes > 0 else {
            firstPage = 0
            counts = []
            distinctPages = 0
            return
        }
        let span = high - low + 1
        guard span <= maxSpanPages else {
            throw CalibrationError("the dirty pages span \(span) pages; a fit counts at most \(maxSpanPages)")
        }
        var counts = [UInt32](repeating: 0, count: span)
        for record in trace.records {
            // A read lists a page once (the trace format's rule); a repeat is counted once.
            var previous = -1
            for page in record.pages.sorted() where page != previous {
                counts[page - low] &+= 1
                previous = page
            }
        }
        firstPage = low
        self.counts = counts
        distinctPages = counts.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
    }

    /// Reads in which `page` was dirty (0 outside the span).
    func count(of page: Int) -> Int {
        let index = page - firstPage
        return counts.indices.contains(index) ? Int(counts[index]) : 0
    }

    /// Pages of `range` dirty in at least one read.
    func distinctPages(in range: Range<Int>) -> Int {
        let low = max(range.lowerBound - firstPage, 0)
        let high = min(range.upperBound - firstPage, counts.count)
        guard low < high else { return 0 }
        return counts[low ..< high].reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
    }

    /// The pages dirty in at least one read, in order.
    var dirtyPages: [Int] {
        counts.indices.filter { counts[$0] > 0 }.map { $0 + firstPage }
    }

    /// The blocks the dirty pages form, gaps of up to `maxGap` clean pages taken as inside a
    /// block, each with the page writes seen in it.
    func blocks(mergingGapsUpTo maxGap: Int) -> [WriteModelFit.Block] {
        var blocks: [WriteModelFit.Block] = []
        var start: Int?
        var end = 0
        var hits = 0
        for index in counts.indices where counts[index] > 0 {
            if let blockStart = start, index - end > maxGap {
                blocks.append(WriteModelFit.Block(pages: blockStart + firstPage ..< end + firstPage, hits: hits))
                start = nil
            }
            if start == nil {
                start = index
                hits = 0
            }
            end = index + 1
            hits += Int(counts[index])
        }
        if let blockStart = start { blocks.append(WriteModelFit.Block(pages: blockStart + firstPage ..< end + firstPage, hits: hits)) }
        return blocks
    }
}
