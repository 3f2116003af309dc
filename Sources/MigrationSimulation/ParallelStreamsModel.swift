/// How long a batch takes when the pages go on several streams (`SimulationConfig.streams`).
///
/// The batches spread over the streams, so while one stream's batch crosses the link the others'
/// are copied and framed: a batch's copying (`HostCosts.pageCopySecondsPerPage`) runs on as
/// many cores as there are streams (at most `HostCosts.sourceCores`), and its fixed per-batch
/// cost overlaps with the other streams' (it counts 1/streams). The bytes share the link,
/// whatever the streams; and each stream carries at most `HostCosts.streamBytesPerSecond` (its
/// threads' CPU), so together at most that times the streams running at once. One stream
/// without a stream rate is the model the simulator always had, to the last bit.
struct ParallelStreamsModel {
    let streams: Int
    let runningAtOnce: Int
    let streamBytesPerSecond: Double?

    init(streams: Int, costs: HostCosts) {
        self.streams = max(1, streams)
        runningAtOnce = max(1, min(self.streams, costs.sourceCores ?? self.streams))
        streamBytesPerSecond = costs.streamBytesPerSecond
    }

    /// Whether the model is the single stream's (no division, no stream bound).
    var isSingleStream: Bool { streams == 1 && streamBytesPerSecond == nil }

    /// When a batch of `bytes` started at `now` has been sent, given the link and the batch's
    /// fixed and CPU costs. Only `batchesAtOnce` batches can overlap (the round's last ones, a
    /// paused round of one batch, the device state on the main connection: fewer than the
    /// streams), so the division is by no more than that.
    func transferEndSeconds(now: Double, bytes: Double, overheadSeconds: Double, cpuSeconds: Double, batchesAtOnce: Int,
                            link: LinkModel) -> Double {
        let linkSeconds = link.transferEndSeconds(start: now, bytes: bytes) - now
        if isSingleStream {
            // Written as before streams, so that the sums round the same way.
            return now + max(linkSeconds + overheadSeconds, cpuSeconds)
        }
        let overlapping = max(1, min(streams, batchesAtOnce))
        let running = max(1, min(runningAtOnce, overlapping))
        let streamSeconds = streamBytesPerSecond.map { bytes / (Double(running) * $0) } ?? 0
        let network = max(linkSeconds, streamSeconds) + overheadSeconds / Double(overlapping)
        return now + max(network, cpuSeconds / Double(running))
    }
}
