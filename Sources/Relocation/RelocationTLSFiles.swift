/// The files of the relocation server's mutual TLS: the operator's CA (peers must present a
/// certificate it signed), this host's certificate and key, and optionally the peer
/// certificate names allowed (like QEMU's `tls-authz`). With these the listener speaks only
/// TLS: a plain connection is refused.
public struct RelocationTLSFiles: Equatable, Sendable {
    public var caFile: String
    public var certificateFile: String
    public var keyFile: String
    public var allowedPeerNames: [String]

    public init(caFile: String, certificateFile: String, keyFile: String, allowedPeerNames: [String] = []) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.allowedPeerNames = allowedPeerNames
    }

    /// The files of a directory laid out as docs/tls.md says (`ca-cert.pem`, `host-cert.pem`,
    /// `host-key.pem`), like QEMU's `tls-creds-x509,dir=`.
    public init(directory: String, allowedPeerNames: [String] = []) {
        self.init(caFile: "\(directory)/ca-cert.pem", certificateFile: "\(directory)/host-cert.pem",
                  keyFile: "\(directory)/host-key.pem", allowedPeerNames: allowedPeerNames)
    }

    /// The TLS files a configuration file names, or nil when it asks for no TLS. It must name
    /// all three files: xend's SSL listener checked no peer at all, livemig requires both
    /// sides to prove themselves, so the CA entry is needed too.
    static func from(_ configuration: RelocationServerConfiguration, path: String) throws(RelocationConfigurationError) -> RelocationTLSFiles? {
        guard configuration.asksForTLS else { return nil }
        let missing = [("livemig-relocation-tls-ca-file", configuration.tlsCAFile),
                       ("xend-relocation-server-ssl-cert-file", configuration.sslCertFile),
                       ("xend-relocation-server-ssl-key-file", configuration.sslKeyFile)].filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty, let ca = configuration.tlsCAFile, let certificate = configuration.sslCertFile,
              let key = configuration.sslKeyFile else {
            throw RelocationConfigurationError(
                "\(path) asks for TLS but does not name \(missing.joined(separator: ", ")): mutual TLS needs the CA, this host's certificate and its key")
        }
        return RelocationTLSFiles(caFile: ca, certificateFile: certificate, keyFile: key, allowedPeerNames: configuration.tlsPeerNames)
    }
}
