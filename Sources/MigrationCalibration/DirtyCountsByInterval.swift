import DirtyTraceFormat

/// What a guest dirties over intervals of several lengths, from one trace read at a fine
/// interval: the pages dirtied over k consecutive reads are the union of those reads, so one
/// observation gives the dirty count at every multiple of its interval. A write model that
/// reproduces the counts at all of them has the working set and the rate right (one length
/// alone cannot tell a small working set written fast from a large one written slowly).
public struct DirtyCountsByInterval: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        /// The interval's length.
        public var seconds: Double
        /// Distinct pages dirtied in one interval of that length, averaged over the trace.
        public var meanDirtyPages: Double
        /// How many intervals the mean is over.
        public var samples: Int
    }

    public var points: [Point]

    /// Unions of 1, 2, 4, ... consecutive reads, while at least `minSamples` whole unions fit in
    /// the trace. The reads must be evenly spaced (as `observe` takes them); the length of a
    /// union is k times the mean spacing.
    public init(trace: DirtyTrace, minSamples: Int = 4) {
        let records = trace.records
        guard let last = records.last, last.timeSeconds > 0, records.count >= minSamples else {
            points = []
            return
        }
        let spacing = last.timeSeconds / Double(records.count)
        var points: [Point] = []
        var span = 1
        // The union each page was last counted in: a page counts once per union without
        // clearing anything between unions (clearing a 64 GiB guest's bitmap for each of
        // 360,000 unions would be 10^11 word writes).
        var lastUnion = [UInt32](repeating: 0, count: trace.pageCount)
        var union: UInt32 = 0
        while records.count / span >= minSamples {
            var total = 0
            let unions = records.count / span
            for index in 0 ..< unions {
                union &+= 1
                for record in records[index * span ..< (index + 1) * span] {
                    for page in record.pages where page >= 0 && page < trace.pageCount && lastUnion[page] != union {
                        lastUnion[page] = union
                        total += 1
                    }
                }
            }
            points.append(Point(seconds: spacing * Double(span), meanDirtyPages: Double(total) / Double(unions), samples: unions))
            span *= 2
        }
        self.points = points
    }
}
