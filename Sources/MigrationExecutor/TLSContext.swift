import CTLS
import Glibc
import MigrationCore

/// A `TLSConfiguration` loaded into OpenSSL (an SSL_CTX): made once, at start-up, so that a
/// missing file, a key that does not match its certificate or an expired certificate is named
/// before the first peer connects; then shared by every connection (thread-safe: OpenSSL
/// allows SSL_new on a configured context from any thread).
///
/// Why the system's OpenSSL and not swift-nio-ssl: the executor pumps a migration over
/// blocking sockets on dedicated threads and reads page data straight into guest memory
/// (`BlockingSocket.readScattered`); an OpenSSL session over the same file descriptor keeps
/// that design, while swift-nio-ssl works only inside a swift-nio event loop (and brings
/// swift-nio's build). See docs/tls.md.
public final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    public let configuration: TLSConfiguration
    /// `allowedPeerNames`, lowercased, for comparisons.
    let allowedPeerNames: Set<String>

    public init(_ configuration: TLSConfiguration) throws(HostFailure) {
        for (name, path) in [("CA file", configuration.caFilePath), ("certificate file", configuration.certificateFilePath),
                             ("private key file", configuration.privateKeyFilePath)] {
            try Self.requireReadableFile(path, named: name)
        }
        for name in configuration.allowedPeerNames {
            guard !name.isEmpty, !name.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) else {
                throw HostFailure("TLS allowed peer name '\(name)': a certificate name is not empty and has no spaces or control characters")
            }
        }
        var error = [CChar](repeating: 0, count: 256)
        guard let context = ctls_context_new(&error, error.count) else {
            throw HostFailure("TLS: cannot set up OpenSSL: \(String(nulTerminated: error))")
        }
        self.context = context
        self.configuration = configuration
        allowedPeerNames = Set(configuration.allowedPeerNames.map { $0.lowercased() })
        try Self.load("CA file", configuration.caFilePath) { ctls_context_load_ca_file(context, $0, $1, $2) }
        try Self.load("certificate file", configuration.certificateFilePath) { ctls_context_load_certificate_file(context, $0, $1, $2) }
        try Self.load("private key file", configuration.privateKeyFilePath) { ctls_context_load_private_key_file(context, $0, $1, $2) }
        guard ctls_context_check_certificate_dates(context, &error, error.count) == 1 else {
            throw HostFailure("TLS certificate file \(configuration.certificateFilePath): \(String(nulTerminated: error))")
        }
    }

    /// Runs one of CTLS's loaders on `path`; its error, if any, named with the file.
    private static func load(_ name: String, _ path: String,
                             _ loader: (String, UnsafeMutablePointer<CChar>, Int) -> Int32) throws(HostFailure) {
        var error = [CChar](repeating: 0, count: 256)
        guard loader(path, &error, error.count) != 1 else { return }
        throw HostFailure("TLS \(name) \(path): \(String(nulTerminated: error))")
    }

    deinit { ctls_context_free(context) }

    /// A clear error for a file OpenSSL would only call "system library" trouble.
    private static func requireReadableFile(_ path: String, named name: String) throws(HostFailure) {
        guard !path.isEmpty else { throw HostFailure("TLS \(name): no path given") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HostFailure("TLS \(name) \(path): cannot read: \(String(cString: strerror(errno)))") }
        Glibc.close(fd)
    }
}
