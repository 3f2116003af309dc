import Glibc
import MigrationCore
import MigrationStream

/// The source's zstd compression of page batches: the batch's pages are gathered into one
/// buffer (guest pages are not contiguous) and compressed into a frame, which is kept only if it
/// is at least a sixteenth smaller than the data (else the batch goes as it is: random data
/// costs one attempt, not more bytes). Both buffers grow to the largest batch seen (4 MiB for
/// the engine's default 1,024 pages), once per stream.
final class BatchCompression {
    private let compressor: ZstdCompressor
    private let pageSizeBytes: Int
    private var capacityBytes = 0
    private var data = UnsafeMutableRawPointer.allocate(byteCount: 0, alignment: 4096)
    /// The last frame compressed, valid until the next `compress`.
    private(set) var frame = UnsafeMutableRawPointer.allocate(byteCount: 0, alignment: 4096)

    init(pageSizeBytes: Int) throws(HostFailure) {
        compressor = try ZstdCompressor()
        self.pageSizeBytes = pageSizeBytes
    }

    deinit {
        data.deallocate()
        frame.deallocate()
    }

    /// Compresses the pages' data; the frame's size (in `frame`), or nil when the batch should
    /// go uncompressed.
    func compress(_ pages: [Int], pageAddress: (Int) -> UnsafeRawPointer) throws(HostFailure) -> Int? {
        let bytes = pages.count * pageSizeBytes
        guard bytes <= StreamLimits.maxBatchDataBytes else { return nil }
        if bytes > capacityBytes {
            data.deallocate()
            frame.deallocate()
            data = .allocate(byteCount: bytes, alignment: 4096)
            frame = .allocate(byteCount: bytes, alignment: 4096)
            capacityBytes = bytes
        }
        for (index, page) in pages.enumerated() {
            (data + index * pageSizeBytes).copyMemory(from: pageAddress(page), byteCount: pageSizeBytes)
        }
        return try compressor.compress(UnsafeRawBufferPointer(start: data, count: bytes),
                                       into: UnsafeMutableRawBufferPointer(start: frame, count: bytes - bytes / 16))
    }
}

/// What a channel sent besides whole pages: zero-page markers, and compressed data with the
/// frames it became. Summed over the data streams of a parallel migration.
public struct PageSendCounts: Sendable {
    public var zeroPagesSent = 0
    /// Pages sent as XBZRLE deltas (their data and deltas also count in the compressed bytes).
    public var deltaPagesSent = 0
    public var compressedDataBytes = 0
    public var compressedFrameBytes = 0

    /// Page data over frame bytes of the batches compressed; nil when none was.
    public var compressionRatio: Double? {
        compressedFrameBytes > 0 ? Double(compressedDataBytes) / Double(compressedFrameBytes) : nil
    }

    static func + (lhs: PageSendCounts, rhs: PageSendCounts) -> PageSendCounts {
        PageSendCounts(zeroPagesSent: lhs.zeroPagesSent + rhs.zeroPagesSent, deltaPagesSent: lhs.deltaPagesSent + rhs.deltaPagesSent,
                       compressedDataBytes: lhs.compressedDataBytes + rhs.compressedDataBytes,
                       compressedFrameBytes: lhs.compressedFrameBytes + rhs.compressedFrameBytes)
    }
}

/// One batch's compression, for the engine's choice (`SourceEvent.compressionMeasured`).
public struct CompressionSample: Sendable {
    public var dataBytes: Int
    /// The frame's bytes, or the data's when it did not shrink enough to be sent so.
    public var frameBytes: Int
    public var seconds: Double

    /// The engine's event for it.
    public var event: SourceEvent {
        .compressionMeasured(dataBytes: Double(dataBytes), frameBytes: Double(frameBytes), seconds: seconds)
    }
}
