import Foundation

/// The numeric addresses of a connected or listening socket, as hosts-allow, the per-peer
/// limit, the start-up warning and the data streams' listener (same address, same peer) need them.
public enum SocketAddress {
    /// The peer's address, numerically (`10.0.0.7`, `fe80::1%eth0`), or nil if the socket has
    /// none. An IPv4 peer of an IPv6 socket (`::ffff:10.0.0.7`) is given as IPv4 (`10.0.0.7`),
    /// as xend (IPv4 only) saw it, so that `^10\.` means the same on either kind of socket.
    public static func peer(of fd: Int32) -> String? {
        numeric { getpeername(fd, $0, $1) }
    }

    /// The address a socket is bound to, numerically (`0.0.0.0`, `::`, `127.0.0.1`).
    public static func local(of fd: Int32) -> String? {
        numeric { getsockname(fd, $0, $1) }
    }

    /// Whether `address` (numeric) is a loopback address: 127.0.0.0/8 or ::1.
    public static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1"
    }

    private static func numeric(_ get: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { get($0, &length) }
        }
        guard status == 0 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard named == 0 else { return nil }
        return unmapped(String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// `::ffff:a.b.c.d` as `a.b.c.d`; anything else unchanged.
    static func unmapped(_ address: String) -> String {
        let prefix = "::ffff:"
        guard address.lowercased().hasPrefix(prefix), address.dropFirst(prefix.count).contains(".") else { return address }
        return String(address.dropFirst(prefix.count))
    }
}

extension SocketAddress {
    /// The peer as `address:port` (numeric), for log lines.
    public static func peerWithPort(of fd: Int32) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard status == 0, let address = peer(of: fd) else { return nil }
        let family = Int32(storage.ss_family)
        let port = withUnsafePointer(to: &storage) { pointer -> Int in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
        return "\(address):\(port)"
    }
}
