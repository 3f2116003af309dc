import ArgumentParser
import MigrationExecutor

/// `--tls`, `--tls-dir`, `--tls-allow` of a command that connects to a destination's `livemig
/// receive` (`migrate`, `calibrate --destination`): mutual TLS with the host's files, checked
/// here once so that a bad file is named before anything connects.
struct TLSClientOptions: ParsableArguments {
    @Flag(help: "Mutual TLS with the files in /etc/livemig/tls (docs/tls.md).") var tls = false
    @Option(help: "Mutual TLS with the files in DIR (ca-cert.pem, host-cert.pem, host-key.pem).") var tlsDir: String?
    @Option(help: "With TLS: destination certificate names accepted besides the target host's own, space-separated.") var tlsAllow: String?

    /// The TLS files' directory (absolute) and the extra names allowed; nil without TLS.
    func checked() throws -> (directory: String, allowedPeerNames: [String]?)? {
        guard tls || tlsDir != nil else {
            if tlsAllow != nil { throw failure("--tls-allow: only with --tls or --tls-dir") }
            return nil
        }
        let directory = absolutePath(tlsDir ?? TLSConfiguration.defaultDirectory)
        do {
            _ = try TLSContext(TLSConfiguration(directory: directory))
        } catch {
            throw failure("--tls-dir \(directory): \(error.description)")
        }
        return (directory, tlsAllow.map { $0.split(separator: " ").map(String.init) })
    }

    /// The client configuration, or nil without TLS.
    func configuration() throws -> TLSConfiguration? {
        try checked().map { TLSConfiguration(directory: $0.directory, allowedPeerNames: $0.allowedPeerNames ?? []) }
    }
}
