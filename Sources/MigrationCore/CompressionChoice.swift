/// Whether a migration compresses its page data (`--compress`, `migration.compression`).
public enum PageCompression: String, Sendable, CaseIterable {
    /// Never: pages go as they are.
    case off
    /// Every batch (`zstd`): the transport still sends one whole when it does not shrink.
    case always
    /// As the engine decides at each round, from what it measured (`CompressionChoice`).
    case auto
}

/// The engine's choice, round by round, of whether to compress (`PageCompression.auto`): from
/// the compression's measured CPU rate and ratio against the link's rate for whole pages (the
/// cap when there is one and it still paces the sends, the rate measured whole, or the slower
/// of the two). Compressing pays when a byte of data takes less time compressed than whole on
/// the link, with 10 % to spare: on one connection, which compresses a batch and then writes
/// it, 1 / rate + ratio / link < 0.9 / link; on several (the data streams, each compressing
/// while the others write), max(1 / (rate × threads), ratio / link) < 0.9 / link.
/// Before anything is measured it compresses (the first batch measures the compression), and
/// when it knows the compression but not the link it sends whole (which measures the link).
/// The measurements decay (each new one weighs a tenth), so a guest whose data changes is
/// followed; while it sends whole because the data did not shrink (not because the CPU is too
/// slow for the link, which a probe would only pay for again) it still compresses one batch in
/// 64, so data that did not shrink at first is tried again. A new cap forgets the link measured and decides at once.
/// QEMU leaves the choice to the operator (`multifd-compression`); this is livemig's own rule.
struct CompressionChoice: Sendable {
    let mode: PageCompression
    let threads: Int
    /// Measured so far, older batches weighing less: the data that went through the compressor,
    /// the frames it made (a batch that did not shrink counts as its data), and the seconds it took.
    private(set) var dataBytes = 0.0
    private(set) var frameBytes = 0.0
    private(set) var seconds = 0.0
    /// The wire rate of the last round that sent every batch whole.
    private(set) var wholeBytesPerSecond: Double?
    /// The choice for the sends handed out now.
    private(set) var compressing: Bool
    /// Whether the round under way has sent a batch compressed.
    private var roundCompressed = false
    /// The decision, before a probe (`compressing` is it, or true for a probe batch).
    private var decision: Bool
    /// Batches sent whole since the last one compressed, and every how many one is probed.
    private var wholeSendsSinceProbe = 0
    static let probeEvery = 64
    /// The weight each measurement keeps when a new one comes.
    static let decay = 0.9
    /// Pages sent whole since the choice went to whole pages to measure the link, and how many
    /// must go before the engine's meter stands for the link: 16 batches' worth (64 MiB at the
    /// default batch), several 100 ms windows on any link slow enough for compression to pay.
    private var wholePagesMeasuring = 0.0
    let pagesToMeasureLink: Double

    init(mode: PageCompression, threads: Int, pagesToMeasureLink: Double = 16 * 1024) {
        self.mode = mode
        self.threads = max(1, threads)
        self.pagesToMeasureLink = pagesToMeasureLink
        compressing = mode != .off
        decision = compressing
    }

    /// Whether no compression has been measured yet (the next compressed batch measures it).
    var needsMeasurement: Bool { mode == .auto && dataBytes == 0 }

    /// A send of `pages` is handed out with the current choice. While the choice sends whole to
    /// learn the link (the compression measured, the link not), once `pagesToMeasureLink` pages
    /// went whole the meter's rate (`measuredBytesPerSecond`) is taken for the link's and the
    /// choice made.
    /// Called as the send is handed out, before the driver reads `compressing` for it.
    mutating func noteSend(pages: Double, measuredBytesPerSecond: Double = 0, capBytesPerSecond: Double? = nil) {
        if mode == .auto, !decision, dataBytes > 0 {
            if wholeBytesPerSecond == nil, capBytesPerSecond == nil {
                // Counted before this send: the meter has seen the ones before it.
                if wholePagesMeasuring >= pagesToMeasureLink, measuredBytesPerSecond > 0 {
                    wholeBytesPerSecond = measuredBytesPerSecond
                    decide(capBytesPerSecond: nil)
                }
                wholePagesMeasuring += pages
            }
            if !decision, frameBytes >= 0.9 * dataBytes {
                wholeSendsSinceProbe += 1
                compressing = wholeSendsSinceProbe >= Self.probeEvery
                if compressing { wholeSendsSinceProbe = 0 }
            }
        }
        if compressing { roundCompressed = true }
    }

    /// The cap changed (`job --set bandwidth`): the link measured under the old one no longer
    /// holds; the choice is made again at once.
    mutating func capChanged(to capBytesPerSecond: Double?) {
        wholeBytesPerSecond = nil
        wholePagesMeasuring = 0
        decide(capBytesPerSecond: capBytesPerSecond)
    }

    /// A round begins; `measuredBytesPerSecond` is the wire rate the round that ended ran at.
    mutating func beginRound(measuredBytesPerSecond: Double, capBytesPerSecond: Double?) {
        if !roundCompressed, measuredBytesPerSecond > 0, dataBytes > 0 { wholeBytesPerSecond = measuredBytesPerSecond }
        roundCompressed = false
        decide(capBytesPerSecond: capBytesPerSecond)
    }

    /// A batch's compression measured; the first one of the migration decides again at once
    /// (the first round need not run compressed to its end to learn it does not pay).
    mutating func record(dataBytes data: Double, frameBytes frame: Double, seconds time: Double, capBytesPerSecond: Double?) {
        let first = dataBytes == 0
        dataBytes = dataBytes * Self.decay + data
        frameBytes = frameBytes * Self.decay + min(frame, data)
        seconds = seconds * Self.decay + time
        // The first measurement, or a probe while sending whole: decide again.
        if first || !decision { decide(capBytesPerSecond: capBytesPerSecond) }
    }

    /// The rule (see the type).
    private mutating func decide(capBytesPerSecond: Double?) {
        decision = rule(capBytesPerSecond: capBytesPerSecond)
        compressing = decision
    }

    private func rule(capBytesPerSecond: Double?) -> Bool {
        guard mode == .auto else { return mode == .always }
        guard dataBytes > 0 else { return true }
        // The slower of the cap and the link measured whole, when both are known.
        let known = [capBytesPerSecond, wholeBytesPerSecond].compactMap { $0 }.filter { $0 > 0 }
        guard let link = known.min() else { return false }
        let ratio = frameBytes / dataBytes
        // No time measured: the CPU is not the bound, the ratio alone decides.
        let cpuSecondsPerByte = seconds > 0 ? seconds / dataBytes / Double(threads) : 0
        // One connection compresses a batch and then writes it: the times add. Several overlap
        // one stream's compression with the others' writes: the slower one bounds.
        let compressed = threads == 1 ? cpuSecondsPerByte + ratio / link : max(cpuSecondsPerByte, ratio / link)
        return compressed < 0.9 / link
    }
}
