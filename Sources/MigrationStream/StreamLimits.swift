/// Every bound the stream format puts on a value, in one place, so the encoder, the decoder,
/// the tests and docs/stream-format.md agree. The decoder checks a record's length field
/// against its type's limit before it buffers the body, so no peer can make it allocate more
/// than one bounded record (about 16 MiB).
public enum StreamLimits {
    /// Longest guest name, in bytes of UTF-8 (a Xen domain name fits in 64; KVM has no limit;
    /// 255 keeps the length in one byte should a later version want that).
    public static let maxGuestNameBytes = 255
    /// Longest workload description in a guest layout, in bytes of UTF-8 (may be empty).
    public static let maxWorkloadBytes = 1024
    /// Smallest page size: the x86 base page.
    public static let minPageSizeBytes = 4096
    /// Largest page size: the x86 2 MiB large page.
    public static let maxPageSizeBytes = 2 << 20
    /// Largest guest memory: 1 TiB (2^28 pages of 4 KiB).
    public static let maxMemoryBytes: UInt64 = 1 << 40
    /// Most vCPUs a guest may have.
    public static let maxVcpuCount = 64
    /// Most pages in one page batch (Xen's own batches hold 1024), and in one zeroPages list
    /// whatever the page size (it carries no data, so large pages do not shrink it).
    public static let maxBatchPages = 4096
    /// Most page data in one page batch: 4096 pages of 4 KiB, only 8 pages of 2 MiB. Keeps a
    /// batch record within a `UInt32` length and bounds the receiver's buffer.
    public static let maxBatchDataBytes = 16 << 20
    /// Largest opaque vCPU state blob in one vcpuState record.
    public static let maxVcpuStateBytes = 64 << 10
    /// Largest opaque device state blob in one deviceState record.
    public static let maxDeviceStateBytes = 1 << 20
    /// Longest abort reason, in bytes of UTF-8.
    public static let maxAbortReasonBytes = 1024
    /// The body of `running`: the destination's unpause time and its timing of the pause
    /// (`RunningReport`).
    public static let runningBytes = RunningReport.bodyBytes
    /// A memoryDigest record's body: the 64-bit digest.
    public static let memoryDigestBytes = 8
    /// A drainMark's or drained's body: the mark's 64-bit number.
    public static let drainSequenceBytes = 8
    /// The most drain marks (and answers) one stream may carry: a migration pauses once, and a
    /// source that sent marks without end would keep the receiver answering.
    public static let maxDrainMarks = 64
    /// Most data streams one migration may open (`parallelStreams`): QEMU's multifd allows up to
    /// 255 channels; 8 to 16 saturate 100 Gbit/s, so 16 is the bound here.
    public static let maxParallelStreams: UInt32 = 16
    /// The body of `parallelStreams` and of `streamsListening`: a 32-bit value and a reserved word.
    public static let wordAndReservedBytes = 8
    /// The body of `roundStart`: the round's 64-bit number.
    public static let roundStartBytes = 8
    /// The body of `joinStream`: the main connection's nonce, the stream's index, a reserved word.
    public static let joinStreamBytes = challengeNonceBytes + 8
    /// Bytes of a firstConsoleLine body before its text: the wall-clock time.
    public static let firstConsoleLineFixedBytes = 8
    /// The nonce of `challenge` and `challengeEcho`: 128 random bits.
    public static let challengeNonceBytes = 16
    /// The body of `guestState`: the state and a reserved word.
    public static let guestStateBytes = 8
    /// The body of `throughputProbe`: the most page data that follows.
    public static let throughputProbeBytes = 8
    /// The body of `probeResult`: the bytes received and the microseconds they took.
    public static let probeResultBytes = 16
    /// Most page data one throughput probe may announce: as much as the largest guest, 1 TiB,
    /// so that a probe on a fast path runs out of time before it runs out of pages (the
    /// receiver keeps none of it).
    public static let maxProbeBytes: UInt64 = maxMemoryBytes
    /// The page size a throughput probe's batches are numbered in.
    public static let probePageSizeBytes: UInt32 = 4096

    /// The layout a throughput probe's page batches are checked against: a guest of `bytes`
    /// in pages of `probePageSizeBytes`.
    public static func probeLayout(bytes: UInt64) -> GuestLayout {
        GuestLayout(name: "throughput probe", memoryBytes: bytes, pageSizeBytes: probePageSizeBytes, vcpuCount: 1)
    }

