import MigrationCore

/// Guest memory as a simulated hypervisor sees it: writes advance with virtual time, and the
/// dirty log can be peeked or cleared. The page-level and fluid models both implement it.
protocol SimulatedMemory {
    associatedtype DirtyLog
    /// Applies the guest's writes from `startSeconds` to `endSeconds`, the vCPUs running
    /// `rateScale` of the time.
    mutating func advance(from startSeconds: Double, to endSeconds: Double, rateScale: Double)
    func peek() -> DirtyLog
    mutating func clear()
}

/// Page-level guest memory: a real dirty bitmap filled by the workload's page writer.
struct PageMemory: SimulatedMemory {
    private var dirty: DirtyBitmap
    private let writer: PageWriting

    init(pageCount: Int, writer: PageWriting) {
        dirty = DirtyBitmap(pageCount: pageCount)
        self.writer = writer
    }

    mutating func advance(from startSeconds: Double, to endSeconds: Double, rateScale: Double) {
        writer.write(from: startSeconds, to: endSeconds, rateScale: rateScale, into: &dirty)
    }

    func peek() -> DirtyBitmap { dirty }

    mutating func clear() { dirty = DirtyBitmap(pageCount: dirty.pageCount) }
}
