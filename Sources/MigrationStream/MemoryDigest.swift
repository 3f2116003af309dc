/// A 64-bit digest of guest memory: FNV-1a-style mixing of its 8-byte words in order, with a
/// shift that spreads each word's high bits. Fast (one multiply per word), so that `migrate
/// --verify-memory` adds little to the pause; it finds lost, stale or misplaced pages (each
/// word's position feeds the hash through the chain), not an attacker (TLS is for that).
/// The source's `GuestMemory` and the receiver compute it the same way, page by page.
public struct MemoryDigest: Sendable, Equatable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// Mixes in `bytes` (a whole number of 8-byte words: pages are).
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count % 8 == 0, "memory digests take whole 8-byte words")
        guard let base = bytes.baseAddress else { return }
        let words = UnsafeRawPointer(base)
        var hash = value
        for index in 0 ..< bytes.count / 8 {
            hash = (hash ^ words.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)) &* 0x0000_0100_0000_01b3
            hash ^= hash >> 29
        }
        value = hash
    }

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
