/// FNV-1a, 64 bits (Fowler, Noll, Vo): a short, stable name for some bytes (a registration
/// file's name, a sweep's fingerprint). Not for integrity: `MemoryDigest` is for memory, TLS
/// for forgers.
public enum FNV1a {
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
    }
}
