/// The entries `XendConfigReader` knows, each with how its value is read and checked. Names,
/// syntaxes and defaults of the `xend-…` ones are xend's (`XendOptions.py`: `get_config_bool`,
/// `get_config_int`, `get_config_string`); the `livemig-…` ones are livemig's.
enum XendConfigEntries {
    /// An entry's value and what reading it needs.
    struct Value {
        var text: String
        /// The configuration file's directory, for relative file names.
        var directory: String
    }

    typealias Rule = @Sendable (inout RelocationServerConfiguration, Value) throws(ConfigurationValue.Problem) -> Void

    static let livemigPrefix = "livemig-"

    static let rules: [String: Rule] = [
        "xend-relocation-server": { config, value throws(ConfigurationValue.Problem) in
            config.serverEnabled = try ConfigurationValue.bool(value.text).get()
        },
        "xend-relocation-port": { config, value throws(ConfigurationValue.Problem) in
            config.port = try ConfigurationValue.integer(value.text, in: RelocationServerConfiguration.portRange).get()
        },
        "xend-relocation-address": { config, value throws(ConfigurationValue.Problem) in
            config.address = try address(value.text)
        },
        "xend-relocation-hosts-allow": { config, value throws(ConfigurationValue.Problem) in
            config.hostsAllow = try hostsAllow(value.text)
        },
        "xend-relocation-ssl-server": { config, value throws(ConfigurationValue.Problem) in
            config.sslServerEnabled = try ConfigurationValue.bool(value.text).get()
        },
        "xend-relocation-ssl-port": { config, value throws(ConfigurationValue.Problem) in
            config.sslPort = try ConfigurationValue.integer(value.text, in: RelocationServerConfiguration.portRange).get()
        },
        "xend-relocation-server-ssl-key-file": { config, value throws(ConfigurationValue.Problem) in
            config.sslKeyFile = try file(value)
        },
        "xend-relocation-server-ssl-cert-file": { config, value throws(ConfigurationValue.Problem) in
            config.sslCertFile = try file(value)
        },
        "xend-relocation-ssl": { config, value throws(ConfigurationValue.Problem) in
            config.clientUsesSSL = try ConfigurationValue.bool(value.text).get()
        },
        "livemig-relocation-tls-ca-file": { config, value throws(ConfigurationValue.Problem) in
            config.tlsCAFile = try file(value)
        },
        "livemig-relocation-tls-peer-names": { config, value throws(ConfigurationValue.Problem) in
            config.tlsPeerNames = value.text.split(separator: " ").map(String.init)
        },
        "livemig-relocation-max-incoming": { config, value throws(ConfigurationValue.Problem) in
            config.maxIncoming = try ConfigurationValue.integer(value.text, in: RelocationServerConfiguration.maxIncomingRange).get()
        },
        "livemig-relocation-max-per-peer": { config, value throws(ConfigurationValue.Problem) in
            config.maxPerPeer = try ConfigurationValue.integer(value.text, in: RelocationServerConfiguration.maxPerPeerRange).get()
        },
        "livemig-relocation-handshake-timeout": { config, value throws(ConfigurationValue.Problem) in
            config.handshakeTimeoutSeconds = try ConfigurationValue.seconds(value.text, in: RelocationServerConfiguration.handshakeTimeoutRange).get()
        },
    ]

    static var livemigNames: [String] { rules.keys.filter { $0.hasPrefix(livemigPrefix) }.sorted() }

    /// A listen address: empty (all), or one word (an address or a host name; xend also took an
    /// interface name, which livemig does not).
    static func address(_ text: String) throws(ConfigurationValue.Problem) -> String {
        guard !text.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" }), text.count <= 255 else {
            throw ConfigurationValue.Problem("not an address or host name")
        }
        return text
    }

    static func hostsAllow(_ text: String) throws(ConfigurationValue.Problem) -> HostsAllow {
        do {
            return try HostsAllow(parsing: text)
        } catch {
            throw ConfigurationValue.Problem(error.description)
        }
    }

    /// A file name, relative ones taken in the configuration file's directory.
    static func file(_ value: Value) throws(ConfigurationValue.Problem) -> String {
        guard !value.text.isEmpty else { throw ConfigurationValue.Problem("the file name is empty") }
        guard !value.text.hasPrefix("/") else { return value.text }
        return value.directory.isEmpty ? value.text : "\(value.directory)/\(value.text)"
    }
}
