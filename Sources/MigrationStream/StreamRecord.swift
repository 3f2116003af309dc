/// One record of the stream: the guest's data (source to destination) or a control message of
/// the commit handshake. docs/stream-format.md gives each one's bytes.
public enum StreamRecord: Sendable, Equatable {
    /// Type 1: the guest's size, page size and vCPU count; first, exactly once.
    case guestLayout(GuestLayout)
    /// Type 2: guest pages with their frame numbers.
    case pageBatch(PageBatch)
    /// Type 3: one vCPU's saved registers.
    case vcpuState(VcpuState)
    /// Type 4: the saved state of the guest's devices, opaque.
    case deviceState([UInt8])
    /// Type 5: the source has sent the whole guest; only control messages follow.
    case endOfStream
    /// Type 6, optional (`migrate --verify-memory`): a digest (`MemoryDigest`) of all of the
    /// guest's memory as the source paused it; the destination computes its own over what it
    /// received and refuses to say "ready" unless they are equal.
    case memoryDigest(UInt64)
    /// Type 7, optional, before the pause: "say `drained` with this number once you have read
    /// everything before it". The source waits for it before pausing the guest, so that the
    /// paused round does not queue behind live rounds' pages still in the sockets' buffers.
    case drainMark(sequence: UInt64)
    /// Type 8 (stream version 4): guest pages whose every byte is zero, by frame number alone;
    /// the destination makes each of them read as zero. Sent instead of a `pageBatch` for such
    /// pages, wherever a page batch may come (not in a throughput probe).
    case zeroPages(ZeroPageList)
    /// Type 9 (stream version 5), main stream, once, right after `guestLayout`: the pages come
    /// on `count` data streams (`joinStream`), not on this one, which keeps the device state and
    /// the handshake. The destination answers `streamsListening` with the port they join on.
    case parallelStreams(count: UInt32)
    /// Type 10 (stream version 5), data streams only: the pages that follow belong to this round
    /// (numbers strictly increasing on each stream, sent on every data stream at each round's
    /// start). The destination applies no page of a round on any stream before every stream has
    /// come to that round's start, so a page's older copy on one stream can never land after
    /// its newer copy on another.
    case roundStart(round: UInt64)
    /// Type 11 (stream version 5): a page batch whose data is compressed (`CompressedPages`),
    /// wherever a page batch may come (not in a throughput probe).
    case compressedPages(CompressedPages)
    /// Type 16, destination to source: "I hold the whole guest, paused".
    case readyToUnpause
    /// Type 17, source to destination: "run it"; the source keeps its copy paused until `running`.
    case clearedToUnpause
    /// Type 18, destination to source: "the guest runs here"; the source may now destroy its copy.
    /// Carries the destination's wall-clock time of the unpause and its own timing of its part
    /// of the pause (`RunningReport`), so that the source can state the downtime from both
    /// sides' clocks.
    case running(RunningReport)
    /// Type 19, either direction: give up; the destination discards its copy (see the spec for
    /// when the source may resume).
    case abort(reason: String)
    /// Type 20, destination to source, optional, after `running`: the guest's first console
    /// line after the unpause and the destination's wall-clock time of it (microseconds since
    /// the epoch), so that the source can state the guest-visible gap (its last line before the
    /// pause to this one). Not sent if the guest printed nothing soon after the unpause.
    case firstConsoleLine(destinationWallClockMicroseconds: UInt64, text: String)
    /// Type 21, destination to source, first: a fresh random nonce for this connection.
    case challenge(nonce: [UInt8])
    /// Type 22, source to destination, first: the destination's nonce, sent back. A stream
    /// recorded earlier carries an old nonce, so a replay is refused before the guest layout.
    case challengeEcho(nonce: [UInt8])
    /// Type 23, source to destination, instead of a guest layout: "what is the state of the
    /// guest of this name here, and did the migration with this nonce (the challenge of its
    /// connection) commit here?" Ends the stream.
    case queryGuest(name: String, migrationNonce: [UInt8])
    /// Type 24, destination to source: the answer to `queryGuest`. Ends the stream.
    case guestState(GuestPresence)
    /// Type 25, source to destination, instead of a guest layout (`livemig calibrate
    /// --destination`): "page batches of at most `bytes` of data follow, numbered as pages of a
    /// guest of that size (`StreamLimits.probeLayout`); count them, drop them, and say how long
    /// they took". `endOfStream` ends them and the stream. No guest is made.
    case throughputProbe(bytes: UInt64)
    /// Type 26, destination to source: the answer to `throughputProbe`: the page data that
    /// arrived and the destination's time from the probe record to `endOfStream`, in
    /// microseconds. Ends the stream.
    case probeResult(receivedBytes: UInt64, receiveMicroseconds: UInt64)
    /// Type 27, destination to source, before `readyToUnpause`: the answer to the `drainMark`
    /// with this number: everything before it has been read.
    case drained(sequence: UInt64)
    /// Type 28 (stream version 5), source to destination, instead of a guest layout, on a
    /// connection to the port `streamsListening` named: "this is data stream `index` of the
    /// migration whose main connection's challenge was `migrationNonce`". Then only
    /// `roundStart`, `pageBatch`, `zeroPages`, `drainMark` and `endOfStream` (which ends it).
    case joinStream(migrationNonce: [UInt8], index: UInt32)
    /// Type 29 (stream version 5), destination to source, once, in answer to `parallelStreams`:
    /// the port on the same address where the data streams are to connect.
    case streamsListening(port: UInt16)
    /// Type 12 (stream version 6), main stream, after the device state: post-copy's hand-over.
    /// "Run the guest now without these pages; they follow, the ones you ask for first." From
    /// here only `pageBatch`, `zeroPages` (of missing pages), `endOfStream` and `abort` follow.
    case postcopyStart(PostcopyMissing)
    /// Type 13 (stream version 6), main stream, once, after `guestLayout` and before any page: "open
    /// a return path for page requests". Answered with `streamsListening`; the source then joins
    /// it (`joinReturnPath`). Not with `parallelStreams`.
    case returnPath
    /// Type 30 (stream version 6), source to destination, instead of a guest layout, on a connection
    /// to the port `streamsListening` named after `returnPath`: "this is the return path of the
    /// migration whose main connection's challenge was `migrationNonce`". Ends that direction;
    /// the destination then sends `pageRequest`s on it.
    case joinReturnPath(migrationNonce: [UInt8])
    /// Type 31 (stream version 6), destination to source, on the return path: "the running guest
    /// waits for these pages" (1...`StreamLimits.maxBatchPages`, any order; the source checks them
    /// against the guest, this stream has no layout).
    case pageRequest(pages: [UInt64])
    /// Type 32 (stream version 6), destination to source, main stream, after `running` in post-copy:
    /// every missing page is placed (`PostcopyCompletion`). Only `firstConsoleLine` may follow.
    case postcopyComplete(PostcopyCompletion)

