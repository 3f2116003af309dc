/// Why a stream cannot be read or written. Every description names the record type, the field
/// and the limit or rule broken, so a log line alone says what the peer got wrong. Decoding
/// errors are final: the decoder throws the same error again on every later call.
public enum StreamError: Error, Sendable, Equatable, CustomStringConvertible {
    // The header.
    /// The first 8 bytes (or as many as arrived) are not `LIVEMIG\0`.
    case badMagic([UInt8])
    /// The header's version is not one this build reads in that direction.
    case unsupportedVersion(UInt32, direction: StreamDirection)
    /// The header's flags are not 0.
    case unknownHeaderFlags(UInt32)

    // Framing.
    /// A record type number this version does not define.
    case unknownRecordType(UInt32)
    /// A length field over the type's limit (checked before the body is buffered).
    case recordTooLong(RecordType, length: Int, limit: Int)
    /// A length field that disagrees with what the body says it holds.
    case recordLengthMismatch(RecordType, length: Int, expected: Int)
    /// A padding byte after the body is not zero.
    case nonZeroPadding(RecordType)
    /// A reserved field is not zero.
    case nonZeroReserved(RecordType, field: String)
    /// A text field is not valid UTF-8.
    case invalidUTF8(RecordType, field: String)
    /// A text field over its limit, in bytes of UTF-8.
    case textTooLong(RecordType, field: String, bytes: Int, limit: Int)

    // Field values.
    /// The guest layout's name is empty.
    case emptyGuestName
    /// The guest layout's name holds a NUL byte.
    case guestNameContainsNUL
    /// A page size that is not a power of two from 4 KiB to 2 MiB.
    case invalidPageSize(UInt32)
    /// Guest memory that is zero, not a multiple of the page size, or over 1 TiB.
    case invalidMemorySize(memoryBytes: UInt64, pageSizeBytes: UInt32)
    /// A vCPU count outside 1...64.
    case vcpuCountOutOfRange(UInt32)
    /// A vcpuState for a vCPU the guest layout does not have.
    case vcpuIdOutOfRange(vcpuId: UInt32, vcpuCount: UInt32)
    /// A page count outside 1...limit in a record that lists pages (pageBatch, whose limit
    /// depends on the page size, or zeroPages).
    case pageCountOutOfRange(RecordType, count: Int, limit: Int)
    /// A page frame number at or past the guest's page count, in a pageBatch or zeroPages.
    case pageNumberOutOfRange(RecordType, pageNumber: UInt64, guestPages: UInt64)
    /// Page frame numbers in a pageBatch or zeroPages that are not strictly ascending.
    case pageNumbersNotAscending(RecordType, previous: UInt64, next: UInt64)
    /// Encoding only: a PageBatch whose data is not count × page size bytes.
    case pageDataSizeMismatch(dataBytes: Int, expected: Int)

    // Order.
    /// A record that needs the guest layout came before it.
    case missingGuestLayout(RecordType)
    /// A record that may appear only once came again.
    case duplicateRecord(RecordType)
    /// A data record (or a second endOfStream) after endOfStream.
    case recordAfterEndOfStream(RecordType)
    /// A drained after readyToUnpause (no drain mark can follow the end of the stream).
    case recordAfterReady(RecordType)
    /// More records of a type than one stream may carry (drain marks: `StreamLimits.maxDrainMarks`
    /// beyond one per page record before them).
    case tooManyRecords(RecordType, limit: Int)
    /// Any record after the stream was closed by abort, clearedToUnpause or running.
    case recordAfterClose(RecordType, closedBy: RecordType)
    /// A control record before the record it answers.
    case recordTooEarly(RecordType, needs: RecordType)
    /// A record that may not travel this way.
    case wrongDirection(RecordType, StreamDirection)
    /// A guestState record with a state this version does not define.
    case unknownGuestState(UInt32)
    /// A throughputProbe announcing no data, data not in whole probe pages, or over the limit.
    case invalidProbeSize(UInt64)
    /// A record other than pageBatch, endOfStream or abort in a throughput probe.
    case notInProbe(RecordType)
    /// A record other than roundStart, pageBatch, zeroPages, drainMark, endOfStream or abort on
    /// a data stream (after `joinStream`).
    case notInDataStream(RecordType)
    /// A compressedPages whose algorithm this version does not define.
    case unknownCompression(UInt32)
    /// A compressedPages whose frame is empty or larger than its pages' data.
    case compressedFrameSize(bytes: Int, dataBytes: Int)
    /// A record that only a data stream carries (roundStart) on the main stream.
    case onlyOnDataStreams(RecordType)
    /// A parallelStreams announcing a count outside 2...16.
    case parallelStreamCountOutOfRange(UInt32)
    /// A streamsListening naming port 0.
    case invalidStreamPort
    /// A roundStart whose number is not above the previous one on the same stream.
    case roundNotIncreasing(previous: UInt64, next: UInt64)
    /// A parallelStreams after page data (the pages would be split between the main stream and
    /// the data streams).
    case parallelStreamsAfterPages
    /// A record other than pageBatch, zeroPages, drainMark, endOfStream or abort after `postcopyStart`.
    case notInPostcopy(RecordType)
    /// An XBZRLE delta (`compressedPages` with algorithm 2) that does not fit its page.
    case invalidDelta(pageNumber: UInt64, detail: String)
    /// A `returnPath` after page data, or with `parallelStreams`.
    case returnPathMisplaced
    /// A `postcopyStart` whose count is not the number of bits set in its bitmap.
    case postcopyCountMismatch(count: UInt64, bitsSet: UInt64)
    /// A `postcopyStart` naming pages at or past the guest's page count.
    case postcopyBitmapBeyondGuest(guestPages: UInt64)

