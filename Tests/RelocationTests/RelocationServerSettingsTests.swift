import MigrationExecutor
import Relocation
import XCTest

/// Which settings `receive` runs with: the file's relocation entries, the command line over them,
/// and the refusals (a file that does not enable the server, or asks for TLS).
final class RelocationServerSettingsTests: XCTestCase {
    private func file(_ text: String) throws -> XendConfigReader.File {
        try XendConfigReader.read(SExpressionParser.parse(Array(text.utf8), file: "/etc/xen/xend-config.sxp"), path: "/etc/xen/xend-config.sxp")
    }

    private let enabled = """
        (xend-relocation-server yes)
        (xend-relocation-port 8102)
        (xend-relocation-address 10.0.0.2)
        (xend-relocation-hosts-allow '^10\\\\.0\\\\.')
        (livemig-relocation-max-incoming 5)
        (livemig-relocation-max-per-peer 3)
        (livemig-relocation-handshake-timeout 7)
        """

    func testWithoutAFileTheDefaultsAndTheCommandLineDecide() throws {
        let defaults = try RelocationServerSettings.resolve(file: nil, commandLine: .init())
        XCTAssertEqual(defaults, RelocationServerSettings(listenHost: "", listenPort: 8002, hostsAllow: .everyone, maxIncoming: 8,
                                                          maxPerPeer: 4, handshakeTimeoutSeconds: 30))
        let given = try RelocationServerSettings.resolve(file: nil, commandLine: .init(
            listen: ("127.0.0.1", 0), hostsAllow: "^a$", maxIncoming: "2", maxPerPeer: "1", handshakeTimeout: "0.5"))
        XCTAssertEqual(given, RelocationServerSettings(listenHost: "127.0.0.1", listenPort: 0, hostsAllow: try HostsAllow(parsing: "^a$"),
                                                       maxIncoming: 2, maxPerPeer: 1, handshakeTimeoutSeconds: 0.5))
    }