    /// This record's type number.
    public var type: RecordType {
        switch self {
        case .guestLayout: .guestLayout
        case .pageBatch: .pageBatch
        case .vcpuState: .vcpuState
        case .deviceState: .deviceState
        case .endOfStream: .endOfStream
        case .memoryDigest: .memoryDigest
        case .drainMark: .drainMark
        case .zeroPages: .zeroPages
        case .drained: .drained
        case .parallelStreams: .parallelStreams
        case .roundStart: .roundStart
        case .compressedPages: .compressedPages
        case .joinStream: .joinStream
        case .streamsListening: .streamsListening
        case .postcopyStart: .postcopyStart
        case .returnPath: .returnPath
        case .joinReturnPath: .joinReturnPath
        case .pageRequest: .pageRequest
        case .postcopyComplete: .postcopyComplete
        case .readyToUnpause: .readyToUnpause
        case .clearedToUnpause: .clearedToUnpause
        case .running: .running
        case .abort: .abort
        case .firstConsoleLine: .firstConsoleLine
        case .challenge: .challenge
        case .challengeEcho: .challengeEcho
        case .queryGuest: .queryGuest
        case .guestState: .guestState
        case .throughputProbe: .throughputProbe
        case .probeResult: .probeResult
        }
    }
}

/// A decoded record as `StreamDecoder.nextRecordView()` returns it: page batches keep their data
/// in the receive buffer; every other record is complete.
public enum StreamRecordView: Sendable, Equatable {
    case pageBatch(PageBatchView)
    case record(StreamRecord)

    /// The record itself, copying a page batch's data out of the receive buffer.
    public var record: StreamRecord {
        switch self {
        case .pageBatch(let view): .pageBatch(PageBatch(view))
        case .record(let record): record
        }
    }

    /// The record's type number.
    public var type: RecordType {
        switch self {
        case .pageBatch: .pageBatch
        case .record(let record): record.type
        }
    }
}
