/// The order rules of one direction of the stream, shared by the encoder (so it never writes a
/// stream the decoder refuses) and the decoder. docs/stream-format.md, "Record order".
///
/// Source to destination: `guestLayout`, then any mix of `pageBatch`, `zeroPages`, `vcpuState`,
/// `deviceState`, `memoryDigest` and `drainMark`, then `endOfStream`, then `clearedToUnpause`. `abort` may come at any point
/// before `clearedToUnpause`; `abort` and `clearedToUnpause` end the stream.
///
/// With parallel streams (version 5): `parallelStreams` right after `guestLayout`, before any
/// page record, on the main stream; each data stream is `joinStream`, then any mix of
/// `roundStart` (strictly increasing), `pageBatch`, `zeroPages` and `drainMark`, then
/// `endOfStream`, which ends it. `roundStart` comes on data streams only.
///
/// A throughput probe (source to destination) is `throughputProbe`, then `pageBatch`es (never
/// `zeroPages`: a probe measures data), then `endOfStream`, which ends it; the destination
/// answers `probeResult`, which ends its stream.
///
/// Post-copy (version 6): `returnPath` once, after `guestLayout` and before any page (not with
/// `parallelStreams`); `postcopyStart` after the device state moves the source stream into
/// post-copy, where only `pageBatch`, `zeroPages`, `drainMark` (any number: flow control, each
/// answered by a `drained`), `abort` and `endOfStream` (which ends it) may come. The return path's source stream is `joinReturnPath` alone (it ends it); its destination
/// stream is any number of `pageRequest`s. On the main destination stream, `running` before
/// `readyToUnpause` is post-copy's, and `postcopyComplete` must follow it (then `firstConsoleLine`).
///
/// Drain marks on a source or data stream: at most 64 (`StreamLimits.maxDrainMarks`) beyond
/// one per page record before them (a compressing stream's flow control marks every batch).
///
/// Destination to source: any number of `drained` (the source checks each against the marks it
/// sent), then `readyToUnpause`, then `running`, then perhaps `firstConsoleLine`.
/// `abort` may come at any point before `running`; `abort` and `firstConsoleLine` end the
/// stream, and so does closing it after `running`.
public struct StreamStateChecker: Sendable {
    public enum Phase: Sendable, Equatable {
        /// Source stream: nothing yet; the guest layout must come first.
        case awaitingLayout
        /// Source stream: the layout is known; data records may come.
        case sendingGuest
        /// Source stream: endOfStream came; only clearedToUnpause or abort may follow.
        case ended
        /// Source stream: a throughput probe; its page batches may come, and endOfStream.
        case probing
        /// Source stream: a data stream of a parallel migration (after `joinStream`).
        case dataStream
        /// Destination stream: nothing yet.
        case receiving
        /// Destination stream: readyToUnpause came; running or abort may follow.
        case ready
        /// Destination stream: running came; only firstConsoleLine may follow.
        case guestRunning
        /// Source stream: postcopyStart came; missing pages, endOfStream (which ends it) or abort.
        case postcopy
        /// Destination stream: running came before ready (post-copy); postcopyComplete or abort next.
        case postcopyRunning
        /// Either stream: this record ended it; nothing may follow.
        case closed(by: RecordType)
    }

    public let direction: StreamDirection
    public private(set) var phase: Phase
    /// Records passed so far: a challenge (or its echo) may only be the first.
    private var recordsPassed = 0
    /// Drain marks passed so far, and page records (`pageBatch`, `compressedPages`,
    /// `zeroPages`): marks may be at most `StreamLimits.maxDrainMarks` more than page records.
    private var drainRecordsPassed = 0
    private var pageRecordsPassed = 0
    /// The guest layout, once its record has passed (a throughput probe's, `StreamLimits.probeLayout`;
    /// a data stream's, adopted from its main stream).
    public private(set) var layout: GuestLayout?
    /// Main stream: `parallelStreams` has passed.
    private var parallelStreamsPassed = false
    /// Destination stream: `streamsListening` has passed.
    private var streamsListeningPassed = false
    /// Main stream: `returnPath` has passed.
    private var returnPathPassed = false
    /// Data stream: the last `roundStart`'s number.
    public private(set) var round: UInt64?

