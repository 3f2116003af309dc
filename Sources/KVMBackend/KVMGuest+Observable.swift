import Glibc
import MigrationCore
import MigrationExecutor

/// A KVM guest's dirty log, for `DirtyLogObservation` (`livemig observe`).
extension KVMGuest: ObservableGuest {
    public var observedPageCount: Int { memory.pageCount }
    public var observedPageSizeBytes: Int { GuestMemory.pageSizeBytes }
    public var stoppedReason: String? { failure }

    /// Compares each page with zero, as the migration's channel does before it sends it.
    public func zeroPageCount() -> Int? {
        let zero = [UInt8](repeating: 0, count: GuestMemory.pageSizeBytes)
        return zero.withUnsafeBytes { zeroBytes in
            (0 ..< memory.pageCount).reduce(0) { count, page in
                memcmp(memory.page(page), zeroBytes.baseAddress!, GuestMemory.pageSizeBytes) == 0 ? count + 1 : count
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
