/// What a host needs for livemig's mutual TLS (docs/tls.md): the operator's CA certificate,
/// this host's certificate and private key (signed by that CA), and optionally the names of
/// the peers it will migrate with.
///
/// Both ends present a certificate and both check the other's: a connection is accepted only
/// when the peer's chain ends at this CA (and at no other: the system's trust store is never
/// used). With `allowedPeerNames` non-empty, the peer's certificate must also carry one of the
/// names, as its subject common name or a DNS subjectAltName (compared without regard to case),
/// like QEMU's `tls-authz`. Load it once with `TLSContext(_:)`, which checks every file.
public struct TLSConfiguration: Sendable, Equatable {
    /// PEM file with the operator's CA certificate(s).
    public var caFilePath: String
    /// PEM file with this host's certificate (intermediate CA certificates may follow it).
    public var certificateFilePath: String
    /// PEM file with this host's unencrypted private key (keep it mode 0600).
    public var privateKeyFilePath: String
    /// Peer certificate names accepted; empty: any certificate the CA signed.
    public var allowedPeerNames: [String]

    public init(caFilePath: String, certificateFilePath: String, privateKeyFilePath: String, allowedPeerNames: [String] = []) {
        self.caFilePath = caFilePath
        self.certificateFilePath = certificateFilePath
        self.privateKeyFilePath = privateKeyFilePath
        self.allowedPeerNames = allowedPeerNames
    }

    /// The files under the names docs/tls.md gives them in `directory` (by default
    /// /etc/livemig/tls): ca-cert.pem, host-cert.pem and host-key.pem.
    public init(directory: String, allowedPeerNames: [String] = []) {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.init(caFilePath: "\(base)/ca-cert.pem", certificateFilePath: "\(base)/host-cert.pem",
                  privateKeyFilePath: "\(base)/host-key.pem", allowedPeerNames: allowedPeerNames)
    }

    public static let defaultDirectory = "/etc/livemig/tls"
}
