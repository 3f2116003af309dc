import CXen
import Glibc
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
    private(set) var suspendedWallClockSeconds: Double?
    /// Bytes the socket had sent when the domain was suspended (TCP_INFO), if it is one.
    private(set) var bytesSentAtSuspend: Int?
    private var fd: Int32 = -1

    init(policy: PolicyConfiguration, guestPageCount: Int) {
        advisor = PrecopyCallbackAdvisor(policy: policy.makePolicy(), guestPageCount: guestPageCount)
    }

    /// Runs the save; throws its reason if it fails (the domain may then be suspended).
    func run(host: XenHost, domainID: UInt32, fd: Int32, live: Bool) throws(HostFailure) {
        self.fd = fd
        var message = [CChar](repeating: 0, count: 512)
        let context = Unmanaged.passUnretained(self).toOpaque()
        let precopy: livemig_xen_precopy_fn = { iteration, totalWritten, dirtyCount, context in
            let save = Unmanaged<XenDomainSave>.fromOpaque(context!).takeUnretainedValue()
            return save.advisor.answer(iteration: Int(iteration), totalWritten: Int(totalWritten), dirtyCount: Int(dirtyCount),
                                       nowSeconds: monotonicSeconds()).rawValue
        }
        let suspended: livemig_xen_suspended_fn = { context in
            let save = Unmanaged<XenDomainSave>.fromOpaque(context!).takeUnretainedValue()
            save.suspendedSeconds = monotonicSeconds()
            save.suspendedWallClockSeconds = wallClockSeconds()
            let sent = livemig_socket_bytes_sent(save.fd)
            save.bytesSentAtSuspend = sent >= 0 ? Int(sent) : nil
        }
        let status = withExtendedLifetime(self) {
            livemig_xen_save(host.handle, domainID, fd, live ? 1 : 0, precopy, suspended, context, &message, message.count)
        }
        guard status == 0 else { throw HostFailure(XenHost.text(message)) }
    }
}

extension XenHost {
    /// Resumes a domain a failed save left suspended; a no-op if it is running.
    public func resumeIfSuspended(_ id: UInt32) throws(HostFailure) {
        // 0: running, nothing to do; 1 suspended; -1 unknown: try (a resume of a running
        // domain fails harmlessly).
        guard livemig_xen_is_suspended(handle, id) != 0 else { return }
        var message = [CChar](repeating: 0, count: 512)
        guard livemig_xen_resume(handle, id, &message, message.count) == 0 else { throw HostFailure(Self.text(message)) }
    }

    /// Refuses what livemig cannot move: domain 0, and HVM or PVH domains (their device
    /// model's state is not carried; libxenguest needs the QEMU log-dirty switch for them).
    public func requireMigratablePV(_ id: UInt32, name: String) throws(HostFailure) {
        guard id != 0 else { throw HostFailure("domain 0 is the host itself and cannot move") }
        guard let domain = try domains().first(where: { $0.id == id }) else { throw HostFailure("domain '\(name)' is gone") }
        guard domain.type == "pv" else { throw HostFailure("domain '\(name)' is \(domain.type.uppercased()); livemig moves PV domains only") }
    }

    public func destroy(_ id: UInt32) throws(HostFailure) {
        var message = [CChar](repeating: 0, count: 512)
        guard livemig_xen_destroy(handle, id, &message, message.count) == 0 else { throw HostFailure(Self.text(message)) }
    }

    /// The domain's libxl configuration as JSON (what xl sends ahead of a migration stream).
    public func configurationJSON(_ id: UInt32) throws(HostFailure) -> String {
        var message = [CChar](repeating: 0, count: 512)
        guard let json = livemig_xen_domain_config_json(handle, id, &message, message.count) else {
            throw HostFailure(Self.text(message))
        }
        defer { free(json) }
        return String(cString: json)
    }

    /// Pages a dirty bitmap (and the report) of this domain covers.
    public func guestPageCount(_ id: UInt32) throws(HostFailure) -> Int {
        var message = [CChar](repeating: 0, count: 512)
        let pages = livemig_xen_guest_pages(handle, id, &message, message.count)
        guard pages > 0 else { throw HostFailure(Self.text(message)) }
        return Int(pages)
    }
}
