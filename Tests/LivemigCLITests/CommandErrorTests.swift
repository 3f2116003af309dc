import Foundation
import XCTest

/// `livemig` failing as a user sees it: a non-zero exit status and a message naming what was
/// wrong (the scenario key, the option), and Xen commands on a machine that is not a Xen host
/// saying so in one line without libxc's log.
final class CommandErrorTests: XCTestCase {
    func testUnknownScenarioKeyFailsNamingTheKey() throws {
        let directory = try LivemigProcess.temporaryDirectory(for: self)
        let path = directory.appendingPathComponent("typo.yaml").path
        try "guest:\n  memory: 1GiB\nlink:\n  bandwidth: 1Gbit/s\n  bandwidht: 10Gbit/s\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let result = try LivemigProcess.run(["simulate", path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("link.bandwidht"), result.stderr)
        XCTAssertTrue(result.stderr.contains("typo.yaml"), result.stderr)
        XCTAssertEqual(result.stdout, "", "nothing is simulated")
    }

    func testMissingScenarioFileFails() throws {
        let result = try LivemigProcess.run(["simulate", "scenarios/no-such-scenario.yaml"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("scenarios/no-such-scenario.yaml"), result.stderr)
    }

    func testBadSetOverrideFails() throws {
        let result = try LivemigProcess.run(["simulate", "scenarios/idle-1g.yaml", "--set", "guest.memory.x=1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("guest.memory.x=1"), result.stderr)
    }

    func testUnknownPolicyFailsNamingTheOption() throws {
        let result = try LivemigProcess.run(["simulate", "scenarios/idle-1g.yaml", "--policy", "vmware"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--policy"), result.stderr)
        XCTAssertTrue(result.stderr.contains("vmware"), result.stderr)
    }

    func testUnknownFormatFailsNamingTheOption() throws {
        let result = try LivemigProcess.run(["simulate", "scenarios/idle-1g.yaml", "--format", "xml"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--format"), result.stderr)
    }

    func testXenCommandsOffXenSaySoInOneLine() throws {
        guard !FileManager.default.fileExists(atPath: "/dev/xen/privcmd") else {
            throw XCTSkip("this machine is a Xen host; XenProbeTests checks the probe itself")
        }
        for arguments in [["xen-info"], ["list", "--xen"], ["observe", "guest", "--xen", "--seconds", "1", "--trace", "/tmp/never-written.trace"],
                          ["migrate", "--xen", "--live", "guest", "127.0.0.1:9"], ["receive", "--xen", "--once", "--listen", "127.0.0.1:0"]] {
            try assertOneLineSayingNotAXenHost(arguments)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/never-written.trace"))
    }

    private func assertOneLineSayingNotAXenHost(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try LivemigProcess.run(arguments)
        XCTAssertNotEqual(result.status, 0, "\(arguments)", file: file, line: line)
        // The one line, wherever it is printed; nothing else on either stream (no libxc log).
        let lines = (result.stdout + result.stderr).split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line, got:\n\(result.stdout)\(result.stderr)", file: file, line: line)
        let text = String(lines.first ?? "")
        XCTAssertTrue(text.contains("/dev/xen/privcmd"), text, file: file, line: line)
        XCTAssertTrue(text.contains("not a Xen host"), text, file: file, line: line)
        XCTAssertFalse(result.stderr.contains("xencall") || result.stderr.contains("xc:"), result.stderr, file: file, line: line)
    }
}
