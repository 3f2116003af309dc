/// Writes one direction of the stream into a caller's byte buffer: first `appendHeader(into:)`,
/// then records. It applies the decoder's rules (limits and order) before writing a byte, so
/// what it writes the decoder accepts; a refused record leaves the buffer unchanged.
///
/// For page data straight from guest memory, use `appendPageBatchHeader(pageNumbers:into:)` and
/// append the pages yourself; `append(.pageBatch(...))` copies from a `PageBatch`. For pages
/// found to be all zeros while scanning, `appendZeroPages(pageNumbers:into:)` takes them as they
/// are found; `append(.zeroPages(...))` takes a `ZeroPageList`.
public struct StreamEncoder: Sendable {
    /// The order rules and, once written, the guest layout.
    public private(set) var checker: StreamStateChecker
    /// Whether `appendHeader(into:)` has been called.
    public private(set) var headerWritten = false

    public init(direction: StreamDirection) {
        checker = StreamStateChecker(direction: direction)
    }

    public var direction: StreamDirection { checker.direction }

    /// A data stream (after `joinStream`) takes its main stream's layout to check pages against.
    public mutating func adoptLayout(_ layout: GuestLayout) { checker.adoptLayout(layout) }

    /// Appends the 16-byte stream header. Call it once, before any record.
    public mutating func appendHeader(into buffer: inout [UInt8]) {
        precondition(!headerWritten, "the stream header is written once")
        StreamHeader.append(into: &buffer)
        headerWritten = true
    }

