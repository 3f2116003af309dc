import Relocation
import XCTest

/// The relocation entries read from xend-config.sxp as xend's XendOptions read them: the
/// realistic fixture, defaults, first-wins, and one error per wrong value naming entry and line.
final class XendConfigReaderTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/xend-config.sxp").path

    private func read(_ text: String, path: String = "/etc/xen/xend-config.sxp") throws -> XendConfigReader.File {
        let document = try SExpressionParser.parse(Array(text.utf8), file: path)
        return try XendConfigReader.read(document, path: path)
    }

    private func assertError(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(text, path: "x.sxp"), file: file, line: line) { error in
            XCTAssertEqual((error as? RelocationConfigurationError)?.description, expected, file: file, line: line)
        }
    }

    func testTheFixtureGivesItsRelocationEntriesAndIgnoresTheRest() throws {
        let read = try XendConfigReader.read(path: Self.fixture)
        let configuration = read.configuration
        XCTAssertEqual(read.warnings, [])
        XCTAssertTrue(configuration.serverEnabled)
        XCTAssertFalse(configuration.sslServerEnabled)
        XCTAssertEqual(configuration.port, 8002)
        XCTAssertEqual(configuration.sslPort, 8003)
        XCTAssertEqual(configuration.address, "")
        XCTAssertEqual(configuration.hostsAllow.patterns.map(\.source), [#"^10\.20\."#, #"^xen[0-9]+\.pool\.example\.net$"#, "^localhost$"])
        let directory = (Self.fixture as NSString).deletingLastPathComponent
        XCTAssertEqual(configuration.sslKeyFile, "\(directory)/xmlrpc.key")
        XCTAssertEqual(configuration.sslCertFile, "\(directory)/xmlrpc.crt")
        XCTAssertEqual(configuration.maxIncoming, 6)
        XCTAssertEqual(configuration.maxPerPeer, 2)
        XCTAssertEqual(configuration.handshakeTimeoutSeconds, 12.5)
        XCTAssertFalse(configuration.asksForTLS)
    }

    func testAnEmptyFileGivesXendsDefaults() throws {
        let configuration = try read("# nothing but a comment\n(dom0-min-mem 196)\n").configuration
        XCTAssertEqual(configuration, RelocationServerConfiguration())
        XCTAssertFalse(configuration.serverEnabled, "xend's default is no")
        XCTAssertEqual(configuration.port, 8002)
        XCTAssertEqual(configuration.sslPort, 8003)
        XCTAssertTrue(configuration.hostsAllow.allowsEveryone)
        XCTAssertEqual(configuration.maxIncoming, 8)
        XCTAssertEqual(configuration.maxPerPeer, 4)
        XCTAssertEqual(configuration.handshakeTimeoutSeconds, 30)
    }

    func testValuesInEveryForm() throws {
        for (written, enabled) in [("yes", true), ("Y", true), ("1", true), ("on", true), ("TRUE", true), ("t", true),
                                   ("no", false), ("N", false), ("0", false), ("Off", false), ("false", false), ("f", false),
                                   ("'yes'", true), ("\"no\"", false)] {
            XCTAssertEqual(try read("(xend-relocation-server \(written))").configuration.serverEnabled, enabled, written)
        }
        for (written, port) in [("8002", 8002), ("'9000'", 9000), ("+1", 1), ("065535", 65535), ("' 8003 '", 8003)] {
            XCTAssertEqual(try read("(xend-relocation-port \(written))").configuration.port, port, written)
        }
        XCTAssertEqual(try read("(livemig-relocation-handshake-timeout 0.1)").configuration.handshakeTimeoutSeconds, 0.1)
        XCTAssertEqual(try read("(livemig-relocation-handshake-timeout '3600')").configuration.handshakeTimeoutSeconds, 3600)
        XCTAssertEqual(try read("(xend-relocation-address 10.0.0.2)").configuration.address, "10.0.0.2")
        XCTAssertEqual(try read("(livemig-relocation-tls-peer-names 'a.example b.example')").configuration.tlsPeerNames, ["a.example", "b.example"])
        XCTAssertEqual(try read("(livemig-relocation-tls-ca-file /etc/pki/ca.pem)").configuration.tlsCAFile, "/etc/pki/ca.pem")
        XCTAssertEqual(try read("(livemig-relocation-tls-ca-file ca.pem)").configuration.tlsCAFile, "/etc/xen/ca.pem")
        XCTAssertEqual(try read("(xend-relocation-server (@ (note x)) yes)").configuration.serverEnabled, true, "the attribute list is skipped")
    }

    func testTheFirstEntryCountsAndAMissingValueMeansTheDefaultBothWithAWarning() throws {
        let read = try read("(xend-relocation-port 9000)\n(xend-relocation-port 9001)\n(xend-relocation-server)\n")
        XCTAssertEqual(read.configuration.port, 9000)
        XCTAssertFalse(read.configuration.serverEnabled)
        XCTAssertEqual(read.warnings.map(\.description), [
            "/etc/xen/xend-config.sxp:2:1: warning: (xend-relocation-port …) again: xend used the first one, at line 1, column 1, and so does livemig",
            "/etc/xen/xend-config.sxp:3:1: warning: (xend-relocation-server) has no value: xend used the default, and so does livemig",
        ])
    }

    func testWrongValuesNameFileLineColumnEntryAndProblem() {
        assertError("(a b)\n(xend-relocation-server maybe)", "x.sxp:2:25: (xend-relocation-server maybe): 'maybe' is not yes or no (xend also took y 1 on true t, n 0 off false f)")
        assertError("\n\n  (xend-relocation-port 99999)", "x.sxp:3:25: (xend-relocation-port 99999): 99999 is out of range (1 to 65535)")
        assertError("(xend-relocation-port 0)", "x.sxp:1:23: (xend-relocation-port 0): 0 is out of range (1 to 65535)")
        assertError("(xend-relocation-port 0x1F)", "x.sxp:1:23: (xend-relocation-port 0x1F): '0x1F' is not a whole number")
        assertError("(xend-relocation-port 99999999999999999999999)", "x.sxp:1:23: (xend-relocation-port 99999999999999999999999): '99999999999999999999999' is out of range (1 to 65535)")
        assertError("(xend-relocation-ssl-port -1)", "x.sxp:1:27: (xend-relocation-ssl-port -1): -1 is out of range (1 to 65535)")
        assertError("(livemig-relocation-max-incoming 0)", "x.sxp:1:34: (livemig-relocation-max-incoming 0): 0 is out of range (1 to 1024)")
        assertError("(livemig-relocation-max-per-peer 1025)", "x.sxp:1:34: (livemig-relocation-max-per-peer 1025): 1025 is out of range (1 to 1024)")
        assertError("(livemig-relocation-handshake-timeout nan)", "x.sxp:1:39: (livemig-relocation-handshake-timeout nan): 'nan' is not a number of seconds (like 30 or 2.5)")
        assertError("(livemig-relocation-handshake-timeout 1e9)", "x.sxp:1:39: (livemig-relocation-handshake-timeout 1e9): '1e9' is not a number of seconds (like 30 or 2.5)")
        assertError("(livemig-relocation-handshake-timeout 0)", "x.sxp:1:39: (livemig-relocation-handshake-timeout 0): 0 s is out of range (0.1 to 3600.0 s)")
        assertError("(livemig-relocation-handshake-timeout 3600.5)", "x.sxp:1:39: (livemig-relocation-handshake-timeout 3600.5): 3600.5 s is out of range (0.1 to 3600.0 s)")
        assertError("(xend-relocation-hosts-allow '^ok$ [bad')", "x.sxp:1:30: (xend-relocation-hosts-allow '^ok$ [bad'): pattern '[bad': not a regular expression: expected ']'")
        assertError("(xend-relocation-address 'two words')", "x.sxp:1:26: (xend-relocation-address 'two words'): not an address or host name")
        assertError("(xend-relocation-server-ssl-key-file '')", "x.sxp:1:38: (xend-relocation-server-ssl-key-file ''): the file name is empty")
        assertError("(xend-relocation-server (yes))", "x.sxp:1:25: (xend-relocation-server …): takes one value, not a list")
        assertError("(a)\n  (livemig-relocation-max-incomming 4)",
                    "x.sxp:2:3: unknown livemig entry 'livemig-relocation-max-incomming' (livemig's entries: livemig-relocation-handshake-timeout, livemig-relocation-max-incoming, livemig-relocation-max-per-peer, livemig-relocation-tls-ca-file, livemig-relocation-tls-peer-names)")
    }

    func testAMalformedFileIsAnErrorNamingFileLineAndColumn() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("xend-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("xend-config.sxp").path
        try "(xend-relocation-server yes)\n(xend-relocation-port 8002))\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try XendConfigReader.read(path: path)) { error in
            XCTAssertEqual((error as? RelocationConfigurationError)?.description, "\(path):2:28: ')' closes no list")
        }
    }
}
