import Foundation
import MigrationCore
import MigrationStream

/// The source's data streams of one parallel migration (`--streams N`): N connections joined to
/// the main one, each with its own thread that sends the work handed to it in order. The
/// executor hands each page batch to the stream with the fewest pages queued and takes the
/// sends' ends as they come (`nextCompletion`); the engine keeps several sends out at once.
///
/// Round order: when the first batch of a new round is handed out, every stream is first told
/// the round (`roundStart`), so that the destination can hold each round's pages until every
/// stream has finished the round before (`DataStreamGroup`). The engine starts a round only
/// once every send of the round before has ended, so no stream can still hold an older batch
/// behind the mark.
public final class DataStreamSenders: @unchecked Sendable {
    enum Work {
        case round(UInt64)
        case send(ActionID, [Int], pageCount: Double, wireBytes: Double, compress: Bool)
        case drain
        case end
        case abort(String)
        case stop
    }

    /// One stream: its channel (used by its thread alone once started) and its queue.
    final class Stream: @unchecked Sendable {
        var channel: StreamChannel
        var queue: [Work] = []
        var queuedPages = 0
        /// The first failure on this stream: later work on it fails at once with it.
        var failure: String?
        /// The channel's counts, copied after each send for other threads.
        var counts = PageSendCounts()

        init(channel: StreamChannel) { self.channel = channel }
    }

    private let condition = NSCondition()
    private let streams: [Stream]
    private var completions: [SendEnd] = []

    /// A send's end: its outcome and, if it compressed, the measurement.
    public struct SendEnd {
        public var id: ActionID
        public var outcome: ActionOutcome<DirtyBitmap>
        public var compression: CompressionSample?
    }
    /// Drains, ends and aborts handed to every stream and not yet done; their failures.
    private var controlPending = 0
    private var controlFailures: [String] = []
    private var round: UInt64?
    private var drainWaits: [Double] = []
    /// Where the next tie between equally loaded streams is broken: under a cap each send ends
    /// before the next is handed out, and every stream must get its share (a destination's data
    /// stream that stays silent for its idle timeout is taken for a dead one).
    private var nextStream = 0
    /// The longest one step on a stream may take: a write's stall timeout, or a drain's wait.
    private let stepSeconds: Double

    public var count: Int { streams.count }

    /// Asks the destination for a port on the main connection, connects `count` data streams to
    /// it (`connect` makes a connection as the main one was made: same host, same TLS) and
    /// joins each to the migration by the main connection's nonce. Threads start at once.
    /// `compresses`: each stream compresses its sends with zstd, keeping at most
    /// `compressedWindowBytes` of pages sent ahead of the destination's writing them
    /// (`EngineSettings.compressedWindowBytes`).
    public static func open(
        count: Int, main: inout StreamChannel, layout: GuestLayout, detectsZeroPages: Bool, compresses: Bool = false,
        compressedWindowBytes: Int = EngineSettings().compressedWindowBytes, timeouts: SenderTimeouts,
        cancellation: MigrationCancellation, connect: (UInt16) throws(HostFailure) -> BlockingSocket,
        pageAddress: @escaping (Int) -> UnsafeRawPointer
    ) throws(HostFailure) -> DataStreamSenders {
        guard let wireCount = UInt32(exactly: count), count >= 2, wireCount <= StreamLimits.maxParallelStreams else {
            throw HostFailure("--streams \(count): 2 to \(StreamLimits.maxParallelStreams) data streams, or 1 for the main connection alone")
        }
        guard !main.migrationNonce.isEmpty else { throw HostFailure("parallel streams need a destination (not a file)") }
        let port = try main.announceParallelStreams(count: wireCount)
        var streams: [Stream] = []
        var sockets: [BlockingSocket] = []
        do throws(HostFailure) {
            for index in 0 ..< wireCount {
                let socket: BlockingSocket
                do {
                    socket = try connect(port)
                } catch {
                    throw HostFailure("data stream \(index) to port \(port): \(error.description)")
                }
                sockets.append(socket)
                cancellation.attach(additional: socket)
                var channel = try StreamChannel(socket: socket, opening: .dataStream(migrationNonce: main.migrationNonce, index: index, layout: layout),
                                                timeouts: timeouts, pageAddress: pageAddress)
                channel.detectsZeroPages = detectsZeroPages
                channel.compressedMinimumWindowBytes = compressedWindowBytes
                if compresses { try channel.compressWithZstd() }
                streams.append(Stream(channel: channel))
            }
        } catch {
            // Nothing was sent on them: the migration has not begun, and a late cancel must not
            // shut descriptor numbers that will belong to others.
            cancellation.forgetAdditional()
            for socket in sockets { socket.close() }
            throw error
        }
        let senders = DataStreamSenders(streams: streams, stepSeconds: timeouts.stalledSendSeconds + timeouts.drainSeconds + 5)
        for (index, stream) in streams.enumerated() {
            let thread = Thread { [senders] in senders.serve(stream) }
            thread.name = "livemig data stream \(index)"
            thread.start()
        }
        return senders
    }

    private init(streams: [Stream], stepSeconds: Double) {
        self.streams = streams
        self.stepSeconds = stepSeconds
    }