    /// Appends one record, with its header and padding.
    public mutating func append(_ record: StreamRecord, into buffer: inout [UInt8]) throws(StreamError) {
        precondition(headerWritten, "write the stream header before any record")
        try checker.check(record.type)
        switch record {
        case .guestLayout(let layout):
            try layout.validate()
            let name = layout.name.utf8, workload = layout.workload.utf8
            let length = StreamLimits.guestLayoutFixedBytes + name.count + workload.count
            RecordBody.appendHeader(.guestLayout, length: length, into: &buffer)
            buffer.appendLittleEndian(layout.memoryBytes)
            buffer.appendLittleEndian(layout.pageSizeBytes)
            buffer.appendLittleEndian(layout.vcpuCount)
            buffer.appendLittleEndian(UInt32(name.count))
            buffer.appendLittleEndian(UInt32(workload.count))
            buffer.append(contentsOf: name)
            buffer.append(contentsOf: workload)
            buffer.appendZeros(paddingBytes(forBodyLength: length))
        case .pageBatch(let batch):
            let layout = try requireLayout(.pageBatch)
            let count = try RecordBody.checkPageNumbers(batch.pageNumbers, of: .pageBatch, layout: layout)
            let expected = count * Int(layout.pageSizeBytes)
            guard batch.data.count == expected else {
                throw .pageDataSizeMismatch(dataBytes: batch.data.count, expected: expected)
            }
            try appendPageBatchHeader(pageNumbers: batch.pageNumbers, into: &buffer)
            buffer.append(contentsOf: batch.data)
            return // appendPageBatchHeader advanced the checker
        case .zeroPages(let list):
            try appendZeroPages(pageNumbers: list.pageNumbers, into: &buffer)
            return // appendZeroPages advanced the checker
        case .vcpuState(let state):
            let layout = try requireLayout(.vcpuState)
            let length = StreamLimits.vcpuStateFixedBytes + state.blob.count
            let limit = StreamLimits.maxBodyBytes(.vcpuState, pageSizeBytes: nil)
            guard length <= limit else { throw .recordTooLong(.vcpuState, length: length, limit: limit) }
            guard state.vcpuId < layout.vcpuCount else {
                throw .vcpuIdOutOfRange(vcpuId: state.vcpuId, vcpuCount: layout.vcpuCount)
            }
            RecordBody.appendHeader(.vcpuState, length: length, into: &buffer)
            buffer.appendLittleEndian(state.vcpuId)
            buffer.appendLittleEndian(UInt32(0))
            buffer.append(contentsOf: state.blob)
            buffer.appendZeros(paddingBytes(forBodyLength: length))
        case .deviceState(let blob):
            try appendBlob(.deviceState, blob, into: &buffer)
        case .abort(let reason):
            let bytes = reason.utf8
            guard bytes.count <= StreamLimits.maxAbortReasonBytes else {
                throw .textTooLong(.abort, field: "reason", bytes: bytes.count, limit: StreamLimits.maxAbortReasonBytes)
            }
            try appendBlob(.abort, bytes, into: &buffer)
        case .endOfStream, .readyToUnpause, .clearedToUnpause:
            RecordBody.appendHeader(record.type, length: 0, into: &buffer)
        case .running(let report):
            RecordBody.appendHeader(.running, length: StreamLimits.runningBytes, into: &buffer)
            report.append(into: &buffer)
        case .memoryDigest(let digest):
            RecordBody.appendHeader(.memoryDigest, length: StreamLimits.memoryDigestBytes, into: &buffer)
            buffer.appendLittleEndian(digest)
        case .drainMark(let sequence), .drained(let sequence):
            RecordBody.appendHeader(record.type, length: StreamLimits.drainSequenceBytes, into: &buffer)
            buffer.appendLittleEndian(sequence)
        case .firstConsoleLine(let microseconds, let text):
            let bytes = text.utf8
            guard bytes.count <= StreamLimits.maxConsoleLineBytes else {
                throw .textTooLong(.firstConsoleLine, field: "text", bytes: bytes.count, limit: StreamLimits.maxConsoleLineBytes)
            }
            var body: [UInt8] = []
            body.appendLittleEndian(microseconds)
            body.append(contentsOf: bytes)
            try appendBlob(.firstConsoleLine, body, into: &buffer)
        case .challenge(let nonce), .challengeEcho(let nonce):
            guard nonce.count == StreamLimits.challengeNonceBytes else {
                throw .recordLengthMismatch(record.type, length: nonce.count, expected: StreamLimits.challengeNonceBytes)
            }
            try appendBlob(record.type, nonce, into: &buffer)
        case .queryGuest(let name, let nonce):
            let bytes = name.utf8
            let fixed = StreamLimits.challengeNonceBytes
            guard nonce.count == fixed, !bytes.isEmpty else {
                throw .recordLengthMismatch(.queryGuest, length: nonce.count + bytes.count, expected: fixed + max(bytes.count, 1))
            }
            guard bytes.count <= StreamLimits.maxGuestNameBytes else {
                throw .textTooLong(.queryGuest, field: "name", bytes: bytes.count, limit: StreamLimits.maxGuestNameBytes)
            }
            try appendBlob(.queryGuest, nonce + Array(bytes), into: &buffer)
        case .guestState(let presence):
            var body: [UInt8] = []
            body.appendLittleEndian(presence.rawValue)
            body.appendLittleEndian(UInt32(0))
            try appendBlob(.guestState, body, into: &buffer)
        case .throughputProbe(let bytes):
            try StreamLimits.validateProbe(bytes: bytes)
            RecordBody.appendHeader(.throughputProbe, length: StreamLimits.throughputProbeBytes, into: &buffer)
            buffer.appendLittleEndian(bytes)
        case .probeResult(let receivedBytes, let microseconds):
            RecordBody.appendHeader(.probeResult, length: StreamLimits.probeResultBytes, into: &buffer)
            buffer.appendLittleEndian(receivedBytes)
            buffer.appendLittleEndian(microseconds)
        case .parallelStreams(let count):
            try StreamLimits.validateParallelStreams(count: count)
            RecordBody.appendHeader(.parallelStreams, length: StreamLimits.wordAndReservedBytes, into: &buffer)
            buffer.appendLittleEndian(count)
            buffer.appendLittleEndian(UInt32(0))
        case .streamsListening(let port):
            guard port > 0 else { throw .invalidStreamPort }
            RecordBody.appendHeader(.streamsListening, length: StreamLimits.wordAndReservedBytes, into: &buffer)
            buffer.appendLittleEndian(UInt32(port))
            buffer.appendLittleEndian(UInt32(0))
        case .compressedPages(let pages):
            try appendCompressedPagesHead(pageNumbers: pages.pageNumbers, algorithm: pages.algorithm, frameBytes: pages.frame.count,
                                          into: &buffer)
            buffer.append(contentsOf: pages.frame)
            buffer.appendZeros(paddingBytes(forBodyLength: RecordBody.compressedPagesLength(count: pages.pageNumbers.count,
                                                                                            frameBytes: pages.frame.count)))
            return // appendCompressedPagesHead advanced the checker
        case .roundStart(let round):
            try checker.checkRound(round)
            RecordBody.appendHeader(.roundStart, length: StreamLimits.roundStartBytes, into: &buffer)
            buffer.appendLittleEndian(round)
        case .joinStream(let nonce, let index):
            guard nonce.count == StreamLimits.challengeNonceBytes else {
                throw .recordLengthMismatch(.joinStream, length: nonce.count + 8, expected: StreamLimits.joinStreamBytes)
            }
            RecordBody.appendHeader(.joinStream, length: StreamLimits.joinStreamBytes, into: &buffer)
            buffer.append(contentsOf: nonce)
            buffer.appendLittleEndian(index)
            buffer.appendLittleEndian(UInt32(0))
        case .postcopyStart(let missing):
            let layout = try requireLayout(.postcopyStart)
            try missing.validate(guestPages: layout.guestPages)
            RecordBody.appendHeader(.postcopyStart, length: PostcopyMissing.bodyBytes(guestPages: layout.guestPages), into: &buffer)
            buffer.appendLittleEndian(missing.count)
            for word in missing.words { buffer.appendLittleEndian(word) }
        case .returnPath:
            RecordBody.appendHeader(.returnPath, length: 0, into: &buffer)
        case .joinReturnPath(let nonce):
            guard nonce.count == StreamLimits.challengeNonceBytes else {
                throw .recordLengthMismatch(.joinReturnPath, length: nonce.count, expected: StreamLimits.challengeNonceBytes)
            }
            try appendBlob(.joinReturnPath, nonce, into: &buffer)
        case .pageRequest(let pages):
            guard (1 ... StreamLimits.maxBatchPages).contains(pages.count) else {
                throw .pageCountOutOfRange(.pageRequest, count: pages.count, limit: StreamLimits.maxBatchPages)
            }
            RecordBody.appendHeader(.pageRequest, length: StreamLimits.pageBatchFixedBytes + pages.count * 8, into: &buffer)
            buffer.appendLittleEndian(UInt32(pages.count))
            buffer.appendLittleEndian(UInt32(0))
            for page in pages { buffer.appendLittleEndian(page) }
        case .postcopyComplete(let completion):
            RecordBody.appendHeader(.postcopyComplete, length: PostcopyCompletion.bodyBytes, into: &buffer)
            completion.append(into: &buffer)
        }
        checker.advance(past: record)
    }

