import MigrationCore
import MigrationExecutor

/// A KVM guest's dirty log, for `DirtyLogObservation` (`livemig observe`).
extension KVMGuest: ObservableGuest {
    public var observedPageCount: Int { memory.pageCount }
    public var observedPageSizeBytes: Int { GuestMemory.pageSizeBytes }
    public var stoppedReason: String? { failure }

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
