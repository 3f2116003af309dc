/// The body of each record type: how the encoder lays it out and how the decoder reads and checks
/// it. Lengths here are body lengths without padding, as the length field carries them.
enum RecordBody {
    /// Appends a record header: type and body length.
    static func appendHeader(_ type: RecordType, length: Int, into buffer: inout [UInt8]) {
        buffer.appendLittleEndian(type.rawValue)
        buffer.appendLittleEndian(UInt32(length))
    }

    // MARK: Encoding checks (the decoder applies the same rules to the bytes)

    /// Throws if `pageNumbers` cannot form a record of `type` (pageBatch or zeroPages) of this
    /// guest; returns the page count.
    static func checkPageNumbers(_ pageNumbers: some Collection<UInt64>, of type: RecordType, layout: GuestLayout) throws(StreamError) -> Int {
        let count = pageNumbers.count
        let limit = maxPages(type, layout: layout)
        guard (1 ... limit).contains(count) else { throw .pageCountOutOfRange(type, count: count, limit: limit) }
        var order = PageNumberOrder(type, layout: layout)
        for page in pageNumbers { try order.check(page) }
        return count
    }

    /// The rule for each page number of a pageBatch or zeroPages, taken one at a time in the
    /// record's order: below the guest's page count and above the one before.
    struct PageNumberOrder {
        let type: RecordType
        let guestPages: UInt64
        private var previous: UInt64?

        init(_ type: RecordType, layout: GuestLayout) {
            self.type = type
            guestPages = layout.guestPages
        }

        mutating func check(_ page: UInt64) throws(StreamError) {
            guard page < guestPages else { throw .pageNumberOutOfRange(type, pageNumber: page, guestPages: guestPages) }
            if let previous, page <= previous { throw .pageNumbersNotAscending(type, previous: previous, next: page) }
            previous = page
        }
    }

    /// Most pages one record of `type` may list: a page batch's limit shrinks with large pages
    /// (its data must fit `maxBatchDataBytes`); a zeroPages list carries no data, so its limit
    /// is `maxBatchPages` whatever the page size.
    /// Body length of a compressedPages record of `count` pages and a frame of `frameBytes`.
    static func compressedPagesLength(count: Int, frameBytes: Int) -> Int {
        StreamLimits.pageBatchFixedBytes + count * 8 + frameBytes
    }

    static func maxPages(_ type: RecordType, layout: GuestLayout) -> Int {
        type == .zeroPages ? StreamLimits.maxBatchPages : StreamLimits.maxBatchPages(pageSizeBytes: Int(layout.pageSizeBytes))
    }

    /// Body length of a page batch of `count` pages.
    static func pageBatchLength(count: Int, pageSizeBytes: Int) -> Int {
        StreamLimits.pageBatchFixedBytes + count * (8 + pageSizeBytes)
    }

    /// Body length of a zeroPages list of `count` pages: a page batch's head without data.
    static func zeroPagesLength(count: Int) -> Int {
        StreamLimits.pageBatchFixedBytes + count * 8
    }

    // MARK: Decoding

