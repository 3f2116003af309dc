/// How the engine shapes a migration, whatever drives it.
public struct EngineSettings: Sendable, Equatable {
    /// Bytes in one guest page.
    public var pageSizeBytes: Int
    /// Pages in one batch (Xen's `MAX_BATCH_SIZE`, 1024 pages = 4 MiB).
    public var maxBatchPages: Int
    /// Bytes of stream header per page (the page frame number in a libxc `PAGE_DATA` record).
    public var pageHeaderBytes: Int
    /// Bytes of stream header per batch (record type, length, count).
    public var batchHeaderBytes: Int
    /// Bandwidth cap, bytes per second (`xl migrate` has none; QEMU's `max-bandwidth`,
    /// `virsh migrate-setspeed`); `nil` for no cap.
    public var rateLimitBytesPerSecond: Double?
    /// False for an offline migration: pause first, copy everything once, resume there.
    public var live: Bool
    /// Whether the cap also paces a live migration's paused round (and the rest of the stream
    /// after the pause). By default it does not: the cap protects the network while the guest
    /// runs; once it is paused, every millisecond is its downtime. QEMU does the same: its
    /// `migration_completion` stops the guest and sets the stream's rate limit to INT64_MAX
    /// (migration/migration.c) before the last copy. An offline migration stays capped
    /// throughout: it is nothing but a paused round; so does a live one stopped before its
    /// first round.
    public var capsPausedRound = false
    /// What a pause costs besides its pages and its dirty-log read: device state, the
    /// destination's load, the ready / cleared handshake and the unpause there. Policies that
    /// budget the pause (qemu, timeout) take it off their downtime limit. The default is what
    /// a KVM guest's pause took here over loopback with the destination's VM built early
    /// (device state 0.1 ms, ready 0.2-2.6 ms, cleared to running 0.1-2.5 ms); a KVM guest's
    /// daemon sets it from the history of migrations to the same destination once it holds
    /// enough (`MeasuredPauseOverhead`); the simulator sets it from the scenario's costs.
    public var pauseOverheadSeconds = 0.002
    /// How many actions the engine hands out before one of them has completed. Only sends of
    /// the same live or paused round overlap (with one peek, throttle or wait for the cap beside
    /// them); every other step waits until all are in. 1, the default, is the serial protocol
    /// every driver spoke before parallel streams: one action, its completion, the next.
    public var maxActionsInFlight = 1
    /// Whether page data is compressed: never (the default), always, or as the engine decides at
    /// each round (`CompressionChoice`); and how many threads compress at once (the data streams).
    public var compression: PageCompression = .off
    public var compressionThreads = 1
    /// Whether and when a pre-copy that does not converge hands over to post-copy (`Postcopy.swift`):
    /// never (the default, Xen's way), instead of an offline fallback, or after N live rounds.
    public var postcopy: PostcopySwitch = .never
    /// Pages in one batch of post-copy's background push (at most `maxBatchPages`). A requested
    /// page goes after the batch being written, so a small batch keeps the guest's wait on a
    /// fault short: with 1024-page batches the mean wait here over loopback was 5-8 ms; with
    /// 64 (256 KiB) and the executor's flow-control window it is 0.5-1 ms, at the same total
    /// time. QEMU pushes post-copy's background pages one host page at a time, with the same aim.
    public var postcopyBatchPages = 64
    /// The most bytes post-copy's push keeps ahead of the destination's placing (a real
    /// executor's flow control: a drain mark after each batch, answered once placed; on a long
    /// path it allows more, 4 × round trip × 10 Gbit/s). A requested page waits behind them, so
    /// the simulator's fault model counts them in a fault's wait. 512 KiB, two 64-page batches:
    /// one being placed while the next comes (1 MiB made no fault wait less here; 256 KiB made
    /// post-copy 20-50 % longer over loopback).
    public var postcopyWindowBytes = 512 * 1024
    /// With a hand-over after N live rounds (`PostcopySwitch.afterLiveRounds`): live round N
    /// passes over pages already dirty again, as Xen 3's rule does (a peek of the dirty log
    /// before each batch). Such a page is in the dirty log read after the round, so it goes
    /// after the hand-over anyway; sent in round N, it is a second trip over the link and a stale
    /// copy the destination throws away during the hand-over. A guest rewriting 256 MiB of 1 GiB
    /// over 1 Gbit/s: 1117-1122 MiB sent instead of 1281, 7.5 s instead of 9.0. Only round N
    /// peeks: in earlier rounds the policies (QEMU's auto-converge, the offline-fallback guard)
    /// would see pages passed over as progress not made, and slow the guest or give up sooner.
    public var postcopySkipsPagesDirtiedAgain = true
    /// The least window of pages' bytes a compressing stream (zstd or XBZRLE deltas) keeps sent
    /// ahead of the destination's writing them into the guest (the executor's flow control, as
    /// for post-copy; per stream; on a long path 4 × round trip × 10 Gbit/s, up to 64 MiB). The
    /// socket's own flow control counts the frames' few bytes, not the destination's work: with
    /// memory that compresses 300-fold its buffers held seconds of decompressing here, which the
    /// source took for sent, and which fell into the pause. 8 MiB: two 1024-page batches, one
    /// being written while the next comes.
    public var compressedWindowBytes = 8 << 20

    public static let maxBatchPagesLimit = 1 << 20
    /// The most actions a driver may keep out at once (one per stream, a side step beside them).
    public static let maxActionsInFlightLimit = 64

    public init(pageSizeBytes: Int = 4096, maxBatchPages: Int = 1024, pageHeaderBytes: Int = 8,
                batchHeaderBytes: Int = 16, rateLimitBytesPerSecond: Double? = nil, live: Bool = true) {
        precondition(pageSizeBytes > 0 && maxBatchPages > 0 && maxBatchPages <= Self.maxBatchPagesLimit,
                     "engine settings out of range")
        self.pageSizeBytes = pageSizeBytes
        self.maxBatchPages = maxBatchPages
        self.pageHeaderBytes = pageHeaderBytes
        self.batchHeaderBytes = batchHeaderBytes
        self.rateLimitBytesPerSecond = rateLimitBytesPerSecond
        self.live = live
    }

    /// Bytes on the wire for `pages` pages: one batch header per `maxBatchPages` pages (the
    /// fluid simulator hands over many batches' worth at once).
    public func wireBytes(pages: Double) -> Double {
        guard pages > 0 else { return 0 }
        let batches = max(1, (pages / Double(maxBatchPages)).rounded(.up))
        return pages * Double(pageSizeBytes + pageHeaderBytes) + batches * Double(batchHeaderBytes)
    }
}
