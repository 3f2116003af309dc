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
/// cap when there is one, else the rate measured in the last round sent whole). Compressing
/// pays when a byte of data takes less time compressed, whichever of the CPU (spread over the
/// threads that compress: the data streams) or the link for the smaller frame is slower, than
/// whole on the link: max(1 / (rate × threads), ratio / link) < 0.9 / link (10 % to spare).
/// Before anything is measured it compresses (the first batch measures the compression), and
/// when it knows the compression but not the link it sends whole (which measures the link).
/// QEMU leaves the choice to the operator (`multifd-compression`); this is livemig's own rule.
struct CompressionChoice: Sendable {
    let mode: PageCompression
    let threads: Int
    /// Measured so far: the data that went through the compressor, the frames it made (a batch
    /// that did not shrink counts as its data), and the seconds it took.
    private(set) var dataBytes = 0.0
    private(set) var frameBytes = 0.0
    private(set) var seconds = 0.0
    /// The wire rate of the last round that sent every batch whole.
    private(set) var wholeBytesPerSecond: Double?
    /// The choice for the sends handed out now.
    private(set) var compressing: Bool
    /// Whether the round under way has sent a batch compressed.
    private var roundCompressed = false
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
    }

    /// Whether no compression has been measured yet (the next compressed batch measures it).
    var needsMeasurement: Bool { mode == .auto && dataBytes == 0 }

    /// A send of `pages` is handed out with the current choice. While the choice sends whole to
    /// learn the link (the compression measured, the link not), once `pagesToMeasureLink` pages
    /// went whole the meter's rate (`measuredBytesPerSecond`) is taken for the link's and the
    /// choice made.
    mutating func noteSend(pages: Double, measuredBytesPerSecond: Double = 0, capBytesPerSecond: Double? = nil) {
        if compressing {
            roundCompressed = true
            return
        }
        guard mode == .auto, dataBytes > 0, wholeBytesPerSecond == nil, capBytesPerSecond == nil else { return }
        // Counted before this send: the meter has seen the ones before it.
        if wholePagesMeasuring >= pagesToMeasureLink, measuredBytesPerSecond > 0 {
            wholeBytesPerSecond = measuredBytesPerSecond
            decide(capBytesPerSecond: nil)
        }
        wholePagesMeasuring += pages
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
        dataBytes += data
        frameBytes += min(frame, data)
        seconds += time
        if first { decide(capBytesPerSecond: capBytesPerSecond) }
    }

    /// The rule (see the type).
    private mutating func decide(capBytesPerSecond: Double?) {
        guard mode == .auto else {
            compressing = mode == .always
            return
        }
        guard dataBytes > 0, seconds > 0 else {
            compressing = true
            return
        }
        guard let link = capBytesPerSecond ?? wholeBytesPerSecond, link > 0 else {
            compressing = false
            return
        }
        let ratio = frameBytes / dataBytes
        let compressRate = dataBytes / seconds * Double(threads)
        compressing = max(1 / compressRate, ratio / link) < 0.9 / link
    }
}