    /// Reads and checks the body of a record whose header the state checker already accepted.
    /// `body` is a slice of the receive buffer; a page batch's data stays a slice of it.
    static func decode(_ type: RecordType, body: ArraySlice<UInt8>, layout: GuestLayout?) throws(StreamError) -> StreamRecordView {
        switch type {
        case .guestLayout:
            return .record(.guestLayout(try decodeGuestLayout(body)))
        case .pageBatch:
            // The checker refuses a pageBatch before the layout, so it is there.
            guard let layout else { throw .missingGuestLayout(.pageBatch) }
            return .pageBatch(try decodePageBatch(body, layout: layout))
        case .compressedPages:
            guard let layout else { throw .missingGuestLayout(.compressedPages) }
            return .record(.compressedPages(try decodeCompressedPages(body, layout: layout)))
        case .zeroPages:
            guard let layout else { throw .missingGuestLayout(.zeroPages) }
            _ = try pageCount(.zeroPages, body, bodyLength: body.count, layout: layout)
            return .record(.zeroPages(ZeroPageList(pageNumbers: try decodePageNumbers(body, of: .zeroPages, layout: layout))))
        case .vcpuState:
            guard let layout else { throw .missingGuestLayout(.vcpuState) }
            return .record(.vcpuState(try decodeVcpuState(body, layout: layout)))
        case .deviceState:
            return .record(.deviceState(Array(body)))
        case .abort:
            return .record(.abort(reason: try text(body, record: .abort, field: "reason")))
        case .endOfStream:
            return .record(.endOfStream)
        case .readyToUnpause:
            return .record(.readyToUnpause)
        case .clearedToUnpause:
            return .record(.clearedToUnpause)
        case .memoryDigest:
            guard body.count == StreamLimits.memoryDigestBytes else {
                throw .recordLengthMismatch(.memoryDigest, length: body.count, expected: StreamLimits.memoryDigestBytes)
            }
            return .record(.memoryDigest(body.readUInt64(at: body.startIndex)))
        case .drainMark, .drained:
            guard body.count == StreamLimits.drainSequenceBytes else {
                throw .recordLengthMismatch(type, length: body.count, expected: StreamLimits.drainSequenceBytes)
            }
            let sequence = body.readUInt64(at: body.startIndex)
            return .record(type == .drainMark ? .drainMark(sequence: sequence) : .drained(sequence: sequence))
        case .running:
            guard body.count == StreamLimits.runningBytes else {
                throw .recordLengthMismatch(.running, length: body.count, expected: StreamLimits.runningBytes)
            }
            return .record(.running(RunningReport(body: body)))
        case .firstConsoleLine:
            let fixed = StreamLimits.firstConsoleLineFixedBytes
            guard body.count >= fixed else { throw .recordLengthMismatch(.firstConsoleLine, length: body.count, expected: fixed) }
            let text = try text(body[(body.startIndex + fixed)...], record: .firstConsoleLine, field: "text")
            return .record(.firstConsoleLine(destinationWallClockMicroseconds: body.readUInt64(at: body.startIndex), text: text))
        case .challenge, .challengeEcho:
            guard body.count == StreamLimits.challengeNonceBytes else {
                throw .recordLengthMismatch(type, length: body.count, expected: StreamLimits.challengeNonceBytes)
            }
            return .record(type == .challenge ? .challenge(nonce: Array(body)) : .challengeEcho(nonce: Array(body)))
        case .queryGuest:
            let fixed = StreamLimits.challengeNonceBytes
            guard body.count > fixed else { throw .recordLengthMismatch(.queryGuest, length: body.count, expected: fixed + 1) }
            let name = try text(body[(body.startIndex + fixed)...], record: .queryGuest, field: "name")
            return .record(.queryGuest(name: name, migrationNonce: Array(body.prefix(fixed))))
        case .guestState:
            guard body.count == StreamLimits.guestStateBytes else {
                throw .recordLengthMismatch(.guestState, length: body.count, expected: StreamLimits.guestStateBytes)
            }
            let raw = body.readUInt32(at: body.startIndex)
            guard body.readUInt32(at: body.startIndex + 4) == 0 else { throw .nonZeroReserved(.guestState, field: "reserved") }
            guard let presence = GuestPresence(rawValue: raw) else { throw .unknownGuestState(raw) }
            return .record(.guestState(presence))
        case .throughputProbe:
            guard body.count == StreamLimits.throughputProbeBytes else {
                throw .recordLengthMismatch(.throughputProbe, length: body.count, expected: StreamLimits.throughputProbeBytes)
            }
            let bytes = body.readUInt64(at: body.startIndex)
            try StreamLimits.validateProbe(bytes: bytes)
            return .record(.throughputProbe(bytes: bytes))
        case .probeResult:
            guard body.count == StreamLimits.probeResultBytes else {
                throw .recordLengthMismatch(.probeResult, length: body.count, expected: StreamLimits.probeResultBytes)
            }
            return .record(.probeResult(receivedBytes: body.readUInt64(at: body.startIndex),
                                        receiveMicroseconds: body.readUInt64(at: body.startIndex + 8)))
        case .parallelStreams, .streamsListening:
            guard body.count == StreamLimits.wordAndReservedBytes else {
                throw .recordLengthMismatch(type, length: body.count, expected: StreamLimits.wordAndReservedBytes)
            }
            let value = body.readUInt32(at: body.startIndex)
            guard body.readUInt32(at: body.startIndex + 4) == 0 else { throw .nonZeroReserved(type, field: "reserved") }
            if type == .parallelStreams {
                try StreamLimits.validateParallelStreams(count: value)
                return .record(.parallelStreams(count: value))
            }
            guard value > 0, value <= UInt32(UInt16.max) else { throw .invalidStreamPort }
            return .record(.streamsListening(port: UInt16(value)))
        case .roundStart:
            guard body.count == StreamLimits.roundStartBytes else {
                throw .recordLengthMismatch(.roundStart, length: body.count, expected: StreamLimits.roundStartBytes)
            }
            return .record(.roundStart(round: body.readUInt64(at: body.startIndex)))
        case .joinStream:
            guard body.count == StreamLimits.joinStreamBytes else {
                throw .recordLengthMismatch(.joinStream, length: body.count, expected: StreamLimits.joinStreamBytes)
            }
            let fixed = StreamLimits.challengeNonceBytes
            guard body.readUInt32(at: body.startIndex + fixed + 4) == 0 else { throw .nonZeroReserved(.joinStream, field: "reserved") }
            return .record(.joinStream(migrationNonce: Array(body.prefix(fixed)), index: body.readUInt32(at: body.startIndex + fixed)))
        case .postcopyStart:
            guard let layout else { throw .missingGuestLayout(.postcopyStart) }
            let expected = PostcopyMissing.bodyBytes(guestPages: layout.guestPages)
            guard body.count == expected else { throw .recordLengthMismatch(.postcopyStart, length: body.count, expected: expected) }
            let words = stride(from: body.startIndex + 8, to: body.endIndex, by: 8).map { body.readUInt64(at: $0) }
            let missing = PostcopyMissing(count: body.readUInt64(at: body.startIndex), words: words)
            try missing.validate(guestPages: layout.guestPages)
            return .record(.postcopyStart(missing))
        case .returnPath:
            return .record(.returnPath)
        case .joinReturnPath:
            guard body.count == StreamLimits.challengeNonceBytes else {
                throw .recordLengthMismatch(.joinReturnPath, length: body.count, expected: StreamLimits.challengeNonceBytes)
            }
            return .record(.joinReturnPath(migrationNonce: Array(body)))
        case .pageRequest:
            let fixed = StreamLimits.pageBatchFixedBytes
            guard body.count >= fixed else { throw .recordLengthMismatch(.pageRequest, length: body.count, expected: fixed) }
            let count = Int(body.readUInt32(at: body.startIndex))
            guard (1 ... StreamLimits.maxBatchPages).contains(count) else {
                throw .pageCountOutOfRange(.pageRequest, count: count, limit: StreamLimits.maxBatchPages)
            }
            guard body.readUInt32(at: body.startIndex + 4) == 0 else { throw .nonZeroReserved(.pageRequest, field: "reserved") }
            guard body.count == fixed + count * 8 else {
                throw .recordLengthMismatch(.pageRequest, length: body.count, expected: fixed + count * 8)
            }
            return .record(.pageRequest(pages: stride(from: body.startIndex + fixed, to: body.endIndex, by: 8).map { body.readUInt64(at: $0) }))
        case .postcopyComplete:
            return .record(.postcopyComplete(try PostcopyCompletion.decode(body)))
        }
    }

