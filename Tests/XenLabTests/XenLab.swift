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
        try Self.runProcess(Self.packageRoot.appendingPathComponent("scripts/xen-lab"), ["run", host, command])
    }

    /// Runs a program on this machine to its end: its exit status and its stdout and stderr
    /// merged.
    static func runProcess(_ executable: URL, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
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

    /// How long the lab's waits may take. Every wait polls and ends as soon as its condition
    /// holds, so a long deadline costs nothing on a quick machine and holds on a slow, loaded
    /// one: the two hosts are TCG virtual machines sharing the machine's cores with anything
    /// else that runs there. A deadline only decides when a wait gives up and fails the test.
    enum Deadline {
        /// `xl create` to a guest's first heartbeat: 15-21 s in `up` (docs/xen-lab.md); the hog's
        /// first heartbeat once came later than the 10 s a test used to allow.
        static let guestBootSeconds = 300
        /// A running guest's heartbeat to pass a number (it prints every 200 ms, read through
        /// xenconsoled's log): after a migration, a restore, or just to see it go on.
        static let heartbeatSeconds = 180
        /// A process in dom0 to listen or to be gone, a line to reach a log: a second or two idle.
        static let dom0Seconds = 120
        /// A migration to reach a point or its end: 3-53 s here (docs/xen-backend.md, xen-lab.md).
        static let migrationSeconds = 600
        /// Between two polls from this machine (one `run` round trip is about 0.5 s).
        static let pollIntervalSeconds = 1.0
    }

    /// A shell command for dom0 that polls the shell condition `condition` every 0.2 s until it
    /// holds (status 0) or `timeoutSeconds` pass (status 1, printing that it waited in vain for
    /// `what`). It runs in a subshell, so `|| ...` after it can report more. (bash's SECONDS
    /// counts whole seconds of the clock, so the deadline is one more: it waits at least
    /// `timeoutSeconds`, at most one second longer.)
    static func waitLoop(until condition: String, timeoutSeconds: Int, what: String) -> String {
        let message = "timed out after \(timeoutSeconds) s waiting for \(what)".replacingOccurrences(of: "'", with: "'\\''")
        return "(deadline=$((SECONDS + \(timeoutSeconds) + 1)); until { \(condition); }; do if [ $SECONDS -ge $deadline ]; then echo '\(message)'; exit 1; fi; sleep 0.2; done)"
    }

    /// Starts `livemig receive --once` for Xen domains on `host`'s port 8002 in the background,
    /// once any earlier receiver there is gone; returns when it listens. Its output goes to
    /// /tmp/receive.log in dom0 (shown here if it never listens).
    func startReceiver(on host: String, options: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
        let earlierGone = Self.waitLoop(until: "! pgrep -f '^livemig receive' >/dev/null", timeoutSeconds: Deadline.dom0Seconds,
                                        what: "the earlier receiver to end")
        let listening = Self.waitLoop(until: "grep -q listening /tmp/receive.log", timeoutSeconds: Deadline.dom0Seconds,
                                      what: "livemig receive to listen")
        _ = try check(host, "pkill -KILL -f '^livemig receive'; \(earlierGone) || exit 1; rm -f /tmp/receive.log; (livemig receive --once --listen :8002 \(options) >/tmp/receive.log 2>&1 &); \(listening) || { cat /tmp/receive.log; exit 1; }",
                      file: file, line: line)
    }

    /// A lab guest's last heartbeat number on `host` (nil when it has none).
    func heartbeat(_ host: String, guest: String = "guest") throws -> Int? {
        Int(try run(host, "/lab/guest-heartbeat \(guest)").output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Polls `guest`'s heartbeat on `host` until it is above `floor` (any heartbeat when `floor`
    /// is nil) or `timeoutSeconds` have passed; returns the last one read (nil when none came).
    func heartbeat(_ host: String, guest: String = "guest", above floor: Int?, timeoutSeconds: Int) throws -> Int? {
        let deadline = Date().addingTimeInterval(Double(timeoutSeconds))
        while true {
            let last = try heartbeat(host, guest: guest)
            if let last, floor.map({ last > $0 }) ?? true { return last }
            if Date() >= deadline { return last }
            Thread.sleep(forTimeInterval: Deadline.pollIntervalSeconds)
        }
    }

    /// Waits for the first heartbeat of `guest`, just created on `host`, and returns it; fails
    /// (throws) when none comes within `Deadline.guestBootSeconds`.
    func firstHeartbeat(on host: String, guest: String = "guest", file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        try XCTUnwrap(try heartbeat(host, guest: guest, above: nil, timeoutSeconds: Deadline.guestBootSeconds),
                      "no heartbeat from \(guest) on \(host) within \(Deadline.guestBootSeconds) s", file: file, line: line)
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

    /// The guest's heartbeat goes on at `host` past `floor`, within `Deadline.heartbeatSeconds`
    /// (polled: it passes as soon as it is seen past `floor`).
    func assertBeating(on host: String, after floor: Int, guest: String = "guest", file: StaticString = #filePath, line: UInt = #line) throws {
        let last = try heartbeat(host, guest: guest, above: floor, timeoutSeconds: Deadline.heartbeatSeconds)
        if let last, last > floor { return }
        XCTFail("the guest's heartbeat on \(host) did not pass \(floor) within \(Deadline.heartbeatSeconds) s (last: \(String(describing: last)))",
                file: file, line: line)
    }
}