    public init(direction: StreamDirection) {
        self.direction = direction
        phase = direction == .sourceToDestination ? .awaitingLayout : .receiving
    }

    /// Throws if a record of `type` may not come next. Needs only the type, so the decoder can
    /// refuse a record from its 8-byte header alone.
    public func check(_ type: RecordType) throws(StreamError) {
        guard type.isAllowed(in: direction) else { throw .wrongDirection(type, direction) }
        if case .closed(let closer) = phase { throw .recordAfterClose(type, closedBy: closer) }
        switch (phase, type) {
        case (.guestRunning, .abort):
            throw .recordAfterClose(type, closedBy: .running)
        case (_, .abort):
            return
        case (.awaitingLayout, .challengeEcho), (.receiving, .challenge):
            guard recordsPassed == 0 else { throw .duplicateRecord(type) }
            return
        case (.awaitingLayout, .queryGuest), (.receiving, .guestState), (.awaitingLayout, .throughputProbe), (.receiving, .probeResult):
            return
        case (.probing, .pageBatch), (.probing, .endOfStream):
            return
        case (.awaitingLayout, .joinStream), (.dataStream, .roundStart), (.dataStream, .pageBatch), (.dataStream, .zeroPages),
             (.dataStream, .compressedPages), (.dataStream, .endOfStream), (.sendingGuest, .compressedPages):
            return
        case (.sendingGuest, .parallelStreams):
            guard !parallelStreamsPassed else { throw .duplicateRecord(type) }
            guard pageRecordsPassed == 0 else { throw .parallelStreamsAfterPages }
            guard !returnPathPassed else { throw .returnPathMisplaced }
            return
        case (.sendingGuest, .returnPath):
            guard !returnPathPassed else { throw .duplicateRecord(type) }
            guard pageRecordsPassed == 0, !parallelStreamsPassed else { throw .returnPathMisplaced }
            return
        case (.sendingGuest, .postcopyStart), (.awaitingLayout, .joinReturnPath), (.receiving, .pageRequest),
             (.postcopy, .pageBatch), (.postcopy, .zeroPages), (.postcopy, .endOfStream), (.postcopyRunning, .postcopyComplete):
            return
        case (.postcopy, .drainMark), (.postcopyRunning, .drained):
            // Post-copy's flow control (a mark per batch, answered as it is read): no limit.
            return
        case (.postcopy, _):
            throw .notInPostcopy(type)
        case (.receiving, .postcopyComplete):
            throw .recordTooEarly(type, needs: .running)
        case (.postcopyRunning, _):
            throw .recordTooEarly(type, needs: .postcopyComplete)
        case (.receiving, .streamsListening):
            guard !streamsListeningPassed else { throw .duplicateRecord(type) }
            return
        case (.sendingGuest, .drainMark), (.dataStream, .drainMark):
            // A mark per batch (flow control) and a few more (drains before the pause): a
            // source that sent marks without pages would keep the receiver answering.
            guard drainRecordsPassed < StreamLimits.maxDrainMarks + pageRecordsPassed else {
                throw .tooManyRecords(type, limit: StreamLimits.maxDrainMarks)
            }
            return
        case (.receiving, .drained):
            // Each answer is checked by the source against the marks it sent.
            return
        case (.probing, _):
            throw .notInProbe(type)
        case (.dataStream, _):
            throw .notInDataStream(type)
        case (.sendingGuest, .roundStart):
            throw .onlyOnDataStreams(type)
        case (.awaitingLayout, .guestLayout), (.sendingGuest, .pageBatch), (.sendingGuest, .zeroPages), (.sendingGuest, .vcpuState),
             (.sendingGuest, .deviceState), (.sendingGuest, .memoryDigest), (.sendingGuest, .endOfStream), (.ended, .clearedToUnpause),
             (.receiving, .readyToUnpause), (.ready, .running), (.guestRunning, .firstConsoleLine):
            return
        case (.awaitingLayout, .clearedToUnpause), (.sendingGuest, .clearedToUnpause):
            throw .recordTooEarly(type, needs: .endOfStream)
        case (.awaitingLayout, _):
            throw .missingGuestLayout(type)
        case (.sendingGuest, .guestLayout), (.sendingGuest, .joinStream), (.sendingGuest, .joinReturnPath):
            throw .duplicateRecord(type)
        case (.ended, _):
            throw .recordAfterEndOfStream(type)
        case (.receiving, .running):
            // Running before ready is post-copy's hand-over answered.
            return
        case (.ready, .readyToUnpause), (.guestRunning, .running):
            throw .duplicateRecord(type)
        case (.ready, .drained):
            throw .recordAfterReady(type)
        case (.receiving, .firstConsoleLine), (.ready, .firstConsoleLine):
            throw .recordTooEarly(type, needs: .running)
        case (.guestRunning, _):
            throw .recordAfterClose(type, closedBy: .running)
        default:
            // Unreachable: the direction check above leaves no other pair.
            throw .wrongDirection(type, direction)
        }
    }

