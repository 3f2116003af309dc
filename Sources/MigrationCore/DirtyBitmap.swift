/// One bit per guest page, as Xen's shadow/log-dirty bitmaps and KVM's `KVM_GET_DIRTY_LOG`
/// deliver them: bit `p % 64` of word `p / 64` is page `p`.
public struct DirtyBitmap: Sendable, Equatable {
    public let pageCount: Int
    public private(set) var words: [UInt64]

    /// An empty bitmap for `pageCount` pages.
    public init(pageCount: Int) {
        precondition(pageCount >= 0, "a bitmap needs a non-negative page count")
        self.pageCount = pageCount
        words = [UInt64](repeating: 0, count: (pageCount + 63) / 64)
    }

    /// A bitmap with every page set.
    public static func full(pageCount: Int) -> DirtyBitmap {
        var bitmap = DirtyBitmap(pageCount: pageCount)
        bitmap.setAll()
        return bitmap
    }

    /// A bitmap over raw words (as a hypervisor returns them); bits past `pageCount` are dropped.
    public init(pageCount: Int, words: [UInt64]) {
        precondition(words.count == (pageCount + 63) / 64, "word count does not match page count")
        self.pageCount = pageCount
        self.words = words
        clearTail()
    }

    @inline(__always)
    public func contains(_ page: Int) -> Bool {
        words[page >> 6] & (1 << UInt64(page & 63)) != 0
    }

    @inline(__always)
    public mutating func insert(_ page: Int) {
        words[page >> 6] |= 1 << UInt64(page & 63)
    }

    @inline(__always)
    public mutating func remove(_ page: Int) {
        words[page >> 6] &= ~(1 << UInt64(page & 63))
    }

    /// Sets pages `range.lowerBound ..< range.upperBound`.
    public mutating func insert(range: Range<Int>) {
        var page = range.lowerBound
        while page < range.upperBound {
            let bit = page & 63
            let span = min(64 - bit, range.upperBound - page)
            let mask: UInt64 = span == 64 ? ~0 : ((1 << UInt64(span)) - 1) << UInt64(bit)
            words[page >> 6] |= mask
            page += span
        }
    }

    public mutating func setAll() {
        for index in words.indices { words[index] = ~0 }
        clearTail()
    }

    public mutating func removeAll() {
        for index in words.indices { words[index] = 0 }
    }

    /// The set pages, ascending.
    public var pageNumbers: [Int] {
        var pages: [Int] = []
        for (index, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                pages.append(index * 64 + bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        return pages
    }

    /// Number of pages set.
    public var count: Int {
        var total = 0
        for word in words { total &+= word.nonzeroBitCount }
        return total
    }

    /// Sets every page that is set in `other`; returns how many pages `other` held.
    @discardableResult
    public mutating func formUnion(_ other: DirtyBitmap) -> Int {
        precondition(other.pageCount == pageCount, "bitmaps of different guests")
        var held = 0
        words.withUnsafeMutableBufferPointer { mine in
            other.words.withUnsafeBufferPointer { theirs in
                for index in 0 ..< mine.count {
                    let word = theirs[index]
                    held &+= word.nonzeroBitCount
                    mine[index] |= word
                }
            }
        }
        return held
    }

    /// Direct access to the words for hot loops; `body` must not change the page count.
    public mutating func withUnsafeMutableWords<R>(_ body: (UnsafeMutableBufferPointer<UInt64>) throws -> R) rethrows -> R {
        try words.withUnsafeMutableBufferPointer { buffer in try body(buffer) }
    }

    private mutating func clearTail() {
        let tailBits = pageCount & 63
        if tailBits != 0 {
            words[words.count - 1] &= (1 << UInt64(tailBits)) - 1
        }
    }
}
