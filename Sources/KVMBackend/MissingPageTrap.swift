#if canImport(Glibc)
import Glibc
#endif
import CKVM

/// Post-copy's destination memory: the guest's missing pages fault to livemig (userfaultfd,
/// missing-page mode) instead of reading as zero, and each is placed atomically when it comes
/// (`UFFDIO_COPY`), which wakes the vCPU that touched it. A KVM vCPU's touch reaches the trap as
/// a process's does: KVM reads guest memory through the host mapping, and its fault blocks in
/// `KVM_RUN` until the page is placed (`MissingPageTrapTests` shows it on this machine's KVM).
///
/// Whole guest memory is registered; a page already there never faults, so only the pages made
/// missing (`markMissing`) or never written do.
public final class MissingPageTrap: @unchecked Sendable {
    public let memory: GuestMemory
    private let descriptor: Int32

    public init(memory: GuestMemory) throws(KVMError) {
        let opened = livemig_uffd_open()
        guard opened >= 0 else { throw KVMError("cannot open a userfaultfd: \(String(cString: strerror(-opened)))") }
        descriptor = opened
        self.memory = memory
        let registered = livemig_uffd_register_missing(descriptor, memory.base, UInt64(memory.sizeBytes))
        guard registered == 0 else {
            close(descriptor)
            throw KVMError("cannot register the guest's \(memory.sizeBytes) bytes for missing-page faults: \(String(cString: strerror(-registered)))")
        }
    }

    deinit { close(descriptor) }

    /// Drops `pages` (guest page numbers, ascending or not), so that their next touch faults here:
    /// the stale copies a destination holds at post-copy's hand-over.
    public func markMissing(pages: [Int]) throws(KVMError) {
        let size = GuestMemory.pageSizeBytes
        var index = 0
        let sorted = pages.sorted()
        while index < sorted.count {
            // One call per run of consecutive pages.
            var end = index + 1
            while end < sorted.count, sorted[end] == sorted[end - 1] + 1 { end += 1 }
            let first = sorted[index]
            guard first >= 0, sorted[end - 1] < memory.pageCount else {
                throw KVMError("page \(first < 0 ? first : sorted[end - 1]) is outside the guest's \(memory.pageCount) pages")
            }
            let dropped = livemig_uffd_discard(memory.page(first), UInt64((end - index) * size))
            guard dropped == 0 else { throw KVMError("cannot drop pages \(first) to \(sorted[end - 1]): \(String(cString: strerror(-dropped)))") }
            index = end
        }
    }

    /// The next page a vCPU (or anyone) touched and found missing, waiting up to
    /// `timeoutMilliseconds`; nil when none came.
    public func nextFault(timeoutMilliseconds: Int32) throws(KVMError) -> Int? {
        var address: UInt64 = 0
        let got = livemig_uffd_next_fault(descriptor, timeoutMilliseconds, &address)
        guard got >= 0 else { throw KVMError("cannot read the missing-page faults: \(String(cString: strerror(-got)))") }
        guard got == 1 else { return nil }
        let base = UInt64(UInt(bitPattern: memory.base))
        guard address >= base, address - base < UInt64(memory.sizeBytes) else {
            throw KVMError("a fault at 0x\(String(address, radix: 16)), outside the guest's memory")
        }
        return Int((address - base) / UInt64(GuestMemory.pageSizeBytes))
    }

    /// Places `count` consecutive pages from `page` on, from `source`, in one call, and wakes
    /// their waiters; false when one was there already (placed before: left as it was; the ones
    /// before it are placed).
    @discardableResult
    public func place(page: Int, count: Int = 1, from source: UnsafeRawPointer) throws(KVMError) -> Bool {
        guard page >= 0, count >= 1, count <= memory.pageCount - page else {
            throw KVMError("pages \(page) to \(page + count - 1) are outside the guest's \(memory.pageCount) pages")
        }
        let placed = livemig_uffd_copy(descriptor, memory.page(page), source, UInt64(count * GuestMemory.pageSizeBytes))
        guard placed >= 0 else { throw KVMError("cannot place page \(page)\(count > 1 ? " and the \(count - 1) after it" : ""): \(String(cString: strerror(-placed)))") }
        return placed == 0
    }
}
