import CXen

/// What `livemig` learned about the local Xen host through libxenctrl.
public struct XenHostInfo: Sendable, Equatable {
    public var versionMajor: Int
    public var versionMinor: Int
    public var totalPages: UInt64
    public var freePages: UInt64
}

/// Why the local machine cannot be used as a Xen host, in one line.
public struct XenUnavailable: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Probes the local machine for a Xen host through the CXen shim (libxenctrl). On a machine
/// that is not a Xen host this throws one line naming `/dev/xen/privcmd`, never libxc's log.
public enum XenHostProbe {
    public static func probe() throws(XenUnavailable) -> XenHostInfo {
        var info = livemig_xen_host_info()
        var message = [CChar](repeating: 0, count: 512)
        let status = livemig_xen_probe(&info, &message, message.count)
        guard status == 0 else {
            let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw XenUnavailable(description: text)
        }
        return XenHostInfo(
            versionMajor: Int(info.major), versionMinor: Int(info.minor),
            totalPages: info.total_pages, freePages: info.free_pages)
    }

    /// The libxen ABI this binary was linked against.
    public static var buildVersion: String { String(cString: livemig_xen_build_version()) }
}
