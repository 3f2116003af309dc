import CXen
import Glibc
import MigrationCore

/// One domain as `livemig list` shows it on a Xen host (like `xl list`).
public struct XenDomain: Sendable, Equatable {
    public var id: UInt32
    public var name: String
    public var memoryMiB: Int
    public var vcpus: Int
    /// xl's six state letters: r b p s c d, '-' where clear.
    public var state: String
    public var cpuTimeSeconds: Double
    /// "pv", "hvm" or "pvh".
    public var type: String
}

/// The local Xen host, through libxenctrl and libxenlight (the CXen shim). Opening it on a
/// machine that is not a Xen host throws one line naming `/dev/xen/privcmd`.
public final class XenHost: @unchecked Sendable {
    let handle: OpaquePointer

    public init() throws(HostFailure) {
        handle = try Self.checked({ livemig_xen_open($0, $1) }, failed: { $0 == nil })!
    }

    deinit { livemig_xen_close(handle) }

    /// Whether this machine looks like a Xen host (dom0 with the privcmd device), without
    /// opening anything.
    public static var isXenHost: Bool { access("/dev/xen/privcmd", F_OK) == 0 }

    /// The domains, dom0 included, by id.
    public func domains() throws(HostFailure) -> [XenDomain] {
        var capacity = 64
        while true {
            var raw = [livemig_xen_domain](repeating: livemig_xen_domain(), count: capacity)
            let count = Int(try Self.checked({ livemig_xen_list(handle, &raw, Int32(capacity), $0, $1) }, failed: { $0 < 0 }))
            if count > capacity {
                capacity = count + 16
                continue
            }
            return raw.prefix(count).map(XenDomain.init(raw:)).sorted { $0.id < $1.id }
        }
    }

    /// The id of the domain called `name`.
    public func domainID(named name: String) throws(HostFailure) -> UInt32 {
        UInt32(try Self.checked({ livemig_xen_domid(handle, name, $0, $1) }, failed: { $0 < 0 }))
    }

    /// Runs a CXen call that, when it fails (as `failed` tells), has written a one-line reason
    /// into the message buffer it was given; throws that reason.
    static func checked<Result>(_ call: (UnsafeMutablePointer<CChar>, Int) -> Result,
                                failed: (Result) -> Bool) throws(HostFailure) -> Result {
        var message = [CChar](repeating: 0, count: 512)
        let result = message.withUnsafeMutableBufferPointer { call($0.baseAddress!, $0.count) }
        guard !failed(result) else { throw HostFailure(String(cString: message)) }
        return result
    }
}

extension XenDomain {
    init(raw: livemig_xen_domain) {
        var copy = raw
        id = raw.domid
        name = withUnsafeBytes(of: &copy.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        state = withUnsafeBytes(of: &copy.state) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        memoryMiB = Int(raw.current_memory_kib / 1024)
        vcpus = Int(raw.vcpus_online)
        cpuTimeSeconds = Double(raw.cpu_time_ns) / 1e9
        type = switch raw.type { case 1: "hvm"; case 2: "pv"; case 3: "pvh"; default: "?" }
    }
}