    /// Hands a batch of round `round` to the stream with the fewest pages queued; `compress`:
    /// the engine's choice for it.
    public func submit(_ id: ActionID, batch: [Int], pageCount: Double, wireBytes: Double, round: UInt64, compress: Bool) {
        condition.withLock {
            precondition(self.round.map { round >= $0 } ?? true, "round \(round) after round \(self.round ?? 0)")
            if self.round != round {
                self.round = round
                for stream in streams { stream.queue.append(.round(round)) }
            }
            // The least loaded stream, ties broken in turn from the one after the last chosen.
            var chosen = nextStream % streams.count
            for offset in 1 ..< streams.count {
                let candidate = (nextStream + offset) % streams.count
                if streams[candidate].queuedPages < streams[chosen].queuedPages { chosen = candidate }
            }
            nextStream = chosen + 1
            let stream = streams[chosen]
            stream.queue.append(.send(id, batch, pageCount: pageCount, wireBytes: wireBytes, compress: compress))
            stream.queuedPages += batch.count
            condition.broadcast()
        }
    }

    /// The next send that ended, waiting at most `timeoutSeconds`; nil if none did by then.
    public func nextCompletion(timeoutSeconds: Double) -> SendEnd? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        while completions.isEmpty {
            if !condition.wait(until: deadline) { break }
        }
        return completions.isEmpty ? nil : completions.removeFirst()
    }

    /// Before the pause: every stream sends a drain mark and waits for its answer (at once, in
    /// parallel); the longest wait is kept. Throws the first stream's failure.
    public func drain() throws(HostFailure) {
        try everyStream(.drain)
    }

    /// The longest of the last drain's waits; nil if a wait ran out.
    public var lastDrainWaitSeconds: Double? {
        condition.withLock { drainWaits.count == streams.count ? drainWaits.max() : nil }
    }

    /// Ends every data stream (`endOfStream`), before the main stream's end.
    public func end() throws(HostFailure) {
        try everyStream(.end)
    }

    /// Tells the destination on every stream to give up (best effort), then stops the threads.
    public func abort(reason: String) {
        try? everyStream(.abort(reason))
    }

    /// Stops the threads once their queues are done (after the migration's end).
    public func stop() {
        condition.withLock {
            for stream in streams { stream.queue.append(.stop) }
            condition.broadcast()
        }
    }

    /// Zero-page markers and compressed data sent on all streams so far.
    public var counts: PageSendCounts {
        condition.withLock { streams.reduce(PageSendCounts()) { $0 + $1.counts } }
    }

    /// Hands `work` to every stream and waits until all have done it.
    private func everyStream(_ work: Work) throws(HostFailure) {
        condition.lock()
        defer { condition.unlock() }
        controlFailures = []
        drainWaits = []
        controlPending = streams.count
        for stream in streams { stream.queue.append(work) }
        condition.broadcast()
        // Each stream's step is bounded by its socket's timeouts (a drain by its own): the
        // deadline is only a backstop.
        let deadline = Date(timeIntervalSinceNow: stepSeconds)
        while controlPending > 0 {
            if !condition.wait(until: deadline), controlPending > 0 {
                throw HostFailure("\(controlPending) of \(streams.count) data streams did not finish \(work) within \(stepSeconds) s")
            }
        }
        if let failure = controlFailures.first { throw HostFailure(failure) }
    }

    /// One stream's thread: takes its work in order until told to stop.
    private func serve(_ stream: Stream) {
        while true {
            condition.lock()
            while stream.queue.isEmpty { condition.wait() }
            let work = stream.queue.removeFirst()
            let failure = stream.failure
            condition.unlock()
            var outcome: ActionOutcome<DirtyBitmap> = .done
            var drainWait: Double?
            var sample: CompressionSample?
            if let failure {
                outcome = .failed(failure)
            } else {
                do throws(HostFailure) {
                    switch work {
                    case .round(let round): try stream.channel.sendRoundStart(round)
                    case .send(_, let batch, let pageCount, let wireBytes, let compress):
                        stream.channel.compressesNow = compress
                        outcome = .sent(bytes: try stream.channel.sendPages(batch, pageCount: pageCount, wireBytes: wireBytes))
                        sample = stream.channel.takeCompressionSample()
                    case .drain:
                        try stream.channel.drainBeforePause()
                        drainWait = stream.channel.lastDrainWaitSeconds
                    case .end: try stream.channel.endDataStream()
                    case .abort(let reason): stream.channel.abort(reason: reason)
                    case .stop: break
                    }
                } catch {
                    outcome = .failed(error.description)
                }
            }
            condition.lock()
            if case .failed(let message) = outcome, stream.failure == nil { stream.failure = message }
            switch work {
            case .send(let id, let batch, _, _, _):
                stream.queuedPages -= batch.count
                stream.counts = stream.channel.counts
                completions.append(SendEnd(id: id, outcome: outcome, compression: sample))
            case .round, .stop:
                break
            case .drain, .end, .abort:
                if case .failed(let message) = outcome { controlFailures.append(message) }
                if let drainWait { drainWaits.append(drainWait) }
                controlPending -= 1
            }
            condition.broadcast()
            condition.unlock()
            if case .stop = work { return }
        }
    }
}
