import MigrationCore

/// A token bucket: at most `bytesPerSecond` on average, in bursts of at most `burstBytes`
/// (50 ms worth, and at least 16 KiB so that a slow cap still moves whole TLS records).
struct RelayRateCap {
    static let minBytesPerSecond = 1024.0
    static let maxBytesPerSecond = 1e12
    /// The least a read is worth waiting for: smaller allowances wait for more tokens instead
    /// of moving a trickle per system call.
    static let minChunkBytes = 4096

    let bytesPerSecond: Double
    let burstBytes: Int
    private var tokens: Double
    private var refilledSeconds: Double

    init(bytesPerSecond: Double, bufferBytes: Int, nowSeconds: Double) throws(HostFailure) {
        guard bytesPerSecond.isFinite, bytesPerSecond >= Self.minBytesPerSecond, bytesPerSecond <= Self.maxBytesPerSecond else {
            throw HostFailure("relay rate cap \(bytesPerSecond) bytes/s: must be a number from \(Int(Self.minBytesPerSecond)) to \(Self.maxBytesPerSecond) bytes/s")
        }
        self.bytesPerSecond = bytesPerSecond
        // bytesPerSecond / 20 <= 5e10: the conversion cannot trap.
        burstBytes = min(bufferBytes, max(16 << 10, Int(bytesPerSecond / 20)))
        tokens = Double(burstBytes)
        refilledSeconds = nowSeconds
    }

    /// Bytes that may move now: 0 until at least `minChunkBytes` (or a whole burst) is there.
    mutating func allowance(nowSeconds: Double) -> Int {
        tokens = min(Double(burstBytes), tokens + max(0, nowSeconds - refilledSeconds) * bytesPerSecond)
        refilledSeconds = nowSeconds
        // 0 <= tokens <= burstBytes: the conversion cannot trap.
        let available = Int(tokens)
        return available >= min(Self.minChunkBytes, burstBytes) ? available : 0
    }

    mutating func spend(_ bytes: Int) { tokens -= Double(bytes) }

    /// Seconds until `allowance` is no longer 0.
    var secondsUntilAllowance: Double {
        max(0, (Double(min(Self.minChunkBytes, burstBytes)) - tokens) / bytesPerSecond)
    }
}
