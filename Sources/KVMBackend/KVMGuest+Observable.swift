import Glibc
import MigrationCore
import MigrationExecutor

/// A KVM guest's dirty log, for `DirtyLogObservation` (`livemig observe`).
extension KVMGuest: ObservableGuest {
    public var observedPageCount: Int { memory.pageCount }
    public var observedPageSizeBytes: Int { GuestMemory.pageSizeBytes }
    public var stoppedReason: String? { failure }

    /// Compares each page with zero, as the migration's channel does before it sends it. Pages
    /// the kernel has never backed (`mincore` says not resident: never written) count as zero
    /// without being read, since reading every hole would map it in (the zero page, with page
    /// tables for the guest's whole size). A page swapped out counts as zero too: an
    /// estimate for the model, not a migration's decision. Nil if `mincore` fails.
    public func zeroPageCount() -> Int? {
        let pages = memory.pageCount
        var resident = [UInt8](repeating: 0, count: pages)
        let status = resident.withUnsafeMutableBufferPointer {
            mincore(memory.base, pages * GuestMemory.pageSizeBytes, $0.baseAddress)
        }
        guard status == 0 else { return nil }
        let zero = [UInt8](repeating: 0, count: GuestMemory.pageSizeBytes)
        return zero.withUnsafeBytes { zeroBytes in
            (0 ..< pages).reduce(0) { count, page in
                resident[page] & 1 == 0 || memcmp(memory.page(page), zeroBytes.baseAddress!, GuestMemory.pageSizeBytes) == 0 ? count + 1 : count
            }
        }
    }

    public func setDirtyLogging(on: Bool) throws(HostFailure) {
        do {
            try setDirtyLogging(on)
        } catch {
            throw HostFailure(error.description)
        }
    }

    public func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap {
        do {
            return try readDirtyLog(clear: true)
        } catch {
            throw HostFailure(error.description)
        }
    }
}