    /// Throws unless `bytes` is a size a throughput probe may announce: a positive multiple of
    /// the probe's page size, at most `maxProbeBytes`.
    public static func validateProbe(bytes: UInt64) throws(StreamError) {
        guard bytes > 0, bytes % UInt64(probePageSizeBytes) == 0, bytes <= maxProbeBytes else { throw .invalidProbeSize(bytes) }
    }

    /// Throws unless `count` is a number of data streams `parallelStreams` may announce: 2 to
    /// `maxParallelStreams` (one stream is the main connection alone: no record is sent).
    public static func validateParallelStreams(count: UInt32) throws(StreamError) {
        guard count >= 2, count <= maxParallelStreams else { throw .parallelStreamCountOutOfRange(count) }
    }

    /// Longest console line in a firstConsoleLine record, in bytes of UTF-8.
    public static let maxConsoleLineBytes = 256

    /// Bytes of a guestLayout body before its name: memoryBytes, pageSizeBytes, vcpuCount,
    /// nameLength, workloadLength.
    public static let guestLayoutFixedBytes = 24
    /// Bytes of a pageBatch or zeroPages body before its page numbers: count and reserved.
    public static let pageBatchFixedBytes = 8
    /// Bytes of a vcpuState body before its blob: vcpuId and reserved.
    public static let vcpuStateFixedBytes = 8

    /// Most pages one batch may hold for this page size: `maxBatchPages`, fewer for large pages.
    public static func maxBatchPages(pageSizeBytes: Int) -> Int {
        min(maxBatchPages, maxBatchDataBytes / max(pageSizeBytes, 1))
    }

    /// The largest body (unpadded length field) a record of `type` may declare. A pageBatch's
    /// limit depends on the page size, so it needs the guest layout; without one it is 0. A
    /// zeroPages list's does not: 8 + 8 × `maxBatchPages` (32,776).
    public static func maxBodyBytes(_ type: RecordType, pageSizeBytes: Int?) -> Int {
        switch type {
        case .guestLayout:
            return guestLayoutFixedBytes + maxGuestNameBytes + maxWorkloadBytes
        case .pageBatch:
            guard let pageSizeBytes else { return 0 }
            return pageBatchFixedBytes + maxBatchPages(pageSizeBytes: pageSizeBytes) * (8 + pageSizeBytes)
        case .vcpuState:
            return vcpuStateFixedBytes + maxVcpuStateBytes
        case .deviceState:
            return maxDeviceStateBytes
        case .abort:
            return maxAbortReasonBytes
        case .endOfStream, .readyToUnpause, .clearedToUnpause:
            return 0
        case .running:
            return runningBytes
        case .memoryDigest:
            return memoryDigestBytes
        case .drainMark, .drained:
            return drainSequenceBytes
        case .zeroPages:
            return pageBatchFixedBytes + maxBatchPages * 8
        case .firstConsoleLine:
            return firstConsoleLineFixedBytes + maxConsoleLineBytes
        case .challenge, .challengeEcho:
            return challengeNonceBytes
        case .queryGuest:
            return challengeNonceBytes + maxGuestNameBytes
        case .guestState:
            return guestStateBytes
        case .throughputProbe:
            return throughputProbeBytes
        case .probeResult:
            return probeResultBytes
        case .parallelStreams, .streamsListening:
            return wordAndReservedBytes
        case .roundStart:
            return roundStartBytes
        case .compressedPages:
            // The numbers of a full batch and at most its data (a frame no smaller is not sent).
            guard let pageSizeBytes else { return 0 }
            return pageBatchFixedBytes + maxBatchPages(pageSizeBytes: pageSizeBytes) * 8 + maxBatchDataBytes
        case .joinStream:
            return joinStreamBytes
        case .postcopyStart:
            // The exact length needs the layout (`StreamStateChecker.maxBodyBytes`); this is the
            // largest guest's: 2^28 pages, a 32 MiB bitmap.
            return PostcopyMissing.bodyBytes(guestPages: maxMemoryBytes / UInt64(minPageSizeBytes))
        case .returnPath:
            return 0
        case .joinReturnPath:
            return challengeNonceBytes
        case .pageRequest:
            return pageBatchFixedBytes + maxBatchPages * 8
        case .postcopyComplete:
            return PostcopyCompletion.bodyBytes
        }
    }
}
