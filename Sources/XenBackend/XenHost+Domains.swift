import CXen
import Glibc
import MigrationCore

/// What livemig does to a domain through libxenlight: resume, check, destroy, rename, unpause,
/// and read its configuration and size.
extension XenHost {
    /// Resumes a domain a failed save left suspended; a no-op if it is running.
    public func resumeIfSuspended(_ id: UInt32) throws(HostFailure) {
        // 0: running, nothing to do; 1 suspended; -1 unknown: try (a resume of a running
        // domain fails harmlessly).
        guard livemig_xen_is_suspended(handle, id) != 0 else { return }
        _ = try Self.checked({ livemig_xen_resume(handle, id, $0, $1) }, failed: { $0 != 0 })
    }

    /// Refuses what livemig cannot move: domain 0, and HVM or PVH domains (their device
    /// model's state is not carried; libxenguest needs the QEMU log-dirty switch for them).
    public func requireMigratablePV(_ id: UInt32, name: String) throws(HostFailure) {
        guard id != 0 else { throw HostFailure("domain 0 is the host itself and cannot move") }
        guard let domain = try domains().first(where: { $0.id == id }) else { throw HostFailure("domain '\(name)' is gone") }
        guard domain.type == "pv" else { throw HostFailure("domain '\(name)' is \(domain.type.uppercased()); livemig moves PV domains only") }
    }

    public func destroy(_ id: UInt32) throws(HostFailure) {
        _ = try Self.checked({ livemig_xen_destroy(handle, id, $0, $1) }, failed: { $0 != 0 })
    }

    /// The domain's libxl configuration as JSON (what xl sends ahead of a migration stream).
    public func configurationJSON(_ id: UInt32) throws(HostFailure) -> String {
        let json = try Self.checked({ livemig_xen_domain_config_json(handle, id, $0, $1) }, failed: { $0 == nil })!
        defer { free(json) }
        return String(cString: json)
    }

    /// Pages a dirty bitmap (and the report) of this domain covers.
    public func guestPageCount(_ id: UInt32) throws(HostFailure) -> Int {
        Int(try Self.checked({ livemig_xen_guest_pages(handle, id, $0, $1) }, failed: { $0 <= 0 }))
    }

    public func rename(_ id: UInt32, from old: String?, to new: String) throws(HostFailure) {
        _ = try Self.checked({ livemig_xen_rename(handle, id, old, new, $0, $1) }, failed: { $0 != 0 })
    }

    public func unpause(_ id: UInt32) throws(HostFailure) {
        _ = try Self.checked({ livemig_xen_unpause(handle, id, $0, $1) }, failed: { $0 != 0 })
    }

    /// Builds a domain named `name` from `config` and the libxl stream on `fd`
    /// (libxl_domain_create_restore), left paused; returns its id.
    public func restore(_ config: String, named name: String, from fd: Int32) throws(HostFailure) -> UInt32 {
        do {
            return UInt32(try Self.checked({ livemig_xen_restore(handle, config, name, fd, $0, $1) }, failed: { $0 < 0 }))
        } catch {
            throw HostFailure("restoring \(name): \(error.description)")
        }
    }

    /// The `c_info.name` of a libxl_domain_config JSON.
    public func configurationName(_ json: String) throws(HostFailure) -> String {
        guard let raw = livemig_xen_config_name(handle, json) else { throw HostFailure("the domain configuration has no name") }
        defer { free(raw) }
        return String(cString: raw)
    }
}
