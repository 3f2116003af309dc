import Foundation
import MigrationCore
import MigrationStream

/// The source's end of a migration stream over TCP: the `MigrationChannel` the real executors
/// use. Page data goes from guest memory to the socket with gather I/O, without copies.
public struct StreamChannel: MigrationChannel {
    public typealias Batch = [Int]
    public typealias DeviceState = CapturedGuestState

    private let socket: BlockingSocket
    private var encoder = StreamEncoder(direction: .sourceToDestination)
    private var reader: StreamReader
    private let pageAddress: (Int) -> UnsafeRawPointer
    private let pageSizeBytes: Int
    private var header: [UInt8] = []
    private var pieces: [iovec] = []
    /// Whether pages that are all zero go as their numbers alone (`zeroPages`, 8 bytes a page)
    /// instead of 4 KiB of zeros: on for a guest's stream (QEMU always checks, `buffer_is_zero`
    /// in migration/ram.c), off for a throughput probe, whose pages are counted, not kept.
    public var detectsZeroPages: Bool
    /// Zero-page markers and compressed data sent so far.
    public private(set) var counts = PageSendCounts()
    public var zeroPagesSent: Int { counts.zeroPagesSent }
    public var compressionRatio: Double? { counts.compressionRatio }
    /// Whether the next batches are compressed (with a compression set): the engine's choice for
    /// the round (`SourceMigration.compressesSends`), set by the executor before each send.
    public var compressesNow = true
    /// The last send's compression, if it tried: data bytes, frame bytes (the data's when it
    /// did not shrink), seconds; taken once by `takeCompressionSample()`.
    private var compressionSample: CompressionSample?
    /// Set by `compressWithZstd()`: each batch's data goes as one frame when it comes out at least a
    /// sixteenth smaller, else as it is (data that does not compress costs one attempt).
    private var compression: BatchCompression?
    /// Set by `sendDeltas()`: the copies of the pages sent, for XBZRLE deltas.
    private var deltas: DeltaPageCache?
    /// One page of zeros, to compare pages with; the batch split into zero and other pages.
    private let zeroPage: [UInt8]
    private var zeroPagesOfBatch: [Int] = []
    private var dataPagesOfBatch: [Int] = []
    /// False when the stream goes to a file (`livemig save`): no destination answers.
    private let expectsReplies: Bool
    /// Bytes written to the socket so far.
    public private(set) var bytesWritten = 0
    /// The destination's wall-clock time of the unpause, from its `running` record.
    public private(set) var destinationRunningWallClockSeconds: Double?
    /// The destination's own timing of its part of the pause, from its `running` record (as it
    /// said it: `PausePhases.adding(destination:)` checks it against the source's waits).
    public private(set) var destinationPauseWork: DestinationPauseWork?
    /// A memory digest went with the device state: once the destination says "ready", it has
    /// checked its memory against it (`DestinationMigration`'s `verifyMemory`).
    public private(set) var sentMemoryDigest = false
    private let timeouts: SenderTimeouts
    /// The drain marks sent so far (`drainBeforePause`).
    private var drainMarksSent: UInt64 = 0
    /// Whether a page batch has gone: before one (an offline migration's pause) there is
    /// nothing queued to drain.
    private var sentPages = false
    /// Marks whose wait ran out: their `drained` may still come, once each, and is skipped.
    private var lateDrainAnswers: UInt64 = 0
    /// The seconds the last drain's wait took; nil before one, or when it ran out of
    /// `timeouts.drainSeconds`.
    public private(set) var lastDrainWaitSeconds: Double?
    /// The destination's nonce for this migration (empty for a saved file): what `guest resume`
    /// asks about after an unknown commit outcome.
    public private(set) var migrationNonce: [UInt8] = []
    /// Post-copy: a return path is joined (`openReturnPath`), so the hand-over may go out.
    public private(set) var supportsPostcopy = false
    /// Post-copy: the hand-over went out; the destination's `postcopyComplete`, once it came;
    /// whether its page-wise digest matched this (paused) memory's, when it sent one.
    public private(set) var inPostcopy = false
    public private(set) var postcopyCompletion: PostcopyCompletion?
    public private(set) var postcopyMemoryVerified = false
    /// The path's round trip when the stream opened (after the challenge), before any page
    /// queued in it: the kernel's later figures include the sockets' own queue.
    private var openingRoundTripSeconds: Double?
    /// Flow control on what the destination has placed, where the socket's own does not bound
    /// it: post-copy (a requested page queues behind every pushed byte) and compressed sends (a
    /// few KiB of frame in the socket can be a second of decompressing). A drain mark goes after
    /// each batch with page data (not one of zero pages alone); its `drained` says the
    /// destination wrote the batch into the guest. Counted in the data pages' bytes as in memory
    /// (`pageBytesSent`), whatever went on the wire; the window is `flowWindowBytes`.
    ///
    /// The least windows (`EngineSettings.postcopyWindowBytes`, `compressedWindowBytes`), set by
    /// the executor's caller.
    public var postcopyMinimumWindowBytes = EngineSettings().postcopyWindowBytes
    public var compressedMinimumWindowBytes = EngineSettings().compressedWindowBytes
    /// The data pages' bytes sent so far; the marks not yet answered, with that count at each;
    /// the count at the last one answered.
    private var pageBytesSent = 0
    private var flowMarks: [(sequence: UInt64, pageBytes: Int)] = []
    private var flowAnsweredPageBytes = 0

