/// The relocation server's entries of `xend-config.sxp`, with xend's names and defaults
/// (`tools/python/xen/xend/XendOptions.py`), and livemig's own entries (named `livemig-…`,
/// which xend would have ignored). `XendConfigReader` fills it from a file; every other entry of
/// a real xend-config.sxp (xend-http-server, network-script, dom0-min-mem, …) is ignored.
/// See docs/relocation-server.md.
public struct RelocationServerConfiguration: Equatable, Sendable {
    /// `(xend-relocation-server yes|no)`: xend served relocation only when it said yes.
    public var serverEnabled = false
    /// `(xend-relocation-port 8002)`.
    public var port = 8002
    /// `(xend-relocation-address '')`: the address to listen on; empty for all.
    public var address = ""
    /// `(xend-relocation-hosts-allow '')`: see `HostsAllow`.
    public var hostsAllow = HostsAllow.everyone
    /// `(xend-relocation-ssl-server no)`: xend's second, TLS-only listener.
    public var sslServerEnabled = false
    /// `(xend-relocation-ssl-port 8003)`.
    public var sslPort = 8003
    /// `(xend-relocation-server-ssl-key-file FILE)`, `(xend-relocation-server-ssl-cert-file FILE)`:
    /// the host's key and certificate; a relative name is taken in the configuration file's
    /// directory (xend: in /etc/xen).
    public var sslKeyFile: String?
    public var sslCertFile: String?
    /// `(xend-relocation-ssl no)`: whether xend's *sending* side used TLS.
    public var clientUsesSSL = false
    /// `(livemig-relocation-tls-ca-file FILE)`: the operator's CA; with it, both hosts must
    /// present a certificate it signed (mutual TLS).
    public var tlsCAFile: String?
    /// `(livemig-relocation-tls-peer-names 'NAME NAME')`: if not empty, the peer certificate
    /// names allowed (like QEMU's `tls-authz`).
    public var tlsPeerNames: [String] = []
    /// `(livemig-relocation-max-incoming 8)`: concurrent incoming migrations.
    public var maxIncoming = 8
    /// `(livemig-relocation-max-per-peer 4)`: concurrent incoming migrations from one address.
    public var maxPerPeer = 4
    /// `(livemig-relocation-handshake-timeout 30)`: seconds from accepting a connection to the
    /// end of the stream header.
    public var handshakeTimeoutSeconds = 30.0

    public init() {}

    public static let maxIncomingRange = 1 ... 1024
    public static let maxPerPeerRange = 1 ... 1024
    public static let handshakeTimeoutRange = 0.1 ... 3600.0
    public static let portRange = 1 ... 65535

    /// Whether the file asks for TLS (then it must name all of its files; see `TLSConfiguration.relocationFiles`).
    public var asksForTLS: Bool { sslServerEnabled || tlsCAFile != nil || !tlsPeerNames.isEmpty }
}
