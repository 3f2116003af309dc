import Relocation
import XCTest

/// hosts-allow as xend applied it: each space-separated pattern `re.match`ed (anchored at the
/// start only) against the peer's address and its fully qualified name; empty allows everyone.
final class HostsAllowTests: XCTestCase {
    /// (entry, address, name, allowed)
    private let table: [(String, String, String, Bool)] = [
        ("", "203.0.113.9", "anyone.example", true),
        (#"^10\."#, "10.1.2.3", "a.example", true),
        (#"^10\."#, "127.0.0.1", "localhost", false),
        (#"10\.0\."#, "10.0.0.7", "x", true),                      // anchored at the start without ^
        (#"0\.0\.7"#, "10.0.0.7", "x", false),                     // not searched for inside
        (#"^10\.0\.0\.1"#, "10.0.0.17", "x", true),                // not anchored at the end
        (#"^10\.0\.0\.1$"#, "10.0.0.17", "x", false),
        ("^localhost$", "127.0.0.1", "localhost", true),           // by name
        ("^localhost$", "127.0.0.1", "localhost.localdomain", false),
        (#"example\.org"#, "192.0.2.4", "www.example.org", false), // re.match: the name starts with www
        (#".*\.example\.org$"#, "192.0.2.4", "www.example.org", true),
        (#"^.*\.example\.org$"#, "192.0.2.4", "example.org", false),
        (#"^xen[0-9]+\.pool$ ^10\.20\."#, "10.20.1.1", "unknown", true), // the second pattern
        (#"^xen[0-9]+\.pool$ ^10\.20\."#, "10.30.1.1", "xen12.pool", true),
        (#"^xen[0-9]+\.pool$ ^10\.20\."#, "10.30.1.1", "xen12.pool.example", false),
        ("^LOCALHOST$", "127.0.0.1", "localhost", false),          // case-sensitive, as re.match
        ("(?i)^LOCALHOST$", "127.0.0.1", "localhost", true),
        (#"^\d+\.\d+\.\d+\.\d+$"#, "10.0.0.1", "x", true),
        (#"^\d"#, "١٠.0.0.1", "x", false),                          // \d is ASCII only, as in Python 2
        ("^fe80::", "fe80::1%eth0", "x", true),
    ]

    func testTheSemanticsTable() throws {
        for (entry, address, name, allowed) in table {
            let hostsAllow = try HostsAllow(parsing: entry)
            let decision = hostsAllow.admits(address: address, name: { name })
            XCTAssertEqual(decision, allowed ? .allowed : .refused(name: name), "'\(entry)' for \(address) (\(name))")
        }
    }

    func testTheNameIsLookedUpOnlyWhenTheDecisionNeedsIt() throws {
        var lookups = 0
        let name = { () -> String in
            lookups += 1
            return "host.example"
        }
        XCTAssertEqual(HostsAllow.everyone.admits(address: "10.0.0.1", name: name), .allowed)
        XCTAssertEqual(try HostsAllow(parsing: #"^10\."#).admits(address: "10.0.0.1", name: name), .allowed)
        XCTAssertEqual(lookups, 0)
        XCTAssertEqual(try HostsAllow(parsing: #"^10\."#).admits(address: "11.0.0.1", name: name), .refused(name: "host.example"))
        XCTAssertEqual(lookups, 1)
    }

    func testPatternsThatDoNotCompileAreRefusedNamingThePattern() {
        for (entry, pattern) in [("^ok$ [a-", "[a-"), ("(unclosed", "(unclosed"), (#"^10\"#, #"^10\"#), ("a{3,1}", "a{3,1}"),
                                 ("(?<=x)y", "(?<=x)y")] {
            XCTAssertThrowsError(try HostsAllow(parsing: entry), entry) { error in
                let error = error as? HostsAllowError
                XCTAssertEqual(error?.pattern, pattern)
                XCTAssertTrue(error?.description.hasPrefix("pattern '\(pattern)': not a regular expression: ") ?? false, "\(String(describing: error))")
            }
        }
    }

    func testAnEmptyPatternFromAnExtraSpaceIsRefusedNotAllowingEveryone() {
        for entry in ["^a$  ^b$", " ^a$", "^a$ ", " "] {
            XCTAssertThrowsError(try HostsAllow(parsing: entry), entry) { error in
                XCTAssertTrue((error as? HostsAllowError)?.description.contains("an empty pattern") ?? false, "\(error)")
            }
        }
    }

    func testTheNameOfALoopbackPeerIsItsNameInTheHostsFile() {
        // A loopback address is answered from /etc/hosts (no query leaves the machine). The name
        // found must resolve back to the address, as getfqdn's answer does.
        let name = PeerName.fullyQualified("127.0.0.1")
        XCTAssertNotEqual(name, "127.0.0.1", "127.0.0.1 has a name in /etc/hosts")
        var hints = addrinfo()
        hints.ai_family = AF_INET
        var result: UnsafeMutablePointer<addrinfo>?
        XCTAssertEqual(getaddrinfo(name, nil, &hints, &result), 0, "\(name) does not resolve")
        if let result {
            let address = result.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            XCTAssertEqual(UInt32(bigEndian: address), 0x7F00_0001)
            freeaddrinfo(result)
        }
        XCTAssertEqual(PeerName.fullyQualified("not-an-address"), "not-an-address", "no lookup: the text itself, as getfqdn")
    }
}
