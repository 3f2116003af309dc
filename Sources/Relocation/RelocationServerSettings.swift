import MigrationExecutor

/// What `livemig receive` runs with: the configuration file's relocation entries (if there is
/// a file), then the command-line options over them.
public struct RelocationServerSettings: Equatable, Sendable {
    public var listenHost: String
    public var listenPort: Int
    public var hostsAllow: HostsAllow
    public var maxIncoming: Int
    public var maxPerPeer: Int
    public var handshakeTimeoutSeconds: Double
    /// Mutual TLS, when configured: then every connection must be TLS.
    public var tls: TLSConfiguration?

    public init(listenHost: String, listenPort: Int, hostsAllow: HostsAllow, maxIncoming: Int, maxPerPeer: Int,
                handshakeTimeoutSeconds: Double) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.hostsAllow = hostsAllow
        self.maxIncoming = maxIncoming
        self.maxPerPeer = maxPerPeer
        self.handshakeTimeoutSeconds = handshakeTimeoutSeconds
    }

    /// The command-line options, as given (nil: not given). `listen` is already parsed.
    public struct CommandLine: Equatable, Sendable {
        public var listen: (host: String, port: Int)?
        public var hostsAllow: String?
        public var maxIncoming: String?
        public var maxPerPeer: String?
        public var handshakeTimeout: String?
        /// `--tls-dir DIR`: the TLS files, laid out as docs/tls.md says.
        public var tlsDirectory: String?
        /// `--tls-allow 'NAME NAME'`: the peer certificate names allowed.
        public var tlsAllow: String?

        public init(listen: (host: String, port: Int)? = nil, hostsAllow: String? = nil, maxIncoming: String? = nil,
                    maxPerPeer: String? = nil, handshakeTimeout: String? = nil, tlsDirectory: String? = nil, tlsAllow: String? = nil) {
            self.tlsDirectory = tlsDirectory
            self.tlsAllow = tlsAllow
            self.listen = listen
            self.hostsAllow = hostsAllow
            self.maxIncoming = maxIncoming
            self.maxPerPeer = maxPerPeer
            self.handshakeTimeout = handshakeTimeout
        }

        public static func == (lhs: CommandLine, rhs: CommandLine) -> Bool {
            lhs.listen?.host == rhs.listen?.host && lhs.listen?.port == rhs.listen?.port && lhs.hostsAllow == rhs.hostsAllow
                && lhs.maxIncoming == rhs.maxIncoming && lhs.maxPerPeer == rhs.maxPerPeer && lhs.handshakeTimeout == rhs.handshakeTimeout
                && lhs.tlsDirectory == rhs.tlsDirectory && lhs.tlsAllow == rhs.tlsAllow
        }
    }

    /// The file (nil when there is none) with the command line over it. A file that does not
    /// say `(xend-relocation-server yes)` refuses, as xend would not have listened; so does one
    /// that asks for TLS without naming all of its files. TLS comes from the file's entries or
    /// `--tls-dir` (which wins); with it the one listener speaks only TLS.
    public static func resolve(file: XendConfigReader.File?, commandLine: CommandLine) throws(RelocationConfigurationError) -> RelocationServerSettings {
        let base = file?.configuration ?? RelocationServerConfiguration()
        var tls: TLSConfiguration?
        if let file {
            tls = try TLSConfiguration.relocationFiles(of: base, path: file.path)
            guard base.serverEnabled else {
                throw RelocationConfigurationError(
                    "\(file.path) does not enable the relocation server: add (xend-relocation-server yes) to it (xend's default is no), or give --no-config to let the command line decide")
            }
        }
        var settings = RelocationServerSettings(
            listenHost: base.address, listenPort: base.port, hostsAllow: base.hostsAllow, maxIncoming: base.maxIncoming,
            maxPerPeer: base.maxPerPeer, handshakeTimeoutSeconds: base.handshakeTimeoutSeconds)
        if let listen = commandLine.listen {
            (settings.listenHost, settings.listenPort) = listen
        }
        if let directory = commandLine.tlsDirectory {
            guard !directory.isEmpty else { throw RelocationConfigurationError("--tls-dir: name the directory with ca-cert.pem, host-cert.pem and host-key.pem") }
            tls = TLSConfiguration(directory: directory, allowedPeerNames: tls?.allowedPeerNames ?? [])
        }
        if let names = commandLine.tlsAllow {
            guard tls != nil else { throw RelocationConfigurationError("--tls-allow '\(names)': only with TLS (--tls-dir or the file's TLS entries)") }
            tls?.allowedPeerNames = names.split(separator: " ").map(String.init)
        }
        settings.tls = tls
        if let text = commandLine.hostsAllow {
            do {
                settings.hostsAllow = try HostsAllow(parsing: text)
            } catch {
                throw RelocationConfigurationError("--hosts-allow '\(text)': \(error.description)")
            }
        }
        if let text = commandLine.maxIncoming {
            settings.maxIncoming = try option("--max-incoming", ConfigurationValue.integer(text, in: RelocationServerConfiguration.maxIncomingRange))
        }
        if let text = commandLine.maxPerPeer {
            settings.maxPerPeer = try option("--max-per-peer", ConfigurationValue.integer(text, in: RelocationServerConfiguration.maxPerPeerRange))
        }
        if let text = commandLine.handshakeTimeout {
            settings.handshakeTimeoutSeconds = try option(
                "--handshake-timeout", ConfigurationValue.seconds(text, in: RelocationServerConfiguration.handshakeTimeoutRange))
        }
        return settings
    }

    private static func option<Value>(_ name: String, _ result: Result<Value, ConfigurationValue.Problem>) throws(RelocationConfigurationError) -> Value {
        switch result {
        case .success(let value): return value
        case .failure(let problem): throw RelocationConfigurationError("\(name): \(problem.description)")
        }
    }

    /// The start-up warning when anyone who reaches the port can start a guest here: listening
    /// beyond loopback (the listener's numeric address and port), no TLS, no hosts-allow.
    public func openToEveryoneWarning(boundAddress: String, boundPort: Int) -> String? {
        guard tls == nil, !SocketAddress.isLoopback(boundAddress), hostsAllow.allowsEveryone else { return nil }
        return "WARNING: listening on \(boundAddress.contains(":") ? "[\(boundAddress)]" : boundAddress):\(boundPort) beyond loopback with no TLS and an empty hosts-allow: anyone who reaches this port can start a guest on this host. Set (xend-relocation-hosts-allow '^PEER$ …') or --hosts-allow, or listen on 127.0.0.1."
    }
}
