import CXen
import MigrationCore
import MigrationExecutor

/// A running Xen domain's dirty log (log-dirty mode, XEN_DOMCTL_SHADOW_OP_CLEAN), for
/// `DirtyLogObservation` (`livemig observe` on a Xen host). Page numbers are the guest's frame
/// numbers (pfns); the bitmap covers up to the domain's highest one.
public struct XenObservedDomain: ObservableGuest {
    public let host: XenHost
    public let id: UInt32
    public let observedPageCount: Int
    public var observedPageSizeBytes: Int { 4096 }

    public init(host: XenHost, name: String) throws(HostFailure) {
        self.host = host
        id = try host.domainID(named: name)
        guard id != 0 else { throw HostFailure("domain 0 cannot be observed (it is the host itself)") }
        observedPageCount = try host.guestPageCount(id)
    }

    public func setDirtyLogging(on: Bool) throws(HostFailure) {
        _ = try XenHost.checked({ livemig_xen_logdirty(host.handle, id, on ? 1 : 0, $0, $1) }, failed: { $0 != 0 })
    }

    public func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap {
        var words = [UInt64](repeating: 0, count: (observedPageCount + 63) / 64)
        let pages = UInt64(observedPageCount)
        _ = try words.withUnsafeMutableBufferPointer { (buffer) throws(HostFailure) in
            try XenHost.checked({ livemig_xen_read_and_clear_dirty(host.handle, id, buffer.baseAddress, pages, $0, $1) }, failed: { $0 != 0 })
        }
        return DirtyBitmap(pageCount: observedPageCount, words: words)
    }

    /// Set once the domain is gone or shut down.
    public var stoppedReason: String? {
        guard let domains = try? host.domains() else { return nil }
        guard let domain = domains.first(where: { $0.id == id }) else { return "domain \(id) is gone" }
        return domain.state.contains("s") || domain.state.contains("c") || domain.state.contains("d") ? "domain \(id) is \(domain.state)" : nil
    }
}
