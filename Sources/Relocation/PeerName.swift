import Foundation

/// A peer's fully qualified name as Python's `socket.getfqdn(address)` gives it, which is what
/// xend matched hosts-allow against: `gethostbyaddr(address)`, then the first of the primary
/// name and its aliases that contains a dot, else the primary name; the address itself when
/// the reverse lookup fails.
///
/// Beyond xend: the lookup has a deadline. The receiver decides on one connection at a time, and
/// a peer controls its own reverse DNS; a lookup that takes longer than `timeoutSeconds` counts
/// as failed (the name is the address), and at most `maxOutstandingLookups` slow lookups run
/// on in the background (more also count as failed at once).
public enum PeerName {
    public static let defaultTimeoutSeconds = 2.0
    public static let maxOutstandingLookups = 8

    /// The name, or the address when there is none or the lookup did not answer in time.
    public static func fullyQualified(_ address: String, timeoutSeconds: Double = defaultTimeoutSeconds) -> String {
        guard outstanding.enter() else { return address }
        let answer = LookupAnswer()
        let thread = Thread {
            answer.set(lookUp(address))
            outstanding.leave()
        }
        thread.start()
        return answer.wait(seconds: timeoutSeconds) ?? address
    }

    /// The lookup itself (blocking): `gethostbyaddr_r` on the numeric address.
    public static func lookUp(_ address: String) -> String {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(address, nil, &hints, &result) == 0, let info = result else { return address }
        defer { freeaddrinfo(result) }
        let family = info.pointee.ai_family
        var raw: [UInt8]
        if family == AF_INET {
            raw = info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        } else if family == AF_INET6 {
            raw = info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
        } else {
            return address
        }
        var entry = hostent()
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        var found: UnsafeMutablePointer<hostent>?
        var lookupError: Int32 = 0
        let status = gethostbyaddr_r(&raw, socklen_t(raw.count), family, &entry, &buffer, buffer.count, &found, &lookupError)
        guard status == 0, let host = found, let primary = host.pointee.h_name else { return address }
        var names = [String(cString: primary)]
        if var alias = host.pointee.h_aliases {
            while let name = alias.pointee {
                names.append(String(cString: name))
                alias += 1
            }
        }
        return names.first { $0.contains(".") } ?? names[0]
    }

    private static let outstanding = OutstandingLookups()
}

/// One lookup's answer, handed from the lookup thread to the waiting one.
private final class LookupAnswer: @unchecked Sendable {
    private let condition = NSCondition()
    private var name: String?

    func set(_ value: String) {
        condition.lock()
        name = value
        condition.signal()
        condition.unlock()
    }

    func wait(seconds: Double) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while name == nil, condition.wait(until: deadline) {}
        return name
    }
}

/// Counts the lookups still running, up to `PeerName.maxOutstandingLookups`.
private final class OutstandingLookups: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func enter() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard count < PeerName.maxOutstandingLookups else { return false }
        count += 1
        return true
    }

    func leave() {
        lock.lock()
        count -= 1
        lock.unlock()
    }
}
