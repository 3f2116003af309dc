/// Shared helpers for the MigrationCore tests: bitmaps from page lists, policy stats
/// snapshots, and pulling the stop out of a policy decision.
import MigrationCore

/// A bitmap of `pageCount` pages with exactly `pages` set.
func bitmap<S: Sequence<Int>>(pageCount: Int, pages: S) -> DirtyBitmap {
    var result = DirtyBitmap(pageCount: pageCount)
    for page in pages { result.insert(page) }
    return result
}

/// Every page set in `bitmap`, ascending.
func pages(in bitmap: DirtyBitmap) -> [Int] {
    (0 ..< bitmap.pageCount).filter { bitmap.contains($0) }
}

/// A stats snapshot for 4 KiB pages, changed by `configure`.
func makeStats(guestPages: Double = 1_000, _ configure: (inout PrecopyStats) -> Void = { _ in }) -> PrecopyStats {
    var stats = PrecopyStats(guestPageCount: guestPages, pageSizeBytes: 4096)
    configure(&stats)
    return stats
}

/// The stop a decision carries, or nil for continue/abort.
func stopOf(_ decision: PrecopyDecision) -> PrecopyStop? {
    if case .stopAndCopy(let stop) = decision { return stop }
    return nil
}

/// The stop a batch checkpoint carries, or nil.
func stopOf(_ checkpoint: BatchCheckpoint) -> PrecopyStop? {
    if case .stopAndCopy(let stop) = checkpoint { return stop }
    return nil
}
