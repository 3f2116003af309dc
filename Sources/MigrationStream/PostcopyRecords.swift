/// The body of `postcopyStart` (type 12, stream version 6): the pages the destination does not
/// hold yet, as a bitmap over the guest's pages (bit `p % 64` of word `p / 64` for page `p`),
/// with their count. The stream carries no `DirtyBitmap` type (this target has no dependencies),
/// so the words travel as they are; the count is checked against them.
public struct PostcopyMissing: Sendable, Equatable {
    /// How many bits are set.
    public let count: UInt64
    /// ⌈guest pages / 64⌉ words; bits at or past the guest's page count are 0.
    public let words: [UInt64]

    public init(count: UInt64, words: [UInt64]) {
        self.count = count
        self.words = words
    }

    /// Words a bitmap of `guestPages` pages needs.
    public static func wordCount(guestPages: UInt64) -> Int { Int((guestPages + 63) / 64) }

    /// Body length for a guest of `guestPages` pages: the count and the words.
    public static func bodyBytes(guestPages: UInt64) -> Int { 8 + 8 * wordCount(guestPages: guestPages) }

    /// Throws unless the words fit a guest of `guestPages` pages and hold exactly `count` bits.
    public func validate(guestPages: UInt64) throws(StreamError) {
        let expected = Self.wordCount(guestPages: guestPages)
        guard words.count == expected else {
            throw .recordLengthMismatch(.postcopyStart, length: 8 + 8 * words.count, expected: Self.bodyBytes(guestPages: guestPages))
        }
        let spare = UInt64(expected) * 64 - guestPages
        if spare > 0, let last = words.last, last >> (64 - spare) != 0 {
            throw .postcopyBitmapBeyondGuest(guestPages: guestPages)
        }
        let set = words.reduce(UInt64(0)) { $0 + UInt64($1.nonzeroBitCount) }
        guard set == count else { throw .postcopyCountMismatch(count: count, bitsSet: set) }
    }
}

/// The body of `postcopyComplete` (type 32, stream version 6), destination to source, after the
/// source's `endOfStream` in post-copy: every missing page is placed, and how the running guest
/// fared while they came. `pageWiseDigest` (`PageWiseDigest`) is there when the source sent a
/// memory digest (`migrate --verify-memory`): of the pages as they arrived, not as the guest has
/// since written them, so the source compares it with its own paused copy.
public struct PostcopyCompletion: Sendable, Equatable {
    /// Distinct missing pages the guest touched before they were placed.
    public let faults: UInt64
    /// Sum and largest of those faults' waits, from the fault being read to its page placed.
    public let latencySumMicroseconds: UInt64
    public let latencyMaxMicroseconds: UInt64
    public let pageWiseDigest: UInt64?

    public init(faults: UInt64, latencySumMicroseconds: UInt64, latencyMaxMicroseconds: UInt64, pageWiseDigest: UInt64?) {
        self.faults = faults
        self.latencySumMicroseconds = latencySumMicroseconds
        self.latencyMaxMicroseconds = latencyMaxMicroseconds
        self.pageWiseDigest = pageWiseDigest
    }

    /// Body bytes: faults, latency sum, latency max, flags, reserved, digest.
    public static let bodyBytes = 40
    /// Flags bit 0: the digest field holds a digest.
    static let digestPresentFlag: UInt32 = 1

    func append(into buffer: inout [UInt8]) {
        buffer.appendLittleEndian(faults)
        buffer.appendLittleEndian(latencySumMicroseconds)
        buffer.appendLittleEndian(latencyMaxMicroseconds)
        buffer.appendLittleEndian(pageWiseDigest == nil ? UInt32(0) : Self.digestPresentFlag)
        buffer.appendLittleEndian(UInt32(0))
        buffer.appendLittleEndian(pageWiseDigest ?? 0)
    }

    static func decode(_ body: ArraySlice<UInt8>) throws(StreamError) -> PostcopyCompletion {
        guard body.count == bodyBytes else { throw .recordLengthMismatch(.postcopyComplete, length: body.count, expected: bodyBytes) }
        let start = body.startIndex
        let flags = body.readUInt32(at: start + 24)
        guard flags & ~digestPresentFlag == 0 else { throw .nonZeroReserved(.postcopyComplete, field: "flags") }
        guard body.readUInt32(at: start + 28) == 0 else { throw .nonZeroReserved(.postcopyComplete, field: "reserved") }
        let digest = body.readUInt64(at: start + 32)
        guard flags != 0 || digest == 0 else { throw .nonZeroReserved(.postcopyComplete, field: "digest") }
        return PostcopyCompletion(faults: body.readUInt64(at: start), latencySumMicroseconds: body.readUInt64(at: start + 8),
                                  latencyMaxMicroseconds: body.readUInt64(at: start + 16), pageWiseDigest: flags != 0 ? digest : nil)
    }
}

/// A digest of guest memory that can be built page by page in any order (post-copy places pages
/// as they are asked for): each page's `MemoryDigest`, mixed with its number, summed. Finds lost,
/// stale or misplaced pages as `MemoryDigest` does; like it, not a defence against an attacker.
public struct PageWiseDigest: Sendable, Equatable {
    public private(set) var value: UInt64 = 0

    public init() {}

    /// Adds page `page`, whose `bytes` are one page (a whole number of 32-byte groups).
    public mutating func add(page: Int, bytes: UnsafeRawBufferPointer) {
        var digest = MemoryDigest()
        digest.add(bytes)
        // SplitMix64's finaliser spreads the page number and the page's digest over all bits,
        // so two pages swapped do not cancel in the sum.
        var mixed = digest.value ^ (UInt64(truncatingIfNeeded: page) &* 0x9e37_79b9_7f4a_7c15)
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        value &+= mixed ^ (mixed >> 31)
    }

    /// The digest of `pageCount` pages of `pageSizeBytes`, each where `pageAddress` says.
    public static func of(pageCount: Int, pageSizeBytes: Int, pageAddress: (Int) -> UnsafeRawPointer) -> UInt64 {
        var digest = PageWiseDigest()
        for page in 0 ..< pageCount { digest.add(page: page, bytes: UnsafeRawBufferPointer(start: pageAddress(page), count: pageSizeBytes)) }
        return digest.value
    }
}