    /// What a stream opens with after the challenge: a guest, or a throughput probe.
    public enum Opening: Sendable {
        case guest(GuestLayout)
        /// Page batches of at most `bytes` follow, numbered as `StreamLimits.probeLayout`'s pages.
        case throughputProbe(bytes: UInt64)
        /// Data stream `index` of the migration whose main connection's challenge was
        /// `migrationNonce`: only its pages (of a guest of `layout`), rounds, drains and end.
        case dataStream(migrationNonce: [UInt8], index: UInt32, layout: GuestLayout)
        /// The return path of the migration whose main connection's challenge was
        /// `migrationNonce`: read for page requests (`nextPageRequest`), nothing more sent.
        case returnPath(migrationNonce: [UInt8])
    }

    /// Opens the stream: sends the header and the guest's layout.
    public init(socket: BlockingSocket, layout: GuestLayout, timeouts: SenderTimeouts = SenderTimeouts(),
                pageAddress: @escaping (Int) -> UnsafeRawPointer) throws(HostFailure) {
        try self.init(socket: socket, opening: .guest(layout), timeouts: timeouts, pageAddress: pageAddress)
    }

    /// Opens the stream: sends the header and the opening record (after echoing the
    /// destination's challenge, over a socket).
    public init(socket: BlockingSocket, opening: Opening, timeouts: SenderTimeouts = SenderTimeouts(),
                pageAddress: @escaping (Int) -> UnsafeRawPointer) throws(HostFailure) {
        self.socket = socket
        self.timeouts = timeouts
        socket.setSendTimeout(seconds: timeouts.stalledSendSeconds)
        expectsReplies = socket.isSocket
        self.pageAddress = pageAddress
        let record: StreamRecord
        var adoptedLayout: GuestLayout?
        switch opening {
        case .guest(let layout):
            pageSizeBytes = Int(layout.pageSizeBytes)
            record = .guestLayout(layout)
            detectsZeroPages = true
        case .throughputProbe(let bytes):
            pageSizeBytes = Int(StreamLimits.probePageSizeBytes)
            record = .throughputProbe(bytes: bytes)
            detectsZeroPages = false
        case .dataStream(let nonce, let index, let layout):
            pageSizeBytes = Int(layout.pageSizeBytes)
            record = .joinStream(migrationNonce: nonce, index: index)
            detectsZeroPages = true
            adoptedLayout = layout
        case .returnPath(let nonce):
            pageSizeBytes = StreamLimits.minPageSizeBytes
            record = .joinReturnPath(migrationNonce: nonce)
            detectsZeroPages = false
        }
        zeroPage = [UInt8](repeating: 0, count: pageSizeBytes)
        reader = StreamReader(socket: socket, direction: .destinationToSource)
        var header: [UInt8] = []
        encoder.appendHeader(into: &header)
        try write(header)
        var bytes: [UInt8] = []
        if expectsReplies {
            migrationNonce = try awaitChallenge()
            openingRoundTripSeconds = SocketOptions.smoothedRoundTripSeconds(of: socket.fd)
            try append(.challengeEcho(nonce: migrationNonce), into: &bytes)
        }
        try append(record, into: &bytes)
        try write(bytes)
        if let adoptedLayout { encoder.adoptLayout(adoptedLayout) }
    }

    /// Main stream: says the pages will come on `count` data streams, and returns the port the
    /// destination opened for them (its `streamsListening`, within the handshake timeout).
    public mutating func announceParallelStreams(count: UInt32) throws(HostFailure) -> UInt16 {
        try send(.parallelStreams(count: count))
        return try awaitStreamsListening(for: "the data streams")
    }

    /// The destination's `streamsListening` (within the handshake timeout): the port for `what`.
    private mutating func awaitStreamsListening(for what: String) throws(HostFailure) -> UInt16 {
        let record = try reply(within: timeouts.handshakeSeconds, silence: "named no port for \(what)")
        switch record {
        case .record(.streamsListening(let port)): return port
        case .record(.abort(let reason)): throw HostFailure("the destination aborted: \(reason)")
        default: throw HostFailure("the destination sent \(record.type) where \(RecordType.streamsListening) was expected")
        }
    }

