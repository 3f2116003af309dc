import MigrationCore
import MigrationStream

/// The destination's side of `compressedPages`: decompresses a batch's frame straight into the
/// guest when its pages are one run of guest memory, else into a buffer as large as the largest
/// batch and from there into each page. The frame must say exactly the batch's size and may
/// write no more (`ZstdDecompressor`).
final class PageDecompression {
    private let decompressor: ZstdDecompressor
    private var scratch: UnsafeMutableRawPointer?

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
        let buffer = scratch ?? UnsafeMutableRawPointer.allocate(byteCount: StreamLimits.maxBatchDataBytes, alignment: 4096)
        scratch = buffer
        guard bytes <= StreamLimits.maxBatchDataBytes else { throw HostFailure("a compressedPages batch of \(bytes) bytes, over a batch's") }
        try decompressor.decompress(pages.frame, into: UnsafeMutableRawBufferPointer(start: buffer, count: bytes))
        var offset = 0
        for target in targets {
            target.baseAddress!.copyMemory(from: buffer + offset, byteCount: target.count)
            offset += target.count
        }
    }
}
