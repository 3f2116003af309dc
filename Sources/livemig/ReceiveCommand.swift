import ArgumentParser
import Foundation
import GuestControl
import MigrationCore
import MigrationExecutor
import Relocation
import XenBackend

/// `livemig receive` (alias `relocation-server`): xend's relocation server. Accepts migrations
/// and runs each arriving guest under its own name, in its own daemon process (like
/// `xl migrate-receive`, one process per incoming guest). Reads xend's configuration file for
/// the relocation entries; see docs/relocation-server.md.
struct ReceiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive", abstract: "Accept migrations and run arriving guests under their own names (xend's relocation server).",
        discussion: "With a configuration file (--config, or /etc/xen/xend-config.sxp when present) it serves only if the file says (xend-relocation-server yes); the options below override the file's entries. See docs/relocation-server.md.",
        aliases: ["relocation-server"])

    @Option(help: "xend's configuration file (default: \(XendConfigReader.defaultPath) when present).") var config: String?
    @Flag(help: "Read no configuration file: the defaults and the options below decide.") var noConfig = false
    @Option(help: "ADDR:PORT to listen on (default: the file's xend-relocation-address and -port; all addresses, port 8002, xend's relocation port; port 0: any free port).")
    var listen: String?
    @Option(help: "Space-separated regular expressions; a peer is let in if one matches the start of its address or of its name ('' lets everyone in).")
    var hostsAllow: String?
    @Option(help: "At most this many incoming migrations at once (default 8).") var maxIncoming: String?
    @Option(help: "At most this many incoming migrations at once from one address (default 4).") var maxPerPeer: String?
    @Option(help: "Seconds a connection may take to send its stream header (default 30).") var handshakeTimeout: String?
    @Option(help: "Mutual TLS with the files in DIR (ca-cert.pem, host-cert.pem, host-key.pem; see docs/tls.md): the listener then speaks only TLS.")
    var tlsDir: String?
    @Option(help: "With TLS: the peer certificate names allowed, space-separated (default: any the CA signed).") var tlsAllow: String?
    @Flag(help: "Take one migration, then exit (queries and throughput probes do not count).") var once = false
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "Receive Xen domains (the default on a Xen host), speaking xl's migration protocol; an error elsewhere.") var xen = false

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        do throws(HostFailure) {
            let settings = try resolveSettings()
            // The environment's overrides are checked here, once, not by every incoming daemon.
            _ = try TimeoutsFromEnvironment.receiver()
            if let fault = try ReceiverFaultInjection.fromEnvironment() {
                ReceiverLog.warning("WARNING: fault injection active (\(ReceiverFaultInjection.environmentVariable)=\(fault.action.rawValue):\(fault.type.name)#\(fault.ordinal)): migrations into this receiver will be hurt on purpose")
            }
            if let tls = settings.tls {
                // Loaded once here so that a bad file stops the start, naming it; each daemon loads its own.
                _ = try TLSContext(tls)
            }
            if xen || XenHost.isXenHost { return try receiveXenDomains(settings) }
            let runDirectory = host.directory
            try runDirectory.create()
            let listener = try startListening(settings, what: "guests in \(runDirectory.path)")
            IncomingDaemons(listener: listener, runDirectory: runDirectory, settings: settings, once: once).serve()
        } catch {
            throw failure(error.description)
        }
    }

    /// The configuration file's entries (with its warnings on stderr), the options over them.
    private func resolveSettings() throws(HostFailure) -> RelocationServerSettings {
        var file: XendConfigReader.File?
        do {
            if noConfig {
                guard config == nil else { throw HostFailure("--config and --no-config: give one of them") }
            } else if let path = config ?? (FileManager.default.fileExists(atPath: XendConfigReader.defaultPath) ? XendConfigReader.defaultPath : nil) {
                file = try XendConfigReader.read(path: path)
            }
            for warning in file?.warnings ?? [] { ReceiverLog.warning(warning.description) }
            return try RelocationServerSettings.resolve(file: file, commandLine: .init(
                listen: try listen.map(parseListen), hostsAllow: hostsAllow, maxIncoming: maxIncoming, maxPerPeer: maxPerPeer,
                handshakeTimeout: handshakeTimeout, tlsDirectory: tlsDir.map(absolutePath), tlsAllow: tlsAllow))
        } catch let error as RelocationConfigurationError {
            throw HostFailure(error.description)
        } catch let error as HostFailure {
            throw error
        } catch {
            throw HostFailure("\(error)")
        }
    }

    /// Binds the listener, prints where it listens and with what, and warns if anyone can come in.
    private func startListening(_ settings: RelocationServerSettings, what: String) throws(HostFailure) -> ListeningSocket {
        let listener = try ListeningSocket(host: settings.listenHost, port: settings.listenPort)
        let shownHost = settings.listenHost.isEmpty ? "*" : settings.listenHost
        ReceiverLog.line("livemig receive: listening on \(shownHost):\(listener.port), \(what)")
        let hosts = settings.hostsAllow.allowsEveryone ? "everyone" : "'\(settings.hostsAllow.description)'"
        if let tls = settings.tls {
            let names = tls.allowedPeerNames.isEmpty ? "any certificate the CA signed" : tls.allowedPeerNames.joined(separator: " ")
            ReceiverLog.line("livemig receive: mutual TLS only (CA \(tls.caFilePath)); peers allowed: \(names)")
        }
        ReceiverLog.line("livemig receive: hosts-allow \(hosts); at most \(settings.maxIncoming) incoming migrations, \(settings.maxPerPeer) per peer; handshake timeout \(settings.handshakeTimeoutSeconds) s")
        if let warning = settings.openToEveryoneWarning(boundAddress: SocketAddress.local(of: listener.fd) ?? "0.0.0.0", boundPort: listener.port) {
            ReceiverLog.warning(warning)
        }
        return listener
    }

    /// Xen: each connection is one `xl migrate`-style stream, received in this process (libxl
    /// forks its save helper and waits for it, so SIGCHLD keeps its default here), one at a time;
    /// hosts-allow applies, the limits and the handshake timeout do not (see the docs).
    private func receiveXenDomains(_ settings: RelocationServerSettings) throws(HostFailure) {
        let xenHost = try XenHost()
        for name in try XenMigrationReceiver.removeStaleIncoming(on: xenHost) {
            ReceiverLog.line("removed \(name), left paused by a receiver that died mid-stream")
        }
        let listener = try startListening(settings, what: "for Xen domains (xl's migration protocol)")
        let gate = RelocationGate(settings: settings)
        while true {
            let connection = try listener.accept()
            guard gate.admit(connection) != nil else { continue }  // a refused peer is not the one migration of --once
            // One connection at a time here: a peer that falls silent must not hold the
            // receiver for ever (libxl's reads and writes then fail and the copy is destroyed).
            let timeouts = try TimeoutsFromEnvironment.receiver()
            connection.setReceiveTimeout(seconds: timeouts.idleSeconds)
            connection.setSendTimeout(seconds: timeouts.idleSeconds)
            do {
                var stream = connection
                var relay: TLSRelay?
                if let tls = settings.tls {
                    // libxl reads a plain descriptor: after the handshake a relay carries TLS.
                    let identity = try connection.startTLS(tls, role: .server, handshakeTimeoutSeconds: settings.handshakeTimeoutSeconds)
                    ReceiverLog.line("TLS peer \(connection.peer): \(identity) (\(identity.suite))")
                    relay = try TLSRelay(socket: connection, idleTimeoutSeconds: XenRelay.idleTimeoutSeconds)
                    stream = relay?.plainEnd ?? connection
                }
                defer { relay.map(XenRelay.finish) }
                let received = try XenMigrationReceiver.receive(on: stream, host: xenHost, commitSeconds: timeouts.commitSeconds)
                ReceiverLog.line("received domain \(received.name) (id \(received.domainID)) from \(connection.peer): running")
            } catch {
                ReceiverLog.line("migration from \(connection.peer) failed: \(error.description)")
            }
            connection.close()
            if once { return }
        }
    }

    private func parseListen(_ text: String) throws(HostFailure) -> (host: String, port: Int) {
        if text.hasPrefix(":") {
            guard let port = Int(text.dropFirst()), (0 ... 65535).contains(port) else {
                throw HostFailure("--listen \(text): the port must be a number from 0 to 65535")
            }
            return ("", port)
        }
        // HOST:0 asks for any free port (the line printed at start names it).
        if text.hasSuffix(":0"), !text.dropLast(2).isEmpty {
            return (String(text.dropLast(2)).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), 0)
        }
        let endpoint = try Endpoint(parsing: text)
        return (endpoint.host, endpoint.port)
    }
}