    private static func decodeGuestLayout(_ body: ArraySlice<UInt8>) throws(StreamError) -> GuestLayout {
        let fixed = StreamLimits.guestLayoutFixedBytes
        guard body.count >= fixed else { throw .recordLengthMismatch(.guestLayout, length: body.count, expected: fixed) }
        let start = body.startIndex
        let memoryBytes = body.readUInt64(at: start)
        let pageSizeBytes = body.readUInt32(at: start + 8)
        let vcpuCount = body.readUInt32(at: start + 12)
        let nameBytes = Int(body.readUInt32(at: start + 16))
        let workloadBytes = Int(body.readUInt32(at: start + 20))
        guard nameBytes <= StreamLimits.maxGuestNameBytes else {
            throw .textTooLong(.guestLayout, field: "name", bytes: nameBytes, limit: StreamLimits.maxGuestNameBytes)
        }
        guard workloadBytes <= StreamLimits.maxWorkloadBytes else {
            throw .textTooLong(.guestLayout, field: "workload", bytes: workloadBytes, limit: StreamLimits.maxWorkloadBytes)
        }
        let expected = fixed + nameBytes + workloadBytes
        guard body.count == expected else { throw .recordLengthMismatch(.guestLayout, length: body.count, expected: expected) }
        let nameStart = start + fixed
        let name = try text(body[nameStart ..< nameStart + nameBytes], record: .guestLayout, field: "name")
        let workload = try text(body[(nameStart + nameBytes)...], record: .guestLayout, field: "workload")
        let layout = GuestLayout(
            name: name, memoryBytes: memoryBytes, pageSizeBytes: pageSizeBytes, vcpuCount: vcpuCount, workload: workload
        )
        try layout.validate()
        return layout
    }

    private static func decodePageBatch(_ body: ArraySlice<UInt8>, layout: GuestLayout) throws(StreamError) -> PageBatchView {
        let count = try pageCount(.pageBatch, body, bodyLength: body.count, layout: layout)
        let numbersEnd = body.startIndex + StreamLimits.pageBatchFixedBytes + count * 8
        let pageNumbers = try decodePageNumbers(body[..<numbersEnd], of: .pageBatch, layout: layout)
        return PageBatchView(pageNumbers: pageNumbers, data: body[numbersEnd...], pageSizeBytes: Int(layout.pageSizeBytes))
    }