    /// Post-copy: asks for a return path, connects it (`connect`: as the main connection was made)
    /// and joins it by the main connection's nonce; the returned reader hands the destination's
    /// page requests to the executor. Before any page; not with parallel streams.
    public mutating func openReturnPath(cancellation: MigrationCancellation,
                                        connect: (UInt16) throws(HostFailure) -> BlockingSocket) throws(HostFailure) -> ReturnPathReader {
        guard !migrationNonce.isEmpty else { throw HostFailure("post-copy needs a destination (not a file)") }
        try send(.returnPath)
        let port = try awaitStreamsListening(for: "the return path")
        let socket: BlockingSocket
        do {
            socket = try connect(port)
        } catch {
            throw HostFailure("the return path to port \(port): \(error.description)")
        }
        cancellation.attach(additional: socket)
        let channel: StreamChannel
        do {
            channel = try StreamChannel(socket: socket, opening: .returnPath(migrationNonce: migrationNonce), timeouts: timeouts) { _ in
                preconditionFailure("a return path carries no pages")
            }
        } catch {
            // Not joined: nothing of the migration has gone, and a late cancel must not shut the
            // number once it belongs to something else.
            cancellation.forgetAdditional()
            socket.close()
            throw error
        }
        supportsPostcopy = true
        return ReturnPathReader(channel: channel, socket: socket, guestPages: encoder.checker.layout.map { Int($0.guestPages) } ?? 0)
    }

    /// Return path: the next page request, waiting as long as it takes (`ReturnPathReader.stop`
    /// shuts the socket); throws when the destination aborts, breaks the stream or closes it.
    mutating func nextPageRequest() throws(HostFailure) -> [UInt64] {
        switch try reader.next() {
        case .record(.pageRequest(let pages)): return pages
        case .record(.abort(let reason)): throw HostFailure("the destination aborted: \(reason)")
        case let other: throw HostFailure("the destination sent \(other.type) where \(RecordType.pageRequest) was expected")
        }
    }

    /// Data stream: the pages that follow belong to round `round` (see `StreamRecord.roundStart`).
    public mutating func sendRoundStart(_ round: UInt64) throws(HostFailure) {
        try send(.roundStart(round: round))
    }

    /// Data stream: its last record; the destination counts its pages once every stream ended.
    public mutating func endDataStream() throws(HostFailure) {
        try send(.endOfStream)
    }

    /// The destination's nonce for this connection, which the stream must echo before the guest.
    private mutating func awaitChallenge() throws(HostFailure) -> [UInt8] {
        socket.setReceiveTimeout(seconds: timeouts.handshakeSeconds)
        defer { socket.setReceiveTimeout(seconds: 0) }
        let record: StreamRecordView
        do {
            record = try reader.next()
        } catch {
            guard BlockingSocket.isTimeout(error) else {
                throw HostFailure("\(error.description) before the destination's challenge\(socket.isTLS ? "" : " (a destination that requires TLS refuses plain sources: --tls)")")
            }
            throw HostFailure("\(socket.peer) sent no challenge within \(timeouts.handshakeSeconds) s: is it a livemig receive?")
        }
        switch record {
        case .record(.challenge(let nonce)): return nonce
        case .record(.abort(let reason)): throw HostFailure("the destination aborted: \(reason)")
        default: throw HostFailure("the destination sent \(record.type) where \(RecordType.challenge) was expected")
        }
    }

    private mutating func append(_ record: StreamRecord, into buffer: inout [UInt8]) throws(HostFailure) {
        do {
            try encoder.append(record, into: &buffer)
        } catch {
            throw HostFailure("cannot encode \(record.type): \(error.description)")
        }
    }

    private mutating func write(_ bytes: [UInt8]) throws(HostFailure) {
        do {
            try socket.write(bytes)
        } catch {
            throw explained(error)
        }
        bytesWritten += bytes.count
    }

    /// A failed send, explained by the destination's abort if it sent one before closing (a
    /// receiver that refuses the guest answers `abort` and hangs up; the source would otherwise
    /// only see "connection reset").
    private mutating func explained(_ failure: HostFailure) -> HostFailure {
        guard expectsReplies else { return failure }
        if BlockingSocket.isTimeout(failure) {
            return HostFailure("\(socket.peer) took no data for \(timeouts.stalledSendSeconds) s (the sender's stall timeout)")
        }
        let watchdog = beginWholeWait(until: monotonicSeconds() + 0.5)
        defer { endWholeWait(watchdog) }
        var record = try? reader.next()
        while case .record(.drained)? = record { record = try? reader.next() }
        if case .record(.abort(let reason))? = record {
            return HostFailure("the destination aborted: \(reason)")
        }
        return failure
    }