    /// Appends the header and page numbers of a page batch, and nothing of its data: the caller
    /// must append exactly the returned number of bytes (`pageNumbers.count × pageSizeBytes`)
    /// next, page `pageNumbers[0]` first, before anything else goes into the stream. The body is
    /// then a multiple of 8 bytes (page sizes are), so the record needs no padding. Capacity for
    /// the data is reserved in `buffer`, so appending it straight from guest memory does not
    /// reallocate.
    @discardableResult
    public mutating func appendPageBatchHeader(pageNumbers: some Collection<UInt64>, into buffer: inout [UInt8]) throws(StreamError) -> Int {
        precondition(headerWritten, "write the stream header before any record")
        try checker.check(.pageBatch)
        let layout = try requireLayout(.pageBatch)
        let count = try RecordBody.checkPageNumbers(pageNumbers, of: .pageBatch, layout: layout)
        let pageSize = Int(layout.pageSizeBytes)
        let length = RecordBody.pageBatchLength(count: count, pageSizeBytes: pageSize)
        buffer.reserveCapacity(buffer.count + 8 + length)
        RecordBody.appendHeader(.pageBatch, length: length, into: &buffer)
        buffer.appendLittleEndian(UInt32(count))
        buffer.appendLittleEndian(UInt32(0))
        for page in pageNumbers { buffer.appendLittleEndian(page) }
        checker.advance(past: .pageBatch)
        return count * pageSize
    }

