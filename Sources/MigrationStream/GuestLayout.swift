/// What the destination must know before the first page arrives: how big the guest is, its page
/// size (to size and check page batches), its vCPU count (to check vcpuState ids) and names for
/// logs. Always the first record of the source's stream, sent exactly once.
public struct GuestLayout: Sendable, Equatable {
    /// The guest's name: UTF-8, 1...255 bytes, no NUL.
    public var name: String
    /// Guest memory: a positive multiple of `pageSizeBytes`, at most 1 TiB.
    public var memoryBytes: UInt64
    /// Bytes per page: a power of two from 4 KiB to 2 MiB.
    public var pageSizeBytes: UInt32
    /// Number of vCPUs, 1...64.
    public var vcpuCount: UInt32
    /// Free text describing the workload (for logs and reports), at most 1024 bytes; may be empty.
    public var workload: String

    public init(name: String, memoryBytes: UInt64, pageSizeBytes: UInt32, vcpuCount: UInt32, workload: String = "") {
        self.name = name
        self.memoryBytes = memoryBytes
        self.pageSizeBytes = pageSizeBytes
        self.vcpuCount = vcpuCount
        self.workload = workload
    }

    /// Number of guest pages: every page frame number in the stream is below this.
    public var guestPages: UInt64 { memoryBytes / UInt64(max(pageSizeBytes, 1)) }

    /// Throws the first rule of the guestLayout record this layout breaks.
    public func validate() throws(StreamError) {
        let nameBytes = name.utf8.count
        guard nameBytes > 0 else { throw .emptyGuestName }
        guard nameBytes <= StreamLimits.maxGuestNameBytes else {
            throw .textTooLong(.guestLayout, field: "name", bytes: nameBytes, limit: StreamLimits.maxGuestNameBytes)
        }
        guard !name.utf8.contains(0) else { throw .guestNameContainsNUL }
        let workloadBytes = workload.utf8.count
        guard workloadBytes <= StreamLimits.maxWorkloadBytes else {
            throw .textTooLong(.guestLayout, field: "workload", bytes: workloadBytes, limit: StreamLimits.maxWorkloadBytes)
        }
        let pageSize = Int(pageSizeBytes)
        guard pageSize.nonzeroBitCount == 1,
              (StreamLimits.minPageSizeBytes ... StreamLimits.maxPageSizeBytes).contains(pageSize)
        else { throw .invalidPageSize(pageSizeBytes) }
        guard memoryBytes > 0, memoryBytes % UInt64(pageSizeBytes) == 0, memoryBytes <= StreamLimits.maxMemoryBytes else {
            throw .invalidMemorySize(memoryBytes: memoryBytes, pageSizeBytes: pageSizeBytes)
        }
        guard (1 ... StreamLimits.maxVcpuCount).contains(Int(vcpuCount)) else {
            throw .vcpuCountOutOfRange(vcpuCount)
        }
    }
}
