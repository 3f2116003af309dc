import CTLS

/// The names in the peer's certificate that livemig's checks use: the subject common name and
/// the DNS subjectAltNames (names with an embedded NUL are left out by CTLS, so a forged
/// "good.example\0.evil" can never match).
public struct TLSPeerIdentity: Sendable, Equatable, CustomStringConvertible {
    public var commonName: String?
    public var dnsNames: [String]
    /// The TLS 1.3 suite the session uses (for logs: not part of the identity's names).
    public var suite = ""

    public init(commonName: String?, dnsNames: [String]) {
        self.commonName = commonName
        self.dnsNames = dnsNames
    }

    init(session: OpaquePointer) {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = ctls_peer_common_name(session, &buffer, buffer.count)
        commonName = length >= 0 ? String(nulTerminated: buffer) : nil
        let used = Int(ctls_peer_dns_names(session, &buffer, buffer.count))
        var names: [String] = []
        var start = 0
        while start < used {
            let name = buffer[start ..< used]
            names.append(String(nulTerminated: name))
            start = (name.firstIndex(of: 0) ?? used) + 1
        }
        dnsNames = names
        suite = String(cString: ctls_session_suite(session))
    }

    /// Every name, common name first.
    public var names: [String] { (commonName.map { [$0] } ?? []) + dnsNames.filter { $0 != commonName } }

    /// Whether one of the names is in `allowed` (lowercased names; DNS names ignore case).
    func isListed(in allowed: Set<String>) -> Bool { names.contains { allowed.contains($0.lowercased()) } }

    /// "CN hosta.example, DNS hosta.example, a.example" for messages.
    public var description: String {
        var parts: [String] = []
        if let commonName { parts.append("CN \(commonName)") }
        if !dnsNames.isEmpty { parts.append("DNS \(dnsNames.joined(separator: ", "))") }
        return parts.isEmpty ? "no names" : parts.joined(separator: "; ")
    }
}
