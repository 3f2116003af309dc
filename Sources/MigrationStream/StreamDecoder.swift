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
    /// Bytes of the current page batch's data not yet taken (after `nextItem()` gave its head).
    public private(set) var pageDataOwedBytes = 0

    public init(direction: StreamDirection) {
        checker = StreamStateChecker(direction: direction)
    }

    public var direction: StreamDirection { checker.direction }
    /// The guest layout, once its record has been decoded.
    public var guestLayout: GuestLayout? { checker.layout }
    /// Where the stream stands (see `StreamStateChecker.Phase`).
    public var phase: StreamStateChecker.Phase { checker.phase }

    /// A data stream (after `joinStream`) takes its main stream's layout to check pages against.
    public mutating func adoptLayout(_ layout: GuestLayout) { checker.adoptLayout(layout) }
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
        precondition(pageDataOwedBytes == 0, "the previous page batch's data was not all taken")
        return try failing { (decoder: inout StreamDecoder) throws(StreamError) in try decoder.decodeNext(pageDataSeparately: false) }
            .map { item in
                switch item {
                case .record(let view): view
                case .pageBatchHead: preconditionFailure("a page batch head without asking for one")
                }
            }
    }

    /// The next record, or the head of the next page batch, or nil if more bytes are needed.
    /// After a head, take its `dataBytes` of page data, buffered ones with
    /// `takeBufferedPageData(upTo:)` first, then any read past the decoder, declared with
    /// `pageDataReadDirectly(_:)`, before asking for the next item.
    public mutating func nextItem() throws(StreamError) -> StreamItem? {
        precondition(pageDataOwedBytes == 0, "the previous page batch's data was not all taken")
        return try failing { (decoder: inout StreamDecoder) throws(StreamError) in try decoder.decodeNext(pageDataSeparately: true) }
            .map { item in
                switch item {
                case .record(.pageBatch): preconditionFailure("a page batch before the guest layout passed the order check")
                case .record(.record(let record)): .record(record)
                case .pageBatchHead(let head): .pageBatchHead(head)
                }
            }
    }

    /// Up to `maxBytes` of the current page batch's data from the receive buffer, consumed. The
    /// slice shares the buffer's storage: copy it out before the next `feed(_:)`.
    public mutating func takeBufferedPageData(upTo maxBytes: Int) -> ArraySlice<UInt8> {
        let count = min(maxBytes, pageDataOwedBytes, bufferedByteCount)
        let slice = buffer[readIndex ..< readIndex + count]
        readIndex += count
        pageDataOwedBytes -= count
        return slice
    }

    /// Declares `count` bytes of the current page batch's data that the caller read from the
    /// connection itself. Only once the buffer holds none of it (else the order would break).
    public mutating func pageDataReadDirectly(_ count: Int) {
        precondition(count == 0 || bufferedByteCount == 0, "page data read past the decoder while it still buffers some")
        precondition(count <= pageDataOwedBytes, "more page data read than the batch holds")
        pageDataOwedBytes -= count
    }

    /// Runs one decoding step, making any error final.
    private mutating func failing<Result>(
        _ step: (inout StreamDecoder) throws(StreamError) -> Result
    ) throws(StreamError) -> Result {
        if let failure { throw failure }
        do throws(StreamError) {
            return try step(&self)
        } catch {
            failure = error
            throw error
        }
    }

    /// Internal result of one step: a whole record (a page batch as a view), or a page batch head.
    private enum Decoded {
        case record(StreamRecordView)
        case pageBatchHead(PageBatchHead)
    }

    /// The stream header (once), then the current record's 8-byte header, checked; nil if more
    /// bytes are needed.
    private mutating func decodeRecordHeader() throws(StreamError) -> (type: RecordType, length: Int)? {
        if !headerReceived {
            let available = buffer[readIndex...]
            try StreamHeader.checkMagicPrefix(available)
            guard available.count >= StreamHeader.sizeBytes else { return nil }
            try StreamHeader.check(buffer[readIndex ..< readIndex + StreamHeader.sizeBytes], direction: direction)
            readIndex += StreamHeader.sizeBytes
            headerReceived = true
        }
        if let pending { return pending }
        guard bufferedByteCount >= 8 else { return nil }
        let rawType = buffer.readUInt32(at: readIndex)
        let length = Int(buffer.readUInt32(at: readIndex + 4))
        guard let type = RecordType(rawValue: rawType) else { throw .unknownRecordType(rawType) }
        try checker.check(type)
        let limit = checker.maxBodyBytes(type)
        guard length <= limit else { throw .recordTooLong(type, length: length, limit: limit) }
        pending = (type, length)
        return pending
    }

    private mutating func decodeNext(pageDataSeparately: Bool) throws(StreamError) -> Decoded? {
        guard let header = try decodeRecordHeader() else { return nil }
        if pageDataSeparately, header.type == .pageBatch, let layout = checker.layout {
            return try decodePageBatchHead(bodyLength: header.length, layout: layout).map { .pageBatchHead($0) }
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
        if case .record(.roundStart(let round)) = view { try checker.checkRound(round) }
        checker.advance(past: view)
        readIndex += recordBytes
        pending = nil
        return .record(view)
    }

    /// A page batch's count and page numbers, consumed, once they are buffered; its data is
    /// left to the caller. A batch body never needs padding: page sizes are powers of two of at
    /// least `StreamLimits.minPageSizeBytes`, so the body length is a multiple of 8.
    private mutating func decodePageBatchHead(bodyLength: Int, layout: GuestLayout) throws(StreamError) -> PageBatchHead? {
        let fixed = StreamLimits.pageBatchFixedBytes
        guard bufferedByteCount >= 8 + fixed else { return nil }
        let bodyStart = readIndex + 8
        let count = try RecordBody.pageCount(.pageBatch, buffer[bodyStart ..< bodyStart + fixed], bodyLength: bodyLength, layout: layout)
        let numbersEnd = bodyStart + fixed + count * 8
        guard buffer.count >= numbersEnd else { return nil }
        let pageNumbers = try RecordBody.decodePageNumbers(buffer[bodyStart ..< numbersEnd], of: .pageBatch, layout: layout)
        checker.advance(past: .pageBatch)
        readIndex = numbersEnd
        pending = nil
        let head = PageBatchHead(pageNumbers: pageNumbers, pageSizeBytes: Int(layout.pageSizeBytes))
        pageDataOwedBytes = head.dataBytes
        return head
    }
}
