import MigrationExecutor
import Relocation

extension TLSConfiguration {
    /// The relocation server's TLS files as the executor's configuration.
    init(_ files: RelocationTLSFiles) {
        self.init(caFilePath: files.caFile, certificateFilePath: files.certificateFile, privateKeyFilePath: files.keyFile,
                  allowedPeerNames: files.allowedPeerNames)
    }
}