    func testTheFileGivesWhatTheCommandLineDoesNotSay() throws {
        let settings = try RelocationServerSettings.resolve(file: try file(enabled), commandLine: .init(maxPerPeer: "1"))
        XCTAssertEqual(settings, RelocationServerSettings(listenHost: "10.0.0.2", listenPort: 8102, hostsAllow: try HostsAllow(parsing: #"^10\.0\."#),
                                                          maxIncoming: 5, maxPerPeer: 1, handshakeTimeoutSeconds: 7))
    }

    func testTheCommandLineOverridesEveryEntry() throws {
        let settings = try RelocationServerSettings.resolve(file: try file(enabled), commandLine: .init(
            listen: ("::1", 9), hostsAllow: "", maxIncoming: "16", maxPerPeer: "16", handshakeTimeout: "60"))
        XCTAssertEqual(settings, RelocationServerSettings(listenHost: "::1", listenPort: 9, hostsAllow: .everyone, maxIncoming: 16,
                                                          maxPerPeer: 16, handshakeTimeoutSeconds: 60))
    }

    func testAFileThatDoesNotEnableTheServerRefusesNamingTheEntry() throws {
        for text in ["(xend-relocation-server no)", "(xend-http-server yes)", ""] {
            XCTAssertThrowsError(try RelocationServerSettings.resolve(file: try file(text), commandLine: .init(listen: ("127.0.0.1", 0))), text) { error in
                let message = (error as? RelocationConfigurationError)?.description ?? ""
                XCTAssertTrue(message.hasPrefix("/etc/xen/xend-config.sxp does not enable the relocation server: add (xend-relocation-server yes)"), message)
            }
        }
    }

    /// A file that asks for TLS must name all three files (xend's SSL listener verified no peer;
    /// livemig's TLS is mutual); it then serves TLS only, and `--tls-dir` overrides it.
    func testTLSComesFromTheFileOrTlsDirAndNeedsAllItsFiles() throws {
        for (text, missing) in [("(xend-relocation-server yes)(xend-relocation-ssl-server yes)",
                                 "livemig-relocation-tls-ca-file, xend-relocation-server-ssl-cert-file, xend-relocation-server-ssl-key-file"),
                                ("(xend-relocation-server yes)(livemig-relocation-tls-ca-file ca.pem)",
                                 "xend-relocation-server-ssl-cert-file, xend-relocation-server-ssl-key-file")] {
            XCTAssertThrowsError(try RelocationServerSettings.resolve(file: try file(text), commandLine: .init()), text) { error in
                XCTAssertEqual((error as? RelocationConfigurationError)?.description,
                               "/etc/xen/xend-config.sxp asks for TLS but does not name \(missing): mutual TLS needs the CA, this host's certificate and its key")
            }
        }
        let whole = try RelocationServerSettings.resolve(file: try file(
            "(xend-relocation-server yes)(livemig-relocation-tls-ca-file /pki/ca.pem)(xend-relocation-server-ssl-cert-file /pki/b.pem)(xend-relocation-server-ssl-key-file /pki/b.key)(livemig-relocation-tls-peer-names 'hosta hostc')"),
            commandLine: .init())
        XCTAssertEqual(whole.tls, TLSConfiguration(caFilePath: "/pki/ca.pem", certificateFilePath: "/pki/b.pem", privateKeyFilePath: "/pki/b.key",
                                                     allowedPeerNames: ["hosta", "hostc"]))
        XCTAssertNil(whole.openToEveryoneWarning(boundAddress: "0.0.0.0", boundPort: 8002), "TLS keeps strangers out: no warning")
        let overridden = try RelocationServerSettings.resolve(file: nil, commandLine: .init(tlsDirectory: "/etc/livemig/tls", tlsAllow: "hosta"))
        XCTAssertEqual(overridden.tls, TLSConfiguration(directory: "/etc/livemig/tls", allowedPeerNames: ["hosta"]))
        XCTAssertThrowsError(try RelocationServerSettings.resolve(file: nil, commandLine: .init(tlsAllow: "hosta")))
    }

    func testBadCommandLineValuesNameTheOption() {
        let cases: [(RelocationServerSettings.CommandLine, String)] = [
            (.init(maxIncoming: "0"), "--max-incoming: 0 is out of range (1 to 1024)"),
            (.init(maxIncoming: "lots"), "--max-incoming: 'lots' is not a whole number"),
            (.init(maxPerPeer: "99999999999999999999"), "--max-per-peer: '99999999999999999999' is out of range (1 to 1024)"),
            (.init(handshakeTimeout: "inf"), "--handshake-timeout: 'inf' is not a number of seconds (like 30 or 2.5)"),
            (.init(handshakeTimeout: "-1"), "--handshake-timeout: '-1' is not a number of seconds (like 30 or 2.5)"),
            (.init(handshakeTimeout: "0.01"), "--handshake-timeout: 0.01 s is out of range (0.1 to 3600.0 s)"),
            (.init(hostsAllow: "^a$  ^b$"), "--hosts-allow '^a$  ^b$': an empty pattern"),
            (.init(hostsAllow: "(x"), "--hosts-allow '(x': pattern '(x': not a regular expression"),
        ]
        for (commandLine, expected) in cases {
            XCTAssertThrowsError(try RelocationServerSettings.resolve(file: nil, commandLine: commandLine), expected) { error in
                let message = (error as? RelocationConfigurationError)?.description ?? ""
                XCTAssertTrue(message.hasPrefix(expected), "\(message) does not start with \(expected)")
            }
        }
    }

    func testTheWarningWhenAnyoneCanStartAGuest() throws {
        let open = try RelocationServerSettings.resolve(file: nil, commandLine: .init())
        XCTAssertTrue(open.openToEveryoneWarning(boundAddress: "0.0.0.0", boundPort: 8002)?.hasPrefix(
            "WARNING: listening on 0.0.0.0:8002 beyond loopback with no TLS and an empty hosts-allow") ?? false)
        XCTAssertTrue(open.openToEveryoneWarning(boundAddress: "::", boundPort: 8002)?.contains("[::]:8002") ?? false)
        XCTAssertNil(open.openToEveryoneWarning(boundAddress: "127.0.0.1", boundPort: 8002))
        XCTAssertNil(open.openToEveryoneWarning(boundAddress: "::1", boundPort: 8002))
        let guarded = try RelocationServerSettings.resolve(file: nil, commandLine: .init(hostsAllow: #"^10\."#))
        XCTAssertNil(guarded.openToEveryoneWarning(boundAddress: "0.0.0.0", boundPort: 8002))
    }
}
