import MigrationCore
import MigrationStream

/// The destination's side of `compressedPages`: decompresses a batch's frame straight into the
/// guest when its pages are one run of guest memory, else into a buffer that grows to the
/// largest such batch and from there into each page. The frame must say exactly the batch's size and may
/// write no more (`ZstdDecompressor`).
final class PageDecompression {
    private let decompressor: ZstdDecompressor
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0

    init() throws(HostFailure) {
        decompressor = try ZstdDecompressor()
    }

    deinit { scratch?.deallocate() }

    func write(_ pages: CompressedPages, into guest: any IncomingGuest, pageSizeBytes: Int) throws(HostFailure) {
        let targets = ReceiveSession.pageTargets(of: pages.pageNumbers, pageSizeBytes: pageSizeBytes, in: guest)
        if targets.count == 1 {
            try decompressor.decompress(pages.frame, into: targets[0])
            return
        }
        let bytes = pages.pageNumbers.count * pageSizeBytes
        guard bytes <= StreamLimits.maxBatchDataBytes else { throw HostFailure("a compressedPages batch of \(bytes) bytes, over a batch's") }
        if bytes > scratchBytes {
            scratch?.deallocate()
            scratch = .allocate(byteCount: bytes, alignment: 4096)
            scratchBytes = bytes
        }
        guard let buffer = scratch else { throw HostFailure("no buffer to decompress into") }
        try decompressor.decompress(pages.frame, into: UnsafeMutableRawBufferPointer(start: buffer, count: bytes))
        var offset = 0
        for target in targets {
            target.baseAddress!.copyMemory(from: buffer + offset, byteCount: target.count)
            offset += target.count
        }
    }
}
