/// The exact, page-level `PageTracking`: Xen's `to_send` bitmap walked in page order, with the
/// `to_skip` test applied word by word.
///
/// With `collectsPageNumbers` false (the simulator) a batch carries no page list, only counts,
/// which keeps a 64 GiB guest's passes cheap; the executors set it to learn what to copy.
public struct BitmapPageTracker: PageTracking {
    public typealias DirtyLog = DirtyBitmap
    /// The pages of one batch, in ascending order; empty when page numbers are not collected.
    public typealias Batch = [Int]

    public let collectsPageNumbers: Bool
    private var pending: DirtyBitmap
    private var pendingCount: Int = 0
    private var cursorWord: Int = 0

    public init(pageCount: Int, collectsPageNumbers: Bool) {
        pending = DirtyBitmap(pageCount: pageCount)
        self.collectsPageNumbers = collectsPageNumbers
    }

    public var guestPageCount: Double { Double(pending.pageCount) }
    public var pendingPageCount: Double { Double(pendingCount) }
    /// The pending pages themselves (for tests and diagnostics).
    public var pendingPages: DirtyBitmap { pending }

    public mutating func beginFullPass() {
        pending.setAll()
        pendingCount = pending.pageCount
        cursorWord = 0
    }

    public mutating func mergeDirtyLog(_ log: DirtyBitmap) -> Double {
        let held = pending.formUnion(log)
        pendingCount = pending.count
        cursorWord = 0
        return Double(held)
    }

    public mutating func takeBatch(maxPages: Int, skippingPagesDirtyIn peek: DirtyBitmap?) -> TakenBatch<[Int]> {
        precondition(maxPages > 0, "a batch holds at least one page")
        var sent = 0
        var skipped = 0
        var pages: [Int] = []
        if collectsPageNumbers { pages.reserveCapacity(min(maxPages, pendingCount)) }
        let collect = collectsPageNumbers
        var cursor = cursorWord
        pending.withUnsafeMutableWords { toSend in
            while cursor < toSend.count, sent < maxPages {
                let word = toSend[cursor]
                if word == 0 { cursor += 1; continue }
                let dirtyNow = peek?.words[cursor] ?? 0
                var sendable = word & ~dirtyNow
                let room = maxPages - sent
                var processedMask: UInt64 = ~0
                if sendable.nonzeroBitCount > room {
                    // Cut the word after the room-th sendable page; the rest waits for the next batch.
                    var keep = sendable
                    for _ in 1 ..< room { keep &= keep - 1 }
                    let lastBit = UInt64(keep.trailingZeroBitCount)
                    processedMask = lastBit == 63 ? ~0 : (UInt64(1) << (lastBit + 1)) - 1
                    sendable &= processedMask
                }
                skipped += (word & dirtyNow & processedMask).nonzeroBitCount
                sent += sendable.nonzeroBitCount
                if collect {
                    var bits = sendable
                    while bits != 0 {
                        pages.append(cursor << 6 | bits.trailingZeroBitCount)
                        bits &= bits - 1
                    }
                }
                toSend[cursor] = word & ~processedMask
                if toSend[cursor] == 0 { cursor += 1 }
            }
        }
        cursorWord = cursor
        pendingCount -= sent + skipped
        return TakenBatch(batch: pages, pagesSent: Double(sent), pagesSkipped: Double(skipped))
    }

    public func pendingPagesBatch() -> [Int] {
        collectsPageNumbers ? pending.pageNumbers : []
    }

    public mutating func takeRequested(_ request: PageRequest, maxPages: Int) -> TakenBatch<[Int]> {
        var pages: [Int] = []
        for page in request.pages where pages.count < maxPages && page >= 0 && page < pending.pageCount && pending.contains(page) {
            pending.remove(page)
            pages.append(page)
        }
        pendingCount -= pages.count
        // The walk's cursor may be past a word a requested page was taken from: it stays valid,
        // since taking pages only clears bits.
        let sent = Double(pages.count)
        if !collectsPageNumbers { pages = [] }
        return TakenBatch(batch: pages, pagesSent: sent, pagesSkipped: 0)
    }

    public func pendingPages(among touched: DirtyBitmap) -> PageRequest {
        var pages: [Int] = []
        let mine = pending.words
        for (index, word) in touched.words.enumerated() where index < mine.count {
            var both = word & mine[index]
            while both != 0 {
                pages.append(index << 6 | both.trailingZeroBitCount)
                both &= both - 1
            }
        }
        return PageRequest(pages: pages)
    }
}
