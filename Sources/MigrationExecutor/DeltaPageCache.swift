import MigrationStream

/// The source's copies of the pages it sent, for XBZRLE deltas (`migrate --compress xbzrle`;
/// QEMU's XBZRLE cache, migration/xbzrle.c and page_cache.c, 64 MiB by default as its
/// `xbzrle-cache-size`): direct-mapped, slot = page mod slots. A page sent again whose copy is
/// still in its slot goes as its delta against that copy when the delta is at most half a page.
///
/// With deltas on, every data page is sent from a copy taken once (in its slot, or a scratch
/// copy), never from live guest memory: what goes on the wire must be exactly what is kept, or
/// the next delta would be applied to a copy the destination does not hold (QEMU sends from its
/// cache for the same reason).
final class DeltaPageCache {
    let pageSizeBytes: Int
    let slots: Int
    private let copies: UnsafeMutableRawPointer
    /// The page whose copy each slot holds (-1: none).
    private var tags: [Int]
    /// The batch that last took each slot (`batchNumber`): a later page of the same batch in
    /// that slot goes from a scratch copy. A number per batch, not a set per batch to clear.
    private var slotBatch: [Int]
    private var batchNumber = 0
    /// One page: the live page, copied once before it is compared.
    private let current: UnsafeMutableRawPointer
    /// The last batch's deltas: their pages (ascending) and the frame (a UInt32 length and the
    /// delta, per page); its whole pages, each with the copy to send from.
    private(set) var deltaPages: [Int] = []
    private(set) var frame: UnsafeMutableRawPointer
    private(set) var frameBytes = 0
    private(set) var wholePages: [(page: Int, copy: UnsafeRawPointer)] = []
    private var frameCapacityBytes = 0
    /// Copies of a batch's pages whose slot an earlier page of the same batch took (sent from
    /// here, not kept).
    private var scratch: UnsafeMutableRawPointer
    private var scratchCapacityPages = 0

    init(bytes: Int, pageSizeBytes: Int) {
        self.pageSizeBytes = pageSizeBytes
        slots = max(1, bytes / pageSizeBytes)
        copies = .allocate(byteCount: slots * pageSizeBytes, alignment: 4096)
        tags = [Int](repeating: -1, count: slots)
        slotBatch = [Int](repeating: 0, count: slots)
        current = .allocate(byteCount: pageSizeBytes, alignment: 4096)
        frame = .allocate(byteCount: 0, alignment: 8)
        scratch = .allocate(byteCount: 0, alignment: 4096)
    }

    deinit {
        copies.deallocate()
        current.deallocate()
        frame.deallocate()
        scratch.deallocate()
    }

    private func slotCopy(_ slot: Int) -> UnsafeMutableRawPointer { copies + slot * pageSizeBytes }

    /// Pages of the last batch whose copy was kept, so that it went as a delta or tried to.
    private(set) var candidates = 0

    /// Splits a batch's data pages (ascending) into deltas and whole pages, and keeps each page's
    /// copy as sent. With `encode` false (the engine's choice for the round: deltas would cost
    /// more than they save) every page goes whole, still from its copy, so the copies stay the
    /// destination's.
    func prepare(_ pages: [Int], encode: Bool = true, pageAddress: (Int) -> UnsafeRawPointer) {
        candidates = 0
        deltaPages.removeAll(keepingCapacity: true)
        wholePages.removeAll(keepingCapacity: true)
        frameBytes = 0
        let deltaLimit = pageSizeBytes / 2
        let frameNeeded = pages.count * (4 + deltaLimit)
        if frameNeeded > frameCapacityBytes {
            frame.deallocate()
            frame = .allocate(byteCount: frameNeeded, alignment: 8)
            frameCapacityBytes = frameNeeded
        }
        if pages.count > scratchCapacityPages {
            scratch.deallocate()
            scratch = .allocate(byteCount: pages.count * pageSizeBytes, alignment: 4096)
            scratchCapacityPages = pages.count
        }
        batchNumber += 1
        var scratchUsed = 0
        for page in pages {
            let slot = page % slots
            guard slotBatch[slot] != batchNumber else {
                let copy = scratch + scratchUsed * pageSizeBytes
                copy.copyMemory(from: pageAddress(page), byteCount: pageSizeBytes)
                scratchUsed += 1
                wholePages.append((page, UnsafeRawPointer(copy)))
                continue
            }
            slotBatch[slot] = batchNumber
            let kept = slotCopy(slot)
            if encode, tags[slot] == page {
                candidates += 1
                current.copyMemory(from: pageAddress(page), byteCount: pageSizeBytes)
                if let length = XbzrleDelta.encode(old: kept, new: current, pageBytes: pageSizeBytes, into: frame + frameBytes + 4,
                                                   limit: deltaLimit) {
                    (frame + frameBytes).storeBytes(of: UInt32(length).littleEndian, as: UInt32.self)
                    frameBytes += 4 + length
                    deltaPages.append(page)
                    kept.copyMemory(from: current, byteCount: pageSizeBytes)
                    continue
                }
                kept.copyMemory(from: current, byteCount: pageSizeBytes)
            } else {
                kept.copyMemory(from: pageAddress(page), byteCount: pageSizeBytes)
                tags[slot] = page
            }
            wholePages.append((page, UnsafeRawPointer(kept)))
        }
    }

    /// Pages sent as zero-page markers: a copy kept of an older content is no longer theirs.
    func forget(_ pages: [Int]) {
        for page in pages where tags[page % slots] == page { tags[page % slots] = -1 }
    }
}
