import Foundation
import XCTest

/// The two-host Xen lab (`scripts/xen-lab`, docs/xen-lab.md) as the tests drive it: commands
/// run in dom0 of host A or B through `scripts/xen-lab run`. The tests need a lab that is up,
/// named by `LIVEMIG_XEN_LAB=1` (CI brings one up first); without it they are skipped with a
/// message saying how to run them, never passed.
struct XenLab {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Result {
        var status: Int32
        var output: String
    }

    /// Throws XCTSkip unless a lab is up.
    static func require() throws -> XenLab {
        guard ProcessInfo.processInfo.environment["LIVEMIG_XEN_LAB"] == "1" else {
            throw XCTSkip("XEN LAB TESTS NOT RUN: bring a lab up (scripts/xen-lab build && scripts/xen-lab up) and set LIVEMIG_XEN_LAB=1")
        }
        return XenLab()
    }

    /// Runs `command` (a shell command line) in dom0 of `host` ("A" or "B").
    @discardableResult
    func run(_ host: String, _ command: String) throws -> Result {
        let process = Process()
        process.executableURL = Self.packageRoot.appendingPathComponent("scripts/xen-lab")
        process.arguments = ["run", host, command]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// Like `run`, failing the test when the command fails.
    func check(_ host: String, _ command: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try run(host, command)
        XCTAssertEqual(result.status, 0, "\(host)$ \(command)\n\(result.output)", file: file, line: line)
        return result.output
    }

    /// A lab guest's last heartbeat number on `host` (nil when it has none).
    func heartbeat(_ host: String, guest: String = "guest") throws -> Int? {
        Int(try run(host, "/lab/guest-heartbeat \(guest)").output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Where the lab guest runs now ("A", "B", or nil); fails the test if both hosts have it,
    /// or if a half-moved copy (guest--incoming, guest--migratedaway) is left anywhere.
    func guestHost(file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        let hosts = try ["A", "B"].filter { try run($0, "xl list guest >/dev/null 2>&1").status == 0 }
        XCTAssertLessThanOrEqual(hosts.count, 1, "the guest exists on both hosts", file: file, line: line)
        for host in ["A", "B"] {
            let names = try run(host, "xl list | awk '{print $1}'").output
            XCTAssertFalse(names.contains("guest--migratedaway"), "a suspended source copy is left on \(host)", file: file, line: line)
        }
        return hosts.first
    }

    /// The guest's heartbeat goes on at `host` past `floor` within 10 s (it prints every
    /// 200 ms; the console log is read through xenconsoled).
    func assertBeating(on host: String, after floor: Int, guest: String = "guest", file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(10)
        var last: Int?
        while Date() < deadline {
            last = try heartbeat(host, guest: guest)
            if let last, last > floor { return }
            sleep(1)
        }
        XCTFail("the guest's heartbeat on \(host) did not pass \(floor) (last: \(String(describing: last)))", file: file, line: line)
    }
}
