import CXen
import MigrationCore
import MigrationExecutor

/// One run of libxenguest's `xc_domain_save` on a domain, with the engine core's policy
/// answering its pre-copy questions (`PrecopyCallbackAdvisor`) and the suspend time noted for
/// the downtime. Writes the libxc part of the stream to `fd`; the framing around it (xl's and
/// libxl's) is the caller's.
public final class XenDomainSave: @unchecked Sendable {
    private(set) var advisor: PrecopyCallbackAdvisor
    let startSeconds = monotonicSeconds()
    private(set) var suspendedSeconds: Double?
    /// Bytes the stream had sent when the domain was suspended, if they can be known.
    private(set) var bytesSentAtSuspend: Int?
    /// Bytes the stream has sent so far: the socket's own count (TCP_INFO), or a relay's.
    let bytesSent: () -> Int?

    init(policy: PolicyConfiguration, guestPageCount: Int, bytesSent: @escaping () -> Int?) {
        advisor = PrecopyCallbackAdvisor(policy: policy.makePolicy(), guestPageCount: guestPageCount)
        self.bytesSent = bytesSent
    }

    /// Called (on the save's thread) once the domain is suspended: arms `--max-downtime`.
    var onSuspended: (() -> Void)?

    /// libxenguest suspended the domain: the downtime starts.
    func noteSuspended() {
        suspendedSeconds = monotonicSeconds()
        bytesSentAtSuspend = bytesSent()
        onSuspended?()
    }

    /// Runs the save; throws its reason if it fails (the domain may then be suspended).
    func run(host: XenHost, domainID: UInt32, fd: Int32, live: Bool) throws(HostFailure) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        let precopy: livemig_xen_precopy_fn = { iteration, totalWritten, dirtyCount, context in
            let save = Unmanaged<XenDomainSave>.fromOpaque(context!).takeUnretainedValue()
            return save.advisor.answer(iteration: Int(iteration), totalWritten: Int(totalWritten), dirtyCount: Int(dirtyCount),
                                       nowSeconds: monotonicSeconds()).rawValue
        }
        let suspended: livemig_xen_suspended_fn = { context in
            Unmanaged<XenDomainSave>.fromOpaque(context!).takeUnretainedValue().noteSuspended()
        }
        _ = try withExtendedLifetime(self) { () throws(HostFailure) in
            try XenHost.checked({ livemig_xen_save(host.handle, domainID, fd, live ? 1 : 0, precopy, suspended, context, $0, $1) },
                                failed: { $0 != 0 })
        }
    }
}