    /// Appends the header, count, algorithm and page numbers of a compressedPages record whose
    /// frame is `frameBytes` long: the caller must append exactly the frame next, then the
    /// returned number of zero bytes of padding, before anything else goes into the stream. The
    /// rules are the decoder's: a batch's page numbers, a frame of 1 byte up to their data.
    @discardableResult
    public mutating func appendCompressedPagesHead(pageNumbers: some Collection<UInt64>, algorithm: CompressedPages.Algorithm = .zstd,
                                                   frameBytes: Int, into buffer: inout [UInt8]) throws(StreamError) -> Int {
        precondition(headerWritten, "write the stream header before any record")
        try checker.check(.compressedPages)
        let layout = try requireLayout(.compressedPages)
        let count = try RecordBody.checkPageNumbers(pageNumbers, of: .compressedPages, layout: layout)
        let dataBytes = count * Int(layout.pageSizeBytes)
        guard (1 ... dataBytes).contains(frameBytes) else { throw .compressedFrameSize(bytes: frameBytes, dataBytes: dataBytes) }
        let length = RecordBody.compressedPagesLength(count: count, frameBytes: frameBytes)
        RecordBody.appendHeader(.compressedPages, length: length, into: &buffer)
        buffer.appendLittleEndian(UInt32(count))
        buffer.appendLittleEndian(algorithm.rawValue)
        for page in pageNumbers { buffer.appendLittleEndian(page) }
        checker.advance(past: .compressedPages)
        return paddingBytes(forBodyLength: length)
    }

    /// Appends a whole zeroPages record: "these pages are all zero bytes; make them read as
    /// zero". `pageNumbers` is read once, in order, and written as it is read, so a lazy
    /// sequence (pages tested for zeros as it goes) is neither run twice nor copied; it must
    /// end. The rules are `append(.zeroPages(...))`'s and the decoder's: 1 to
    /// `StreamLimits.maxBatchPages` pages, strictly ascending, each below the guest's page
    /// count. A refused list leaves the buffer unchanged (what was written of it is removed),
    /// and the error is the one the decoder would throw: the count first (the whole sequence is
    /// read to count it), else the first bad page number. The body is 8 + 8 × count bytes, a
    /// multiple of 8, so the record needs no padding. Returns the number of pages listed.
    @discardableResult
    public mutating func appendZeroPages(pageNumbers: some Sequence<UInt64>, into buffer: inout [UInt8]) throws(StreamError) -> Int {
        precondition(headerWritten, "write the stream header before any record")
        try checker.check(.zeroPages)
        let layout = try requireLayout(.zeroPages)
        let limit = RecordBody.maxPages(.zeroPages, layout: layout)
        let start = buffer.count
        buffer.reserveCapacity(start + 8 + RecordBody.zeroPagesLength(count: min(pageNumbers.underestimatedCount, limit)))
        RecordBody.appendHeader(.zeroPages, length: 0, into: &buffer) // the length is set below
        buffer.appendLittleEndian(UInt32(0)) // count, set below
        buffer.appendLittleEndian(UInt32(0)) // reserved
        var order = RecordBody.PageNumberOrder(.zeroPages, layout: layout)
        var count = 0
        var refusal: StreamError?
        for page in pageNumbers {
            count += 1
            guard refusal == nil, count <= limit else { continue }
            do throws(StreamError) {
                try order.check(page)
            } catch {
                refusal = error
                continue
            }
            buffer.appendLittleEndian(page)
        }
        guard (1 ... limit).contains(count) else {
            buffer.removeSubrange(start...)
            throw .pageCountOutOfRange(.zeroPages, count: count, limit: limit)
        }
        if let refusal {
            buffer.removeSubrange(start...)
            throw refusal
        }
        buffer.storeLittleEndian(UInt32(RecordBody.zeroPagesLength(count: count)), at: start + 4)
        buffer.storeLittleEndian(UInt32(count), at: start + 8)
        checker.advance(past: .zeroPages)
        return count
    }

    private func requireLayout(_ type: RecordType) throws(StreamError) -> GuestLayout {
        guard let layout = checker.layout else { throw .missingGuestLayout(type) }
        return layout
    }

    /// A record whose body is just `bytes`, limited by its type's maximum.
    private func appendBlob(_ type: RecordType, _ bytes: some Collection<UInt8>, into buffer: inout [UInt8]) throws(StreamError) {
        let limit = StreamLimits.maxBodyBytes(type, pageSizeBytes: nil)
        guard bytes.count <= limit else { throw .recordTooLong(type, length: bytes.count, limit: limit) }
        RecordBody.appendHeader(type, length: bytes.count, into: &buffer)
        buffer.append(contentsOf: bytes)
        buffer.appendZeros(paddingBytes(forBodyLength: bytes.count))
    }
}
