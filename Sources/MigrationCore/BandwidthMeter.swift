/// Transfer rate over windows of at least `windowSeconds`, the way QEMU's
/// `migration_update_counters` measures it (`BUFFER_DELAY`, 100 ms): the rate of the last
/// closed window, 0 until one has closed.
struct BandwidthMeter: Sendable {
    var windowSeconds = 0.1
    private(set) var bytesPerSecond = 0.0
    private var windowStartSeconds: Double
    private var windowStartBytes = 0.0

    init(startSeconds: Double) { windowStartSeconds = startSeconds }

    mutating func record(totalBytes: Double, now: Double) {
        let span = now - windowStartSeconds
        guard span >= windowSeconds else { return }
        bytesPerSecond = (totalBytes - windowStartBytes) / span
        windowStartSeconds = now
        windowStartBytes = totalBytes
    }
}

/// A bandwidth cap: the earliest time the next batch may start so that the bytes sent so far
/// stay under `bytesPerSecond`. The engine's, and the throughput probe's, so both pace alike.
public struct RateLimiter: Sendable {
    public let bytesPerSecond: Double
    public private(set) var nextSendSeconds = 0.0

    public init(bytesPerSecond: Double) {
        precondition(bytesPerSecond > 0, "a rate limit must be positive")
        self.bytesPerSecond = bytesPerSecond
    }

    public mutating func recordSend(bytes: Double, startedAt start: Double) {
        nextSendSeconds = max(nextSendSeconds, start) + bytes / bytesPerSecond
    }

    /// A send counted at its start took `bytes` more (or, negative, fewer) than counted.
    public mutating func correct(byBytes bytes: Double) {
        nextSendSeconds += bytes / bytesPerSecond
    }
}
