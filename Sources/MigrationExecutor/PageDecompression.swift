import MigrationCore
import MigrationStream

/// The destination's side of `compressedPages`: decompresses a batch's frame straight into the
/// guest when its pages are one run of guest memory, else into a buffer that grows to the
/// largest such batch and from there into each page. The frame must say exactly the batch's size and may
/// write no more (`ZstdDecompressor`). XBZRLE deltas (`applyDeltas`) are applied to each page in place.
final class PageDecompression {
    private let decompressor: ZstdDecompressor
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0

    init() throws(HostFailure) {
        decompressor = try ZstdDecompressor()
    }

    deinit { scratch?.deallocate() }

    func write(_ pages: CompressedPages, into guest: any IncomingGuest, pageSizeBytes: Int) throws(HostFailure) {
        if pages.algorithm == .xbzrle { return try Self.applyDeltas(pages, into: guest, pageSizeBytes: pageSizeBytes) }
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

    /// An `xbzrle` frame: per page, in order, a UInt32 length (at most a page) and the delta,
    /// applied to the page here; the deltas must fill the frame exactly.
    static func applyDeltas(_ pages: CompressedPages, into guest: any IncomingGuest, pageSizeBytes: Int) throws(HostFailure) {
        var failure: HostFailure?
        pages.frame.withUnsafeBytes { frame in
            var offset = 0
            for page in pages.pageNumbers {
                guard frame.count - offset >= 4 else {
                    failure = HostFailure("the XBZRLE frame ends before page \(page)'s delta")
                    return
                }
                let length = Int(frame.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
                offset += 4
                guard length <= pageSizeBytes, length <= frame.count - offset else {
                    failure = HostFailure("page \(page)'s XBZRLE delta of \(length) bytes does not fit (a page is \(pageSizeBytes), \(frame.count - offset) left)")
                    return
                }
                do {
                    try XbzrleDelta.apply(UnsafeRawBufferPointer(rebasing: frame[offset ..< offset + length]), to: guest.pageAddress(Int(page)),
                                          pageBytes: pageSizeBytes, pageNumber: page)
                } catch {
                    failure = HostFailure((error as? StreamError)?.description ?? "\(error)")
                    return
                }
                offset += length
            }
            if offset != frame.count { failure = HostFailure("the XBZRLE frame has \(frame.count - offset) bytes after its last delta") }
        }
        if let failure { throw failure }
    }
}