    public var description: String {
        switch self {
        case .notInPostcopy(let type):
            return "\(type) after \(RecordType.postcopyStart); post-copy carries only pageBatch, zeroPages, drainMark, endOfStream and abort"
        case .invalidDelta(let page, let detail):
            return "\(RecordType.compressedPages) record's XBZRLE delta for page \(page) is malformed: \(detail)"
        case .returnPathMisplaced:
            return "\(RecordType.returnPath) must come right after the guest layout, before any page, and not with parallelStreams"
        case .postcopyCountMismatch(let count, let set):
            return "\(RecordType.postcopyStart) record field count is \(count) but its bitmap has \(set) pages set"
        case .postcopyBitmapBeyondGuest(let pages):
            return "\(RecordType.postcopyStart) record bitmap names pages at or past the guest's \(pages) pages"
        case .badMagic(let found):
            let hex = found.map { byte in
                let digits = String(byte, radix: 16, uppercase: true)
                return digits.count == 1 ? "0" + digits : digits
            }
            return "stream header magic is \(hex.joined(separator: " ")); expected 4C 49 56 45 4D 49 47 00 (LIVEMIG\\0)"
        case .unsupportedVersion(let version, let direction):
            let readable = StreamHeader.readableVersions(direction).map(String.init).joined(separator: " or ")
            return "stream header version is \(version); this build reads only version \(readable) from the \(direction == .sourceToDestination ? "source" : "destination")"
        case .unknownHeaderFlags(let flags):
            return "stream header flags are \(flags); no flags are defined, so they must be 0"
        case .unknownRecordType(let type):
            return "record type \(type) is not defined in stream version \(StreamHeader.version)"
        case .recordTooLong(let type, let length, let limit):
            return "\(type) record length is \(length) bytes; the limit for that type is \(limit)"
        case .recordLengthMismatch(let type, let length, let expected):
            return "\(type) record length is \(length) bytes but its fields need \(expected)"
        case .nonZeroPadding(let type):
            return "\(type) record has non-zero padding bytes; padding must be zero"
        case .nonZeroReserved(let type, let field):
            return "\(type) record field \(field) is reserved and must be 0"
        case .invalidUTF8(let type, let field):
            return "\(type) record field \(field) is not valid UTF-8"
        case .textTooLong(let type, let field, let bytes, let limit):
            return "\(type) record field \(field) is \(bytes) bytes of UTF-8; the limit is \(limit)"
        case .emptyGuestName:
            return "\(RecordType.guestLayout) record field name is empty; it needs 1 to \(StreamLimits.maxGuestNameBytes) bytes"
        case .guestNameContainsNUL:
            return "\(RecordType.guestLayout) record field name contains a NUL byte"
        case .invalidPageSize(let size):
            return "\(RecordType.guestLayout) record field pageSizeBytes is \(size); it must be a power of two from \(StreamLimits.minPageSizeBytes) to \(StreamLimits.maxPageSizeBytes)"
        case .invalidMemorySize(let memory, let pageSize):
            return "\(RecordType.guestLayout) record field memoryBytes is \(memory); it must be a positive multiple of pageSizeBytes (\(pageSize)) and at most \(StreamLimits.maxMemoryBytes) (1 TiB)"
        case .vcpuCountOutOfRange(let count):
            return "\(RecordType.guestLayout) record field vcpuCount is \(count); it must be 1 to \(StreamLimits.maxVcpuCount)"
        case .vcpuIdOutOfRange(let id, let count):
            return "\(RecordType.vcpuState) record field vcpuId is \(id); the guest layout has \(count) vCPUs, so it must be below \(count)"
        case .pageCountOutOfRange(let type, let count, let limit):
            return "\(type) record field count is \(count); it must be 1 to \(limit)\(type == .pageBatch ? " for this page size" : "")"
        case .pageNumberOutOfRange(let type, let page, let pages):
            return "\(type) record page number \(page) is outside the guest's \(pages) pages (must be below \(pages))"
        case .pageNumbersNotAscending(let type, let previous, let next):
            return "\(type) record page numbers must be strictly ascending; \(next) follows \(previous)"
        case .pageDataSizeMismatch(let bytes, let expected):
            return "\(RecordType.pageBatch) data is \(bytes) bytes; count × pageSizeBytes is \(expected)"
        case .missingGuestLayout(let type):
            return "\(type) record came before the \(RecordType.guestLayout) record, which must come first"
        case .duplicateRecord(let type):
            return "\(type) record came a second time; it may appear only once"
        case .recordAfterEndOfStream(let type):
            return "\(type) record came after \(RecordType.endOfStream); only control records may follow it"
        case .tooManyRecords(let type, let limit):
            return "\(type) record is one more than one stream may carry: \(limit) beyond one per page record before it"
        case .recordAfterReady(let type):
            return "\(type) record came after \(RecordType.readyToUnpause); only running or abort may follow it"
        case .recordAfterClose(let type, let closer):
            return "\(type) record came after \(closer), which ends the stream"
        case .recordTooEarly(let type, let needs):
            return "\(type) record came before \(needs), which must precede it"
        case .wrongDirection(let type, let direction):
            return "\(type) record may not travel \(direction)"
        case .unknownGuestState(let state):
            return "\(RecordType.guestState) record field state is \(state); it must be 0 to \(GuestPresence.allCases.count - 1)"
        case .invalidProbeSize(let bytes):
            return "\(RecordType.throughputProbe) record field bytes is \(bytes); it must be a positive multiple of \(StreamLimits.probePageSizeBytes), at most \(StreamLimits.maxProbeBytes)"
        case .notInProbe(let type):
            return "\(type) in a throughput probe, where only \(RecordType.pageBatch), \(RecordType.endOfStream) and \(RecordType.abort) may come"
        case .notInDataStream(let type):
            return "\(type) on a data stream, where only \(RecordType.roundStart), \(RecordType.pageBatch), \(RecordType.compressedPages), \(RecordType.zeroPages), \(RecordType.drainMark), \(RecordType.endOfStream) and \(RecordType.abort) may come"
        case .unknownCompression(let algorithm):
            return "\(RecordType.compressedPages) record field algorithm is \(algorithm); the ones defined are 1 (zstd) and 2 (xbzrle)"
        case .compressedFrameSize(let bytes, let dataBytes):
            return "\(RecordType.compressedPages) record frame is \(bytes) bytes; it must be 1 to \(dataBytes) (the data of its pages)"
        case .onlyOnDataStreams(let type):
            return "\(type) on the main stream; it comes only on data streams (after \(RecordType.joinStream))"
        case .parallelStreamCountOutOfRange(let count):
            return "\(RecordType.parallelStreams) record field count is \(count); it must be 2 to \(StreamLimits.maxParallelStreams)"
        case .invalidStreamPort:
            return "\(RecordType.streamsListening) record field port is 0; it must be 1 to 65535"
        case .roundNotIncreasing(let previous, let next):
            return "\(RecordType.roundStart) record field round is \(next); it must be above the stream's previous round \(previous)"
        case .parallelStreamsAfterPages:
            return "\(RecordType.parallelStreams) after page data; it must come before any \(RecordType.pageBatch) or \(RecordType.zeroPages)"
        }
    }
}
