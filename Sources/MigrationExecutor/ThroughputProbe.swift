import Glibc
import MigrationCore
import MigrationStream

/// The source's side of a throughput probe (`livemig calibrate --destination`, the stream's
/// `throughputProbe`): sends page batches of filler to a destination's `livemig receive` for a
/// while, framed and paced exactly as a migration's are, and takes the destination's count of
/// what arrived and when. No guest is involved on either side. The receiver admits a probe as
/// it admits a migration (hosts-allow, TLS, its incoming limits).
public enum ThroughputProbe {
    /// The longest a probe may last on the receiver's clock; it cuts off one that goes on past
    /// it (plus its handshake timeout).
    public static let maxSeconds = 30.0
    /// The longest a source may ask to send for: under `maxSeconds`, with room for the last
    /// batch to drain on a slow path.
    public static let maxSendSeconds = 20.0
    /// Pages per batch: the engine's default batch (`EngineSettings.maxBatchPages`), so the
    /// probe's per-batch costs are a migration's.
    static let batchPages = EngineSettings().maxBatchPages
    /// Pages of filler the batches cycle through: 64 MiB, more than a CPU cache holds, so the
    /// probe reads memory as a migration reads guest memory rather than from a hot cache.
    static let fillerPages = 16 * batchPages

    /// Sends filler to `endpoint` for `seconds` (0.1 ... `maxSendSeconds`), paced at
    /// `rateLimitBytesPerSecond` if given, and returns what the destination measured. Under a
    /// cap, batches are cut so that at least 8 fit in the time (a low cap's 4 MiB batch would
    /// take longer than the probe), and the probe ends after its last whole paced interval.
    /// Uncapped, batches are 4 MiB: a path under about 4 Mbit/s cannot drain what is queued
    /// within the receiver's deadline and the probe is refused (give the cap instead).
    public static func measure(_ endpoint: Endpoint, seconds: Double, rateLimitBytesPerSecond: Double?,
                               tls: TLSConfiguration? = nil, timeouts: SenderTimeouts = SenderTimeouts()) throws(HostFailure) -> MeasuredPath {
        guard seconds.isFinite, (0.1 ... maxSendSeconds).contains(seconds) else {
            throw HostFailure("probe seconds \(seconds): must be from 0.1 to \(Int(maxSendSeconds))")
        }
        if let rate = rateLimitBytesPerSecond, !(rate.isFinite && rate > 0) {
            throw HostFailure("probe rate limit \(rate): must be a positive number of bytes per second")
        }
        let socket = try BlockingSocket.connect(to: endpoint, timeoutSeconds: timeouts.handshakeSeconds)
        defer { socket.close() }
        if let tls {
            _ = try socket.startTLS(tls, role: .client, expectedPeerName: endpoint.host, handshakeTimeoutSeconds: timeouts.handshakeSeconds)
        }
        let pageSize = Int(StreamLimits.probePageSizeBytes)
        let filler = UnsafeMutableRawBufferPointer.allocate(byteCount: fillerPages * pageSize, alignment: pageSize)
        defer { filler.deallocate() }
        fillWithNoise(filler)
        let base = UnsafeRawPointer(filler.baseAddress!)
        let announcedPages = Int(StreamLimits.maxProbeBytes) / pageSize
        var channel = try StreamChannel(socket: socket, opening: .throughputProbe(bytes: StreamLimits.maxProbeBytes), timeouts: timeouts,
                                        pageAddress: { page in base + (page % fillerPages) * pageSize })
        let roundTrip = SocketOptions.smoothedRoundTripSeconds(of: socket.fd)
        var limiter = rateLimitBytesPerSecond.map(RateLimiter.init(bytesPerSecond:))
        let perPageWireBytes = 8 + pageSize
        let pagesPerBatch = rateLimitBytesPerSecond.map { rate in
            CheckedConversion.clampedInt((rate * seconds / 8 - 16) / Double(perPageWireBytes), to: 1 ... batchPages, .down)
        } ?? batchPages
        let start = monotonicSeconds()
        var firstPage = 0
        var wireBytes = 0
        var dataBytes = 0
        // Until the time is up; capped, also only while the next batch may start within it (a
        // path slower than the cap leaves the clock ahead of the pacing).
        while max(limiter?.nextSendSeconds ?? 0, monotonicSeconds()) - start < seconds, firstPage + pagesPerBatch <= announcedPages {
            if let next = limiter?.nextSendSeconds { sleep(untilMonotonic: next) }
            let sendStart = monotonicSeconds()
            let batch = Array(firstPage ..< firstPage + pagesPerBatch)
            let batchWireBytes = 8 + StreamLimits.pageBatchFixedBytes + pagesPerBatch * perPageWireBytes
            _ = try channel.sendPages(batch, pageCount: Double(pagesPerBatch), wireBytes: Double(batchWireBytes))
            limiter?.recordSend(bytes: Double(batchWireBytes), startedAt: sendStart)
            firstPage += pagesPerBatch
            wireBytes += batchWireBytes
            dataBytes += pagesPerBatch * pageSize
        }
        // The end goes when the cap allows the next batch, so the destination's span holds
        // whole paced intervals rather than one fewer than the batches it counted.
        if let next = limiter?.nextSendSeconds { sleep(untilMonotonic: next) }
        let answer = try channel.finishProbe()
        guard answer.receivedBytes == UInt64(dataBytes) else {
            throw HostFailure("\(endpoint) counted \(answer.receivedBytes) bytes of the probe's \(dataBytes)")
        }
        return MeasuredPath(destination: endpoint.description, wireBytes: wireBytes, seconds: answer.seconds,
                            rateLimitBytesPerSecond: rateLimitBytesPerSecond, roundTripSeconds: roundTrip)
    }

    /// Fills `buffer` with bytes nothing on the path could compress: xorshift64 from a random
    /// seed over the first batch, copied over the rest (cheap, and a cache never holds it all).
    private static func fillWithNoise(_ buffer: UnsafeMutableRawBufferPointer) {
        var state = UInt64.random(in: 1 ... .max)
        let first = min(buffer.count, batchPages * Int(StreamLimits.probePageSizeBytes))
        for index in stride(from: 0, to: first - 7, by: 8) {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            buffer.storeBytes(of: state, toByteOffset: index, as: UInt64.self)
        }
        var filled = first
        while filled < buffer.count {
            let count = min(first, buffer.count - filled)
            (buffer.baseAddress! + filled).copyMemory(from: buffer.baseAddress!, byteCount: count)
            filled += count
        }
    }
}
