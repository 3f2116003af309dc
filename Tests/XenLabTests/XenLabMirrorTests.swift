import Foundation
import XCTest

/// Which Debian mirror `scripts/xen-lab build` debootstraps from (`scripts/xen-lab mirror`, the
/// same function): LIVEMIG_LAB_MIRROR, or else the entry of apt's sources that serves Debian's
/// main archive of bookworm, in either of apt's formats; with neither, a clear error. There is
/// no built-in mirror. These tests need no lab: each writes apt sources into a folder of its own
/// and points apt's configuration there (APT_CONFIG, a file setting Dir::Etc), so the script
/// reads them as apt would. Every host named is under .invalid (RFC 2606), never a real mirror.
final class XenLabMirrorTests: XCTestCase {
    private var aptEtc: URL!

    override func setUpWithError() throws {
        aptEtc = FileManager.default.temporaryDirectory.appendingPathComponent("xen-lab-mirror-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: aptEtc.appendingPathComponent("sources.list.d"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: aptEtc.appendingPathComponent("apt.conf.d"), withIntermediateDirectories: true)
        try write("apt.conf", "Dir::Etc \"\(aptEtc.path)/\";\n")
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: aptEtc)
    }

    func testAOneLineEntryWithOptionsIsChosenOverSecurityUpdatesSourceAndCdromEntries() throws {
        try write("sources.list", """
            deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1 20230610-10:23]/ bookworm contrib main
            # deb http://commented-out.invalid/debian bookworm main
            deb-src http://source.invalid/debian bookworm main
            deb http://security.invalid/debian-security bookworm-security main
            deb http://updates.invalid/debian bookworm-updates main
            deb http://contrib-only.invalid/debian bookworm contrib non-free
            deb http://other-suite.invalid/debian trixie main
            deb [ arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] http://main.invalid/debian bookworm main contrib # the one
            deb http://later.invalid/debian bookworm main

            """)
        XCTAssertEqual(try mirror(), .chosen("http://main.invalid/debian"))
    }

    func testOptionsInBracketsWithoutSpacesAndCRLFLineEnds() throws {
        try write("sources.list.d/bracketed.list", "deb [arch=amd64,i386 trusted=yes] https://bracketed.invalid/debian/ bookworm main\r\n")
        XCTAssertEqual(try mirror(), .chosen("https://bracketed.invalid/debian/"))
    }

    func testADeb822StanzaIsChosenOverSecurityDisabledAndSourceStanzas() throws {
        try write("sources.list.d/debian.sources", """
            Types: deb
            URIs: http://security.invalid/debian-security
            Suites: bookworm-security
            Components: main

            Types: deb
            URIs: http://disabled.invalid/debian
            Suites: bookworm
            Components: main
            Enabled: no

            Types: deb-src
            URIs: http://source.invalid/debian
            Suites: bookworm
            Components: main

            types: deb deb-src
            # field names in any case, a comment line and continuation lines inside a stanza
            uris: http://main822.invalid/debian
             http://second.invalid/debian
            suites: bookworm-updates
              bookworm
            components: contrib main
            """)
        XCTAssertEqual(try mirror(), .chosen("http://main822.invalid/debian"))
    }

    func testSourcesAreReadInAptsOrderAndNamesAptIgnoresAreSkipped() throws {
        try write("sources.list", "deb http://security.invalid/debian-security bookworm-security main\n")
        try write("sources.list.d/00-first.list.disabled", "deb http://disabled-name.invalid/debian bookworm main\n")
        try write("sources.list.d/05 space.list", "deb http://bad-name.invalid/debian bookworm main\n")
        try write("sources.list.d/20-b.list", "deb http://twenty.invalid/debian bookworm main\n")
        try write("sources.list.d/10-a.sources", "Types: deb\nURIs: http://ten.invalid/debian\nSuites: bookworm\nComponents: main\n")
        XCTAssertEqual(try mirror(), .chosen("http://ten.invalid/debian"))
    }

    func testOnlySecurityAndUpdatesEntriesGiveAnErrorNamingBothWays() throws {
        try write("sources.list", "deb [signed-by=/k.gpg] http://security.invalid/debian-security bookworm-security main\n")
        try write("sources.list.d/debian.sources", "Types: deb\nURIs: http://updates.invalid/debian\nSuites: bookworm-updates\nComponents: main\n")
        try assertNoMirror(try mirror(), naming: ["sources.list", "debian.sources"])
    }

    func testNoSourcesAtAllGiveAnErrorNamingBothWays() throws {
        try assertNoMirror(try mirror(), naming: ["none found"])
    }

    func testLivemigLabMirrorIsUsedBeforeAptsSourcesAndChecked() throws {
        try write("sources.list", "deb http://main.invalid/debian bookworm main\n")
        XCTAssertEqual(try mirror(environment: "file:/srv/local-mirror"), .chosen("file:/srv/local-mirror"))
        guard case let .failed(message) = try mirror(environment: "main.invalid/debian") else {
            return XCTFail("a LIVEMIG_LAB_MIRROR without a scheme was accepted")
        }
        XCTAssertTrue(message.contains("LIVEMIG_LAB_MIRROR='main.invalid/debian' is not an http://"), message)
    }

    // MARK: - Helpers

    private enum Outcome: Equatable {
        case chosen(String)
        case failed(String)
    }

    private func write(_ relativePath: String, _ text: String) throws {
        try text.write(to: aptEtc.appendingPathComponent(relativePath), atomically: true, encoding: .utf8)
    }

    /// Runs `scripts/xen-lab mirror` against this test's apt folder, with `LIVEMIG_LAB_MIRROR`
    /// set to `environment` or unset.
    private func mirror(environment value: String? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = XenLab.packageRoot.appendingPathComponent("scripts/xen-lab")
        process.arguments = ["mirror"]
        var environment = ProcessInfo.processInfo.environment
        environment["APT_CONFIG"] = aptEtc.appendingPathComponent("apt.conf").path
        environment["LIVEMIG_LAB_MIRROR"] = value
        process.environment = environment
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Both outputs are a line or two: far below a pipe's buffer, so reading one after the
        // other cannot block the script.
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let logged = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 0 {
            XCTAssertTrue(logged.contains("mirror: "), "the choice and its source are logged: \(logged)")
            return .chosen(printed.trimmingCharacters(in: .newlines))
        }
        XCTAssertEqual(printed, "", "no mirror is printed on failure")
        return .failed(logged)
    }

    private func assertNoMirror(_ outcome: Outcome, naming sources: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        guard case let .failed(message) = outcome else {
            return XCTFail("a mirror was chosen: \(outcome)", file: file, line: line)
        }
        XCTAssertTrue(message.contains("error: no Debian mirror for bookworm"), message, file: file, line: line)
        XCTAssertTrue(message.contains("apt's sources"), message, file: file, line: line)
        XCTAssertTrue(message.contains("set LIVEMIG_LAB_MIRROR"), message, file: file, line: line)
        for source in sources {
            XCTAssertTrue(message.contains(source), "names \(source): \(message)", file: file, line: line)
        }
        XCTAssertEqual(message.split(separator: "\n").count, 1, "one line: \(message)", file: file, line: line)
    }
}