    /// A data stream of this migration failed: the destination's reason from this (main)
    /// connection, if it sent an abort within half a second (it aborts the whole migration
    /// there when one data stream breaks, and shuts the others).
    public mutating func destinationAbortReason() -> String? {
        guard expectsReplies else { return nil }
        let watchdog = beginWholeWait(until: monotonicSeconds() + 0.5)
        defer { endWholeWait(watchdog) }
        var record = try? reader.next()
        while case .record(.drained)? = record { record = try? reader.next() }
        if case .record(.abort(let reason))? = record { return reason }
        return nil
    }

    private mutating func send(_ record: StreamRecord) throws(HostFailure) {
        var buffer: [UInt8] = []
        try append(record, into: &buffer)
        try write(buffer)
    }

    /// The last send's compression measurement, once.
    public mutating func takeCompressionSample() -> CompressionSample? {
        defer { compressionSample = nil }
        return compressionSample
    }

    /// Compresses each batch's data with zstd from now on (`migrate --compress zstd`).
    public mutating func compressWithZstd() throws(HostFailure) {
        compression = try BatchCompression(pageSizeBytes: pageSizeBytes)
    }

    /// Sends pages sent before as XBZRLE deltas from now on, keeping copies of up to `cacheBytes`
    /// of what it sent (`migrate --compress xbzrle`; `DeltaPageCache`), in the sends the engine
    /// compresses (`compressesNow`). One stream only: a data stream's copies would not know what
    /// the others sent.
    public mutating func sendDeltas(cacheBytes: Int = 64 << 20) {
        deltas = DeltaPageCache(bytes: cacheBytes, pageSizeBytes: pageSizeBytes)
    }

