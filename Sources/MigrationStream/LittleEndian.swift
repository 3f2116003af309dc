/// Little-endian integer writing and reading on byte arrays: the stream's only byte order.

extension Array where Element == UInt8 {
    /// Appends `value` in little-endian byte order.
    @inline(__always)
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// Overwrites the bytes at `index` with `value` in little-endian byte order; the caller
    /// guarantees they are there (a field written earlier as a placeholder).
    @inline(__always)
    mutating func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at index: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { bytes in
            for (offset, byte) in bytes.enumerated() { self[index + offset] = byte }
        }
    }

    /// Appends `count` zero bytes.
    @inline(__always)
    mutating func appendZeros(_ count: Int) {
        if count > 0 { append(contentsOf: repeatElement(0, count: count)) }
    }
}

extension Collection where Element == UInt8, Index == Int {
    /// The little-endian `UInt32` at `index`; the caller guarantees 4 bytes are there.
    @inline(__always)
    func readUInt32(at index: Int) -> UInt32 {
        UInt32(self[index]) | UInt32(self[index + 1]) << 8 | UInt32(self[index + 2]) << 16
            | UInt32(self[index + 3]) << 24
    }

    /// The little-endian `UInt64` at `index`; the caller guarantees 8 bytes are there.
    @inline(__always)
    func readUInt64(at index: Int) -> UInt64 {
        UInt64(readUInt32(at: index)) | UInt64(readUInt32(at: index + 4)) << 32
    }
}

/// Zero bytes that follow a body of `length` bytes so the next record starts 8-byte aligned.
@inline(__always)
func paddingBytes(forBodyLength length: Int) -> Int {
    (8 - length % 8) % 8
}
