import MigrationExecutor

extension TLSConfiguration {
    /// The TLS files a configuration file names, or nil when it asks for no TLS. It must name
    /// all three files: xend's SSL listener checked no peer at all, livemig requires both
    /// sides to prove themselves, so the CA entry is needed too. With these the relocation
    /// server's listener speaks only TLS: a plain connection is refused.
    static func relocationFiles(of configuration: RelocationServerConfiguration, path: String) throws(RelocationConfigurationError) -> TLSConfiguration? {
        guard configuration.asksForTLS else { return nil }
        let missing = [("livemig-relocation-tls-ca-file", configuration.tlsCAFile),
                       ("xend-relocation-server-ssl-cert-file", configuration.sslCertFile),
                       ("xend-relocation-server-ssl-key-file", configuration.sslKeyFile)].filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty, let ca = configuration.tlsCAFile, let certificate = configuration.sslCertFile,
              let key = configuration.sslKeyFile else {
            throw RelocationConfigurationError(
                "\(path) asks for TLS but does not name \(missing.joined(separator: ", ")): mutual TLS needs the CA, this host's certificate and its key")
        }
        return TLSConfiguration(caFilePath: ca, certificateFilePath: certificate, privateKeyFilePath: key,
                                allowedPeerNames: configuration.tlsPeerNames)
    }
}