    /// `sendPages` with deltas: zero pages as markers (their kept copies forgotten), pages sent
    /// before as one `compressedPages` record of deltas, the rest whole from their copies; one
    /// gathered write.
    private mutating func sendPagesWithDeltas(_ batch: [Int], deltas: DeltaPageCache) throws(HostFailure) -> Double {
        if detectsZeroPages {
            splitZeroPages(of: batch)
        } else {
            zeroPagesOfBatch.removeAll(keepingCapacity: true)
            dataPagesOfBatch = batch
        }
        deltas.forget(zeroPagesOfBatch)
        let start = monotonicSeconds()
        deltas.prepare(dataPagesOfBatch, encode: compressesNow, pageAddress: pageAddress)
        // For the engine's choice (`CompressionChoice`), once some page had a copy to take a delta
        // against: all the batch's data pages, what they became (deltas, the rest whole), and the
        // time. A batch with few copies then reads as one that barely shrinks (the choice keeps
        // probing it), not as a slow compressor (which it would stop for good).
        compressionSample = deltas.candidates == 0 ? nil : CompressionSample(
            dataBytes: dataPagesOfBatch.count * pageSizeBytes,
            frameBytes: deltas.frameBytes + (dataPagesOfBatch.count - deltas.deltaPages.count) * pageSizeBytes,
            seconds: monotonicSeconds() - start)
        header.removeAll(keepingCapacity: true)
        var padding = 0
        var deltaHeadEnd = 0
        do {
            if !zeroPagesOfBatch.isEmpty {
                try encoder.appendZeroPages(pageNumbers: zeroPagesOfBatch.lazy.map { UInt64($0) }, into: &header)
            }
            if !deltas.deltaPages.isEmpty {
                padding = try encoder.appendCompressedPagesHead(pageNumbers: deltas.deltaPages.lazy.map { UInt64($0) }, algorithm: .xbzrle,
                                                                frameBytes: deltas.frameBytes, into: &header)
            }
            deltaHeadEnd = header.count
            header.append(contentsOf: repeatElement(0, count: padding))
            if !deltas.wholePages.isEmpty {
                try encoder.appendPageBatchHeader(pageNumbers: deltas.wholePages.lazy.map { UInt64($0.page) }, into: &header)
            }
        } catch {
            throw HostFailure("cannot encode a page batch: \(error.description)")
        }
        var failure: HostFailure?
        header.withUnsafeMutableBytes { headerBytes in
            let base = headerBytes.baseAddress!
            pieces.removeAll(keepingCapacity: true)
            pieces.append(iovec(iov_base: base, iov_len: deltaHeadEnd))
            if !deltas.deltaPages.isEmpty {
                pieces.append(iovec(iov_base: deltas.frame, iov_len: deltas.frameBytes))
                if padding > 0 { pieces.append(iovec(iov_base: base + deltaHeadEnd, iov_len: padding)) }
            }
            pieces.append(iovec(iov_base: base + deltaHeadEnd + padding, iov_len: headerBytes.count - deltaHeadEnd - padding))
            for whole in deltas.wholePages {
                pieces.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: whole.copy), iov_len: pageSizeBytes))
            }
            pieces.removeAll { $0.iov_len == 0 }
            do { try socket.writeGathered(&pieces) } catch { failure = error as? HostFailure ?? HostFailure("\(error)") }
        }
        if let failure { throw explained(failure) }
        let written = header.count + deltas.frameBytes + deltas.wholePages.count * pageSizeBytes
        bytesWritten += written
        counts.zeroPagesSent += zeroPagesOfBatch.count
        counts.deltaPagesSent += deltas.deltaPages.count
        if !deltas.deltaPages.isEmpty {
            counts.compressedDataBytes += deltas.deltaPages.count * pageSizeBytes
            counts.compressedFrameBytes += deltas.frameBytes
        }
        pageBytesSent += dataPagesOfBatch.count * pageSizeBytes
        sentPages = true
        return Double(written)
    }

    public mutating func sendPages(_ batch: [Int], pageCount: Double, wireBytes: Double) throws(HostFailure) -> Double {
        precondition(batch.count == Int(pageCount), "the channel sends the pages the engine names")
        let window = flowWindowBytes
        if let window { try awaitFlowWindow(window) }
        let pageBytesBefore = pageBytesSent
        // No deltas after post-copy's hand-over: the destination's missing pages hold nothing to apply them to.
        let written: Double
        if let deltas, !inPostcopy {
            written = try sendPagesWithDeltas(batch, deltas: deltas)
        } else {
            written = try sendPagesWhole(batch)
        }
        // A batch of zero pages alone costs the destination next to nothing: no mark (whose
        // answer would only wait unread until the window next needs reading).
        if window != nil, pageBytesSent > pageBytesBefore { try markFlowBatch() }
        return written
    }

    /// The flow-control window for the next send (see `pageBytesSent`): in post-copy, and on a
    /// channel that compresses (zstd or XBZRLE set up; every batch then, compressed this round
    /// or not). Nil where the socket's own suffices (pages whole, before post-copy) or nobody
    /// answers (a file).
    var flowWindowBytes: Int? {
        guard expectsReplies else { return nil }
        let minimum: Int
        if inPostcopy {
            minimum = postcopyMinimumWindowBytes
        } else if compression != nil || deltas != nil {
            minimum = compressedMinimumWindowBytes
        } else {
            return nil
        }
        return Self.flowWindowBytes(roundTripSeconds: openingRoundTripSeconds, atLeast: minimum)
    }

    /// `sendPages` without deltas: zero pages as markers, the rest whole or as one zstd frame.
    private mutating func sendPagesWhole(_ batch: [Int]) throws(HostFailure) -> Double {
        if detectsZeroPages { splitZeroPages(of: batch) }
        // Without detection the batch goes as it is, not copied into the split's arrays.
        let dataPages = detectsZeroPages ? dataPagesOfBatch : batch
        let zeroPages = detectsZeroPages ? zeroPagesOfBatch : []
        header.removeAll(keepingCapacity: true)
        compressionSample = nil
        // The data as one frame (in `compression.frame`), when compression is on for this send
        // and the frame is smaller.
        var frameBytes: Int?
        if let compression, compressesNow, !inPostcopy, !dataPages.isEmpty {
            let start = monotonicSeconds()
            frameBytes = try compression.compress(dataPages, pageAddress: pageAddress)
            let dataBytes = dataPages.count * pageSizeBytes
            compressionSample = CompressionSample(dataBytes: dataBytes, frameBytes: frameBytes ?? dataBytes, seconds: monotonicSeconds() - start)
        }
        // Zero pages first, as their numbers; then the rest, with their data or as a frame. All
        // go in one gathered write: the records' heads, the pages (or the frame), its padding.
        var padding = 0
        do {
            if !zeroPages.isEmpty {
                try encoder.appendZeroPages(pageNumbers: zeroPages.lazy.map { UInt64($0) }, into: &header)
            }
            if let frameBytes {
                padding = try encoder.appendCompressedPagesHead(pageNumbers: dataPages.lazy.map { UInt64($0) }, frameBytes: frameBytes, into: &header)
            } else if !dataPages.isEmpty {
                try encoder.appendPageBatchHeader(pageNumbers: dataPages.lazy.map { UInt64($0) }, into: &header)
            }
        } catch {
            throw HostFailure("cannot encode a page batch: \(error.description)")
        }
        let headBytes = header.count
        header.append(contentsOf: repeatElement(0, count: padding))
        var failure: HostFailure?
        header.withUnsafeMutableBytes { headerBytes in
            pieces.removeAll(keepingCapacity: true)
            pieces.append(iovec(iov_base: headerBytes.baseAddress, iov_len: headBytes))
            if let frameBytes, let compression {
                pieces.append(iovec(iov_base: compression.frame, iov_len: frameBytes))
                if padding > 0 { pieces.append(iovec(iov_base: headerBytes.baseAddress! + headBytes, iov_len: padding)) }
            } else {
                for page in dataPages {
                    pieces.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: pageAddress(page)), iov_len: pageSizeBytes))
                }
            }
            do { try socket.writeGathered(&pieces) } catch { failure = error as? HostFailure ?? HostFailure("\(error)") }
        }
        if let failure { throw explained(failure) }
        let written = header.count + (frameBytes ?? dataPages.count * pageSizeBytes)
        bytesWritten += written
        counts.zeroPagesSent += zeroPages.count
        if let frameBytes {
            counts.compressedDataBytes += dataPages.count * pageSizeBytes
            counts.compressedFrameBytes += frameBytes
        }
        pageBytesSent += dataPages.count * pageSizeBytes
        sentPages = true
        return Double(written)
    }

    /// Splits `batch` into the pages that are all zero and the others. A page with data usually
    /// differs from zero in its first bytes, so the comparison stops early for those; a zero
    /// page is read once, at memory speed.
    private mutating func splitZeroPages(of batch: [Int]) {
        zeroPagesOfBatch.removeAll(keepingCapacity: true)
        dataPagesOfBatch.removeAll(keepingCapacity: true)
        zeroPage.withUnsafeBytes { zero in
            for page in batch {
                if memcmp(pageAddress(page), zero.baseAddress!, pageSizeBytes) == 0 {
                    zeroPagesOfBatch.append(page)
                } else {
                    dataPagesOfBatch.append(page)
                }
            }
        }
    }

    public mutating func sendDeviceState(_ state: CapturedGuestState) throws(HostFailure) {
        for (vcpu, blob) in state.vcpuStates.enumerated() {
            try send(.vcpuState(VcpuState(vcpuId: UInt32(vcpu), blob: blob)))
        }
        try send(.deviceState(state.deviceState))
        if let digest = state.memoryDigest {
            try send(.memoryDigest(digest))
            sentMemoryDigest = true
        }
    }

    /// Sends a drain mark and waits for the destination's `drained` with its number: it has
    /// read everything before it. A wait that runs out (`timeouts.drainSeconds`) is not a
    /// failure: the pause goes ahead, and a late answer is skipped where the next reply is read.
    /// No pages sent yet (an offline migration pauses first): nothing to drain, no mark.
    public mutating func drainBeforePause() throws(HostFailure) {
        guard expectsReplies, sentPages else { return }
        drainMarksSent += 1
        let mark = drainMarksSent
        let start = monotonicSeconds()
        try send(.drainMark(sequence: mark))
        let watchdog = beginWholeWait(until: start + timeouts.drainSeconds)
        defer { endWholeWait(watchdog) }
        while true {
            let record: StreamRecordView
            do {
                record = try reader.next()
            } catch {
                if BlockingSocket.isTimeout(error) { break }
                if watchdog?.fired == true {
                    throw HostFailure("\(socket.peer) trickled its answer to the drain mark past \(timeouts.drainSeconds) s (TLS: the connection was shut)")
                }
                throw error
            }
            if try isAnswer(record, to: mark) {
                lastDrainWaitSeconds = monotonicSeconds() - start
                return
            }
        }
        lastDrainWaitSeconds = nil
        lateDrainAnswers += 1
    }

    /// Skips the late answer to a mark whose wait ran out; any other `drained` (a number never
    /// sent, or more answers than late marks) is the destination breaking the protocol, and
    /// would otherwise let it hold the source in a wait by answering for ever.
    private mutating func skipLateDrainAnswer(_ sequence: UInt64) throws(HostFailure) {
        guard lateDrainAnswers > 0, sequence >= 1, sequence <= drainMarksSent else {
            throw HostFailure("the destination answered drain mark \(sequence), which was never sent or was answered already (\(drainMarksSent) sent, \(lateDrainAnswers) late)")
        }
        lateDrainAnswers -= 1
    }

    public mutating func finishStreamAndAwaitReady() throws(HostFailure) {
        try send(.endOfStream)
        if inPostcopy { return try awaitPostcopyComplete() }
        try awaitRecord(.readyToUnpause)
    }

    /// Post-copy's hand-over: the missing pages as a bitmap, then the destination's `running`
    /// (or its `abort`: it could not run the guest and released it).
    public mutating func startPostcopyAndAwaitRunning(missing: [Int], pageCount: Double) throws(HostFailure) -> ClearanceAnswer {
        guard let layout = encoder.checker.layout else { throw HostFailure("post-copy before the guest layout") }
        var bitmap = DirtyBitmap(pageCount: Int(layout.guestPages))
        for page in missing {
            guard page >= 0, page < bitmap.pageCount else { throw HostFailure("missing page \(page) is outside the guest's \(bitmap.pageCount) pages") }
            bitmap.insert(page)
        }
        try send(.postcopyStart(PostcopyMissing(count: UInt64(bitmap.count), words: bitmap.words)))
        inPostcopy = true
        if let reason = try awaitRecord(.running) { return .released(reason) }
        return .running
    }

    /// A flow-control window (`flowWindowBytes`): what 10 Gbit/s keeps in flight over this
    /// path's round trip, four times over, at least `minimum` (`EngineSettings.postcopyWindowBytes`
    /// or `compressedWindowBytes`), at most 64 MiB or `minimum`. A requested page queues behind
    /// every byte pushed and not yet placed, and a compressed batch's frame takes the
    /// destination's CPU, not the link: on a short path the sockets' own buffers (several MiB
    /// each on loopback) would hold seconds of that work, while on a long one the window keeps
    /// the sends at the link's rate.
    static func flowWindowBytes(roundTripSeconds: Double?, atLeast minimum: Int) -> Int {
        let inFlight = 4 * (roundTripSeconds ?? 0) * 1.25e9
        let floor = Double(max(minimum, 1))
        return inFlight.isFinite ? Int(min(max(inFlight, floor), max(floor, 67_108_864))) : Int(floor)
    }

    /// Waits until at most `window` bytes of pages sent are not yet written into the guest by
    /// the destination, by the `drained` answers to the marks sent after each batch.
    private mutating func awaitFlowWindow(_ window: Int) throws(HostFailure) {
        while !flowMarks.isEmpty, pageBytesSent - flowAnsweredPageBytes > window {
            let record = try reply(within: timeouts.stalledSendSeconds, silence: "wrote none of the pages sent into the guest")
            switch record {
            case .record(.drained(let sequence)): try takeDrainAnswer(sequence)
            case .record(.abort(let reason)): throw HostFailure("the destination aborted: \(reason)")
            default: throw HostFailure("the destination sent \(record.type) where \(RecordType.drained) was expected")
            }
        }
    }

    /// Whether `record` is the destination's `drained` for mark `mark`; the answer to an earlier
    /// mark (flow control's, or a drain's whose wait ran out) is taken (false); an abort or any
    /// other record is a failure.
    private mutating func isAnswer(_ record: StreamRecordView, to mark: UInt64) throws(HostFailure) -> Bool {
        switch record {
        case .record(.drained(let sequence)) where sequence == mark:
            return true
        case .record(.drained(let sequence)):
            try takeDrainAnswer(sequence)
            return false
        case .record(.abort(let reason)):
            throw HostFailure("the destination aborted: \(reason)")
        default:
            throw HostFailure("the destination sent \(record.type) where \(RecordType.drained) was expected")
        }
    }

    /// A `drained` read wherever it came: the answer to the oldest flow-control mark (they are
    /// answered in order), or else the late answer to a drain whose wait ran out.
    private mutating func takeDrainAnswer(_ sequence: UInt64) throws(HostFailure) {
        if let oldest = flowMarks.first, oldest.sequence == sequence {
            flowAnsweredPageBytes = oldest.pageBytes
            flowMarks.removeFirst()
        } else {
            try skipLateDrainAnswer(sequence)
        }
    }

    /// A mark after a batch, whose answer says the destination has written it into the guest.
    private mutating func markFlowBatch() throws(HostFailure) {
        drainMarksSent += 1
        try send(.drainMark(sequence: drainMarksSent))
        flowMarks.append((drainMarksSent, pageBytesSent))
    }

    /// Post-copy's end: the destination placed every page. With its page-wise digest, this
    /// memory (paused since the hand-over, so as it was sent) is digested the same way.
    private mutating func awaitPostcopyComplete() throws(HostFailure) {
        var record = try reply(within: timeouts.readySeconds, silence: "did not say \(RecordType.postcopyComplete)")
        // The answers to the last batches' marks come first.
        while case .record(.drained(let sequence)) = record {
            try takeDrainAnswer(sequence)
            record = try reply(within: timeouts.readySeconds, silence: "did not say \(RecordType.postcopyComplete)")
        }
        switch record {
        case .record(.postcopyComplete(let completion)):
            postcopyCompletion = completion
            if let theirs = completion.pageWiseDigest, let layout = encoder.checker.layout {
                postcopyMemoryVerified = theirs == PageWiseDigest.of(pageCount: Int(layout.guestPages), pageSizeBytes: pageSizeBytes,
                                                                      pageAddress: pageAddress)
            }
        case .record(.abort(let reason)): throw HostFailure("the destination aborted: \(reason)")
        default: throw HostFailure("the destination sent \(record.type) where \(RecordType.postcopyComplete) was expected")
        }
    }

    /// An `abort` in answer to the clearance means the destination could not run the guest and
    /// has destroyed its copy (`ReceiveSession` destroys before it reports, as
    /// `DestinationMigration` orders it): the guest is released to the source.
    public mutating func clearToRunAndAwaitRunning() throws(HostFailure) -> ClearanceAnswer {
        guard expectsReplies else { return .running }
        try send(.clearedToUnpause)
        if let reason = try awaitRecord(.running) { return .released(reason) }
        return .running
    }

    /// Waits for `expected`. An `abort` in its place is a failure, except in answer to the
    /// clearance: then it is returned (the destination's reason), since it released the guest.
    @discardableResult
    private mutating func awaitRecord(_ expected: RecordType) throws(HostFailure) -> String? {
        guard expectsReplies else {
            // A saved guest: the file holds the whole guest once it is on disk.
            if expected == .readyToUnpause { try socket.sync() }
            return nil
        }
        let seconds = expected == .running ? timeouts.runningSeconds : timeouts.readySeconds
        var record = try reply(within: seconds, silence: "did not say \(expected)")
        // The answers to flow control's last marks, or to a drain mark whose wait ran out.
        while case .record(.drained(let sequence)) = record {
            try takeDrainAnswer(sequence)
            record = try reply(within: seconds, silence: "did not say \(expected)")
        }
        if case .record(.abort(let reason)) = record {
            if expected == .running { return reason }
            throw HostFailure("the destination aborted: \(reason)")
        }
        if case .record(.running(let report)) = record {
            destinationRunningWallClockSeconds = Double(report.unpauseWallClockMicroseconds) / 1e6
            destinationPauseWork = DestinationPauseWork(stateLoadSeconds: Double(report.stateLoadMicroseconds) / 1e6,
                                                        checkSeconds: Double(report.checkMicroseconds) / 1e6,
                                                        unpauseSeconds: Double(report.unpauseMicroseconds) / 1e6)
        }
        guard record.type == expected else {
            throw HostFailure("the destination sent \(record.type) where \(expected) was expected")
        }
        return nil
    }

    /// The destination's next record, waiting up to `seconds`; a silence that long is a failure
    /// saying what the peer `silence` ("did not say running").
    private mutating func reply(within seconds: Double, silence: String) throws(HostFailure) -> StreamRecordView {
        let watchdog = beginWholeWait(until: monotonicSeconds() + seconds)
        defer { endWholeWait(watchdog) }
        do {
            return try reader.next()
        } catch {
            guard BlockingSocket.isTimeout(error) || watchdog?.fired == true else { throw error }
            throw HostFailure("\(socket.peer) \(silence) within \(seconds) s")
        }
    }

    /// Bounds the reads that follow as a whole, until `deadline` (monotonic), not each read: a
    /// destination trickling a byte at a time must not stretch a wait (under TLS a watchdog
    /// shuts the connection at the deadline). Ended by `endWholeWait`.
    private mutating func beginWholeWait(until deadline: Double) -> DeadlineWatchdog? {
        socket.setReceiveTimeout(seconds: max(deadline - monotonicSeconds(), 0.000_001))
        reader.deadline = deadline
        return DeadlineWatchdog.arm(socket, deadlineSeconds: deadline)
    }

    private mutating func endWholeWait(_ watchdog: DeadlineWatchdog?) {
        watchdog?.disarm()
        reader.deadline = nil
        socket.setReceiveTimeout(seconds: 0)
    }

    /// After a completed migration: the destination's report of the guest's first console line
    /// after the unpause (its wall-clock time and text), if it sends one within `timeoutSeconds`.
    public mutating func awaitFirstConsoleLine(timeoutSeconds: Double) -> (wallClockSeconds: Double, text: String)? {
        guard expectsReplies else { return nil }
        socket.setReceiveTimeout(seconds: timeoutSeconds)
        defer { socket.setReceiveTimeout(seconds: 0) }
        guard case .record(.firstConsoleLine(let microseconds, let text))? = try? reader.next() else { return nil }
        return (Double(microseconds) / 1e6, text)
    }

    /// Ends a throughput probe and waits (the ready timeout) for the destination's count: the
    /// page data it received and its seconds from the probe record to the end.
    public mutating func finishProbe() throws(HostFailure) -> (receivedBytes: UInt64, seconds: Double) {
        try send(.endOfStream)
        let record = try reply(within: timeouts.readySeconds, silence: "did not answer the throughput probe")
        switch record {
        case .record(.probeResult(let bytes, let microseconds)): return (bytes, Double(microseconds) / 1e6)
        case .record(.abort(let reason)): throw HostFailure("the destination refused the throughput probe: \(reason)")
        default: throw HostFailure("the destination sent \(record.type) where \(RecordType.probeResult) was expected")
        }
    }

    /// Tells the destination to give up (best effort: the connection may be gone already).
    public mutating func abort(reason: String) {
        try? send(.abort(reason: reason.prefix(utf8Bytes: StreamLimits.maxAbortReasonBytes)))
    }
}
