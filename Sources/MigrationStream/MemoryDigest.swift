/// A 64-bit digest of guest memory: FNV-1a-style mixing of its 8-byte words in order, with a
/// shift that spreads each word's high bits, in four interleaved lanes (word i goes to lane
/// i mod 4) so that the multiplies do not wait on each other, folded into one value at the end.
/// Fast (about four times one lane), so that `migrate --verify-memory` adds little to the
/// pause; it finds lost, stale or misplaced pages (each word's position feeds its lane's
/// chain), not an attacker (TLS is for that). The source's `GuestMemory` and the receiver
/// compute it the same way, page by page.
public struct MemoryDigest: Sendable, Equatable {
    /// Bytes `add` takes at a time: whole groups of four words (pages always are).
    public static let granuleBytes = 32
    private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3
    private var lanes: (UInt64, UInt64, UInt64, UInt64) = (offsetBasis, offsetBasis ^ 1, offsetBasis ^ 2, offsetBasis ^ 3)

    public init() {}

    @inline(__always)
    private static func mix(_ hash: UInt64, _ word: UInt64) -> UInt64 {
        let multiplied = (hash ^ word) &* prime
        return multiplied ^ (multiplied >> 29)
    }

    /// Mixes in `bytes`, a whole number of `granuleBytes`.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count % Self.granuleBytes == 0, "memory digests take whole 32-byte groups")
        guard let base = bytes.baseAddress else { return }
        var (a, b, c, d) = lanes
        var offset = 0
        while offset < bytes.count {
            a = Self.mix(a, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            b = Self.mix(b, base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            c = Self.mix(c, base.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
            d = Self.mix(d, base.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
            offset += Self.granuleBytes
        }
        lanes = (a, b, c, d)
    }

    /// The digest of everything added so far.
    public var value: UInt64 {
        Self.mix(Self.mix(Self.mix(lanes.0, lanes.1), lanes.2), lanes.3)
    }

    public static func == (lhs: MemoryDigest, rhs: MemoryDigest) -> Bool { lhs.value == rhs.value }

    /// The digest of `pageCount` pages of `pageSizeBytes`, each where `pageAddress` says.
    public static func of(pageCount: Int, pageSizeBytes: Int, pageAddress: (Int) -> UnsafeRawPointer) -> UInt64 {
        var digest = MemoryDigest()
        for page in 0 ..< pageCount { digest.add(UnsafeRawBufferPointer(start: pageAddress(page), count: pageSizeBytes)) }
        return digest.value
    }

    /// Printed in errors and logs: 16 hex digits.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