    /// Throws unless a `roundStart` numbered `round` may come next: above the stream's last one.
    public func checkRound(_ next: UInt64) throws(StreamError) {
        if let round, next <= round { throw .roundNotIncreasing(previous: round, next: next) }
    }

    /// A data stream takes its main stream's guest layout (which it never carries itself), so
    /// that its page records can be checked against it. Only once, on a data stream.
    public mutating func adoptLayout(_ layout: GuestLayout) {
        precondition(phase == .dataStream && self.layout == nil, "only a data stream adopts a layout, once")
        self.layout = layout
    }

    /// The largest body a record of `type` may declare now (a pageBatch's needs the layout).
    public func maxBodyBytes(_ type: RecordType) -> Int {
        if type == .postcopyStart, let layout { return PostcopyMissing.bodyBytes(guestPages: layout.guestPages) }
        return StreamLimits.maxBodyBytes(type, pageSizeBytes: layout.map { Int($0.pageSizeBytes) })
    }

    /// Moves past a record that `check` accepted and whose body was valid.
    public mutating func advance(past record: StreamRecord) {
        advance(past: record.type)
        if case .guestLayout(let layout) = record { self.layout = layout }
        if case .throughputProbe(let bytes) = record { layout = StreamLimits.probeLayout(bytes: bytes) }
        if case .roundStart(let number) = record { round = number }
    }

    /// Moves past a decoded record that `check` accepted and whose body was valid.
    mutating func advance(past view: StreamRecordView) {
        switch view {
        case .pageBatch: advance(past: .pageBatch)
        case .record(let record): advance(past: record)
        }
    }

    /// Moves past a record of `type` that `check` accepted; a guestLayout goes through
    /// `advance(past:)` with the record, so the layout is kept.
    mutating func advance(past type: RecordType) {
        recordsPassed += 1
        switch type {
        case .guestLayout: phase = .sendingGuest
        case .throughputProbe: phase = .probing
        case .endOfStream: phase = phase == .probing || phase == .dataStream || phase == .postcopy ? .closed(by: .endOfStream) : .ended
        case .joinStream: phase = .dataStream
        case .parallelStreams: parallelStreamsPassed = true
        case .streamsListening: streamsListeningPassed = true
        case .pageBatch, .zeroPages, .compressedPages: pageRecordsPassed += 1
        case .readyToUnpause: phase = .ready
        case .running: phase = phase == .receiving ? .postcopyRunning : .guestRunning
        case .postcopyStart: phase = .postcopy
        case .postcopyComplete: phase = .guestRunning
        case .returnPath: returnPathPassed = true
        case .joinReturnPath: phase = .closed(by: .joinReturnPath)
        case .pageRequest: break
        case .abort, .clearedToUnpause, .firstConsoleLine, .queryGuest, .guestState, .probeResult: phase = .closed(by: type)
        case .drainMark, .drained: drainRecordsPassed += 1
        case .vcpuState, .deviceState, .memoryDigest, .challenge, .challengeEcho, .roundStart: break
        }
    }
}