    /// The page count of a pageBatch or zeroPages (`type`) from its first `pageBatchFixedBytes`
    /// body bytes, checked against the limits and against the record's declared body length.
    static func pageCount(_ type: RecordType, _ fixed: ArraySlice<UInt8>, bodyLength: Int, layout: GuestLayout) throws(StreamError) -> Int {
        let fixedBytes = StreamLimits.pageBatchFixedBytes
        guard bodyLength >= fixedBytes, fixed.count >= fixedBytes else {
            throw .recordLengthMismatch(type, length: bodyLength, expected: fixedBytes)
        }
        let start = fixed.startIndex
        let count = Int(fixed.readUInt32(at: start))
        let limit = maxPages(type, layout: layout)
        guard (1 ... limit).contains(count) else { throw .pageCountOutOfRange(type, count: count, limit: limit) }
        guard fixed.readUInt32(at: start + 4) == 0 else { throw .nonZeroReserved(type, field: "reserved") }
        let expected = type == .zeroPages
            ? zeroPagesLength(count: count) : pageBatchLength(count: count, pageSizeBytes: Int(layout.pageSizeBytes))
        guard bodyLength == expected else { throw .recordLengthMismatch(type, length: bodyLength, expected: expected) }
        return count
    }

    /// The page numbers of a pageBatch or zeroPages (`type`) whose count `pageCount` accepted:
    /// `head` is the body from its start to the end of the page numbers. Each must be below the
    /// guest's page count and above the one before.
    static func decodePageNumbers(_ head: ArraySlice<UInt8>, of type: RecordType, layout: GuestLayout) throws(StreamError) -> [UInt64] {
        let count = (head.count - StreamLimits.pageBatchFixedBytes) / 8
        var order = PageNumberOrder(type, layout: layout)
        var pageNumbers = [UInt64]()
        pageNumbers.reserveCapacity(count)
        var offset = head.startIndex + StreamLimits.pageBatchFixedBytes
        for _ in 0 ..< count {
            let page = head.readUInt64(at: offset)
            try order.check(page)
            pageNumbers.append(page)
            offset += 8
        }
        return pageNumbers
    }

    /// A compressedPages body: count, algorithm, the page numbers (a batch's rules), the frame
    /// (1 byte up to the pages' data).
    private static func decodeCompressedPages(_ body: ArraySlice<UInt8>, layout: GuestLayout) throws(StreamError) -> CompressedPages {
        let fixed = StreamLimits.pageBatchFixedBytes
        guard body.count >= fixed else { throw .recordLengthMismatch(.compressedPages, length: body.count, expected: fixed) }
        let start = body.startIndex
        let count = Int(body.readUInt32(at: start))
        let limit = maxPages(.compressedPages, layout: layout)
        guard (1 ... limit).contains(count) else { throw .pageCountOutOfRange(.compressedPages, count: count, limit: limit) }
        let raw = body.readUInt32(at: start + 4)
        guard let algorithm = CompressedPages.Algorithm(rawValue: raw) else { throw .unknownCompression(raw) }
        let numbersEnd = start + fixed + count * 8
        guard body.endIndex > numbersEnd else {
            throw .recordLengthMismatch(.compressedPages, length: body.count, expected: fixed + count * 8 + 1)
        }
        let dataBytes = count * Int(layout.pageSizeBytes)
        let frameBytes = body.endIndex - numbersEnd
        guard frameBytes <= dataBytes else { throw .compressedFrameSize(bytes: frameBytes, dataBytes: dataBytes) }
        let pageNumbers = try decodePageNumbers(body[start ..< numbersEnd], of: .compressedPages, layout: layout)
        return CompressedPages(pageNumbers: pageNumbers, algorithm: algorithm, frame: Array(body[numbersEnd...]))
    }

    private static func decodeVcpuState(_ body: ArraySlice<UInt8>, layout: GuestLayout) throws(StreamError) -> VcpuState {
        let fixed = StreamLimits.vcpuStateFixedBytes
        guard body.count >= fixed else { throw .recordLengthMismatch(.vcpuState, length: body.count, expected: fixed) }
        let start = body.startIndex
        let vcpuId = body.readUInt32(at: start)
        guard body.readUInt32(at: start + 4) == 0 else { throw .nonZeroReserved(.vcpuState, field: "reserved") }
        guard vcpuId < layout.vcpuCount else { throw .vcpuIdOutOfRange(vcpuId: vcpuId, vcpuCount: layout.vcpuCount) }
        return VcpuState(vcpuId: vcpuId, blob: Array(body[(start + fixed)...]))
    }

    /// The bytes as a String, refusing invalid UTF-8 (never repairing it).
    private static func text(_ bytes: ArraySlice<UInt8>, record: RecordType, field: String) throws(StreamError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(record, field: field) }
        return string
    }
}
