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
        var message = [CChar](repeating: 0, count: 512)
        guard livemig_xen_logdirty(host.handle, id, on ? 1 : 0, &message, message.count) == 0 else {
            throw HostFailure(XenHost.text(message))
        }
    }

    public func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap {
        var words = [UInt64](repeating: 0, count: (observedPageCount + 63) / 64)
        var message = [CChar](repeating: 0, count: 512)
        let status = words.withUnsafeMutableBufferPointer {
            livemig_xen_read_and_clear_dirty(host.handle, id, $0.baseAddress, UInt64(observedPageCount), &message, message.count)
        }
        guard status == 0 else { throw HostFailure(XenHost.text(message)) }
        return DirtyBitmap(pageCount: observedPageCount, words: words)
    }

    /// Set once the domain is gone or shut down.
    public var stoppedReason: String? {
        guard let domains = try? host.domains() else { return nil }
        guard let domain = domains.first(where: { $0.id == id }) else { return "domain \(id) is gone" }
        return domain.state.contains("s") || domain.state.contains("c") || domain.state.contains("d") ? "domain \(id) is \(domain.state)" : nil
    }
}
