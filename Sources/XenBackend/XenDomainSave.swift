import CXen
import MigrationCore
import MigrationExecutor

/// One run of libxenguest's `xc_domain_save` on a domain, with the engine core's policy
/// answering its pre-copy questions (`PrecopyCallbackAdvisor`) and the suspend time noted for
/// the downtime. Writes the libxc part of the stream to `fd`; the framing around it (xl's and
/// libxl's) is the caller's.
final class XenDomainSave: @unchecked Sendable {
    private(set) var advisor: PrecopyCallbackAdvisor
    let startSeconds = monotonicSeconds()
    private(set) var suspendedSeconds: Double?
    /// Bytes the socket had sent when the domain was suspended (TCP_INFO), if it is one.
    private(set) var bytesSentAtSuspend: Int?
    private var fd: Int32 = -1

    init(policy: PolicyConfiguration, guestPageCount: Int) {
        advisor = PrecopyCallbackAdvisor(policy: policy.makePolicy(), guestPageCount: guestPageCount)
    }

    /// Runs the save; throws its reason if it fails (the domain may then be suspended).
    func run(host: XenHost, domainID: UInt32, fd: Int32, live: Bool) throws(HostFailure) {
        self.fd = fd
        let context = Unmanaged.passUnretained(self).toOpaque()
        let precopy: livemig_xen_precopy_fn = { iteration, totalWritten, dirtyCount, context in
            let save = Unmanaged<XenDomainSave>.fromOpaque(context!).takeUnretainedValue()
            return save.advisor.answer(iteration: Int(iteration), totalWritten: Int(totalWritten), dirtyCount: Int(dirtyCount),
                                       nowSeconds: monotonicSeconds()).rawValue
        }
        let suspended: livemig_xen_suspended_fn = { context in
            let save = Unmanaged<XenDomainSave>.fromOpaque(context!).takeUnretainedValue()
            save.suspendedSeconds = monotonicSeconds()
            let sent = livemig_socket_bytes_sent(save.fd)
            save.bytesSentAtSuspend = sent >= 0 ? Int(sent) : nil
        }
        _ = try withExtendedLifetime(self) { () throws(HostFailure) in
            try XenHost.checked({ livemig_xen_save(host.handle, domainID, fd, live ? 1 : 0, precopy, suspended, context, $0, $1) },
                                failed: { $0 != 0 })
        }
    }
}
