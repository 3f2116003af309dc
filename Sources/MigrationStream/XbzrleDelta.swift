/// The delta of one guest page against its previous copy, the way QEMU's XBZRLE sends pages it
/// sent before (migration/xbzrle.c; Svärd et al., "Evaluation of delta compression techniques for
/// efficient live migration of large virtual machines", VEE 2011): runs of bytes left as they
/// were and runs of new bytes, so that a page where the guest changed a counter goes as a few
/// bytes. Written as pairs (unchanged length, changed length), each an unsigned LEB128 varint,
/// the changed run's new bytes after its pair; a trailing unchanged run is left out, so a page
/// that did not change at all is the empty delta. Not QEMU's byte format, only its idea.
///
/// The destination applies a delta to the copy it holds, which must be the copy the source
/// encoded against (the source keeps what it sent, `DeltaPageCache`, and sends only that).
public enum XbzrleDelta {
    /// Encodes `new` against `old` (`pageBytes` each) into `output`, at most `limit` bytes;
    /// returns the delta's length, or nil when it would not fit (the page then goes whole).
    public static func encode(old: UnsafeRawPointer, new: UnsafeRawPointer, pageBytes: Int,
                              into output: UnsafeMutableRawPointer, limit: Int) -> Int? {
        var index = 0
        var written = 0
        while index < pageBytes {
            let unchangedStart = index
            while index + 8 <= pageBytes,
                  old.loadUnaligned(fromByteOffset: index, as: UInt64.self) == new.loadUnaligned(fromByteOffset: index, as: UInt64.self) {
                index += 8
            }
            while index < pageBytes, old.load(fromByteOffset: index, as: UInt8.self) == new.load(fromByteOffset: index, as: UInt8.self) {
                index += 1
            }
            if index == pageBytes { break }
            let changedStart = index
            while index < pageBytes, old.load(fromByteOffset: index, as: UInt8.self) != new.load(fromByteOffset: index, as: UInt8.self) {
                index += 1
            }
            let unchanged = changedStart - unchangedStart
            let changed = index - changedStart
            guard written + varintBytes(unchanged) + varintBytes(changed) + changed <= limit else { return nil }
            written += writeVarint(unchanged, to: output + written)
            written += writeVarint(changed, to: output + written)
            (output + written).copyMemory(from: new + changedStart, byteCount: changed)
            written += changed
        }
        return written
    }

    /// Applies `delta` to `page` (`pageBytes`) in place; throws, naming `pageNumber`, when the
    /// delta does not fit the page (a run past its end, a changed run of no bytes, a varint too
    /// long), leaving the page partly written (the migration fails there).
    public static func apply(_ delta: UnsafeRawBufferPointer, to page: UnsafeMutableRawPointer, pageBytes: Int,
                             pageNumber: UInt64) throws(StreamError) {
        var read = 0
        var index = 0
        while read < delta.count {
            guard let unchanged = readVarint(delta, at: &read), let changed = readVarint(delta, at: &read) else {
                throw .invalidDelta(pageNumber: pageNumber, detail: "a run length that is not a varint below the page size")
            }
            guard changed > 0 else { throw .invalidDelta(pageNumber: pageNumber, detail: "a changed run of 0 bytes") }
            guard unchanged <= pageBytes - index, changed <= pageBytes - index - unchanged else {
                throw .invalidDelta(pageNumber: pageNumber, detail: "runs past the page's \(pageBytes) bytes")
            }
            guard changed <= delta.count - read else {
                throw .invalidDelta(pageNumber: pageNumber, detail: "a changed run of \(changed) bytes with \(delta.count - read) left")
            }
            index += unchanged
            (page + index).copyMemory(from: delta.baseAddress! + read, byteCount: changed)
            index += changed
            read += changed
        }
    }

    /// Bytes of `value` as an unsigned LEB128 varint.
    static func varintBytes(_ value: Int) -> Int {
        var bytes = 1
        var rest = value >> 7
        while rest > 0 {
            bytes += 1
            rest >>= 7
        }
        return bytes
    }

    private static func writeVarint(_ value: Int, to output: UnsafeMutableRawPointer) -> Int {
        var rest = value
        var written = 0
        repeat {
            let low = UInt8(truncatingIfNeeded: rest & 0x7F)
            rest >>= 7
            output.storeBytes(of: rest > 0 ? low | 0x80 : low, toByteOffset: written, as: UInt8.self)
            written += 1
        } while rest > 0
        return written
    }

    /// A varint of at most 4 bytes (28 bits: page sizes are at most 2 MiB); nil when longer or cut off.
    private static func readVarint(_ bytes: UnsafeRawBufferPointer, at offset: inout Int) -> Int? {
        var value = 0
        for shift in stride(from: 0, to: 28, by: 7) {
            guard offset < bytes.count else { return nil }
            let byte = bytes[offset]
            offset += 1
            value |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
        }
        return nil
    }
}
