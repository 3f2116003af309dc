/// Reads one direction of the stream incrementally: `feed(_:)` whatever bytes arrived, then call
/// `nextRecord()` (or `nextRecordView()`) until it returns nil, which means "more bytes needed".
/// Records may be split at any byte. It checks the header first, then each record's type, order
/// and length from its 8-byte header alone, before waiting for the body, so the buffer never
/// holds more than one bounded record plus what the caller fed. Any error is final: later calls
/// throw it again and fed bytes are dropped.
public struct StreamDecoder: Sendable {
    /// The order rules and, once received, the guest layout.
    public private(set) var checker: StreamStateChecker
    /// Whether the 16-byte header has been read and accepted.
    public private(set) var headerReceived = false

    private var buffer: [UInt8] = []
    /// Offset in `buffer` of the first byte not yet consumed.
    private var readIndex = 0
    /// The current record's header, once accepted, while its body is still arriving.
    private var pending: (type: RecordType, length: Int)?
    private var failure: StreamError?

    public init(direction: StreamDirection) {
        checker = StreamStateChecker(direction: direction)
    }

    public var direction: StreamDirection { checker.direction }
    /// The guest layout, once its record has been decoded.
    public var guestLayout: GuestLayout? { checker.layout }
    /// Where the stream stands (see `StreamStateChecker.Phase`).
    public var phase: StreamStateChecker.Phase { checker.phase }
    /// Bytes fed but not yet consumed by a returned record: 0 at a record boundary. A
    /// connection that closes with bytes here ended mid-record.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Adds received bytes. Cheap: it appends, after dropping consumed bytes when they are at
    /// least as many as the unconsumed ones (so each byte is moved at most a few times).
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        guard failure == nil else { return }
        if readIndex > 0, readIndex >= buffer.count - readIndex {
            if readIndex == buffer.count {
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.removeSubrange(0 ..< readIndex)
            }
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete record, or nil if more bytes are needed. Page data is copied out of the
    /// receive buffer; `nextRecordView()` avoids that copy.
    public mutating func nextRecord() throws(StreamError) -> StreamRecord? {
        try nextRecordView()?.record
    }

    /// The next complete record, or nil if more bytes are needed. A page batch comes as a view
    /// whose data is a slice of the receive buffer (no copy).
    public mutating func nextRecordView() throws(StreamError) -> StreamRecordView? {
        if let failure { throw failure }
        do throws(StreamError) {
            return try decodeNext()
        } catch {
            failure = error
            throw error
        }
    }

    private mutating func decodeNext() throws(StreamError) -> StreamRecordView? {
        if !headerReceived {
            let available = buffer[readIndex...]
            try StreamHeader.checkMagicPrefix(available)
            guard available.count >= StreamHeader.sizeBytes else { return nil }
            try StreamHeader.check(buffer[readIndex ..< readIndex + StreamHeader.sizeBytes])
            readIndex += StreamHeader.sizeBytes
            headerReceived = true
        }
        let header: (type: RecordType, length: Int)
        if let pending {
            header = pending
        } else {
            guard bufferedByteCount >= 8 else { return nil }
            let rawType = buffer.readUInt32(at: readIndex)
            let length = Int(buffer.readUInt32(at: readIndex + 4))
            guard let type = RecordType(rawValue: rawType) else { throw .unknownRecordType(rawType) }
            try checker.check(type)
            let limit = checker.maxBodyBytes(type)
            guard length <= limit else { throw .recordTooLong(type, length: length, limit: limit) }
            header = (type, length)
            pending = header
        }
        let padding = paddingBytes(forBodyLength: header.length)
        let recordBytes = 8 + header.length + padding
        guard bufferedByteCount >= recordBytes else { return nil }
        let bodyStart = readIndex + 8
        let bodyEnd = bodyStart + header.length
        for index in bodyEnd ..< bodyEnd + padding where buffer[index] != 0 {
            throw .nonZeroPadding(header.type)
        }
        let view = try RecordBody.decode(header.type, body: buffer[bodyStart ..< bodyEnd], layout: checker.layout)
        checker.advance(past: view)
        readIndex += recordBytes
        pending = nil
        return view
    }
}
