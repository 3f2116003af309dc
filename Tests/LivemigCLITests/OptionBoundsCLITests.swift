import Foundation
import XCTest

/// Numeric options out of range are refused in one line naming the option, the value and the
/// allowed range, before anything is started or contacted; a guest daemon refuses the same
/// numbers sent straight to its control socket; `guest start` of a running guest's name is an
/// error that leaves that guest alone.
final class OptionBoundsCLITests: XCTestCase {
    private func assertRefused(_ arguments: [String], naming option: String, value: String, range: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try LivemigProcess.run(arguments)
        XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)", file: file, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(result.stderr)", file: file, line: line)
        let message = String(lines.first ?? "")
        for part in [option, value, range] {
            XCTAssertTrue(message.contains(part), "'\(part)' missing in: \(message)", file: file, line: line)
        }
        XCTAssertFalse(message.contains("Fatal error") || message.contains("crashed"), message, file: file, line: line)
    }

    func testGuestStartRefusesMemoryThatUsedToCrashIt() throws {
        let runDirectory = try LivemigProcess.temporaryDirectory(for: self).appendingPathComponent("run").path
        for memory in ["nanG", "infM", "1e30G", "-2G", "0", "3M", "5M", "0.3B", "5G", "1e19"] {
            try assertRefused(["guest", "start", "g", "--memory=\(memory)", "--run-dir", runDirectory],
                              naming: "--memory", value: memory, range: "from 4MiB to 4GiB in steps of 2MiB")
        }
        try assertRefused(["guest", "start", "g", "--memory", "3584M", "--image", "/nonexistent", "--run-dir", runDirectory],
                          naming: "--memory", value: "3584M", range: "from 4MiB to 3GiB")
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDirectory + "/g.log"), "no daemon was started")
    }

    func testMigrateRefusesOutOfRangeNumbersBeforeContactingAnyone() throws {
        let runDirectory = try LivemigProcess.temporaryDirectory(for: self).path
        let base = ["migrate", "--live", "nosuchguest", "127.0.0.1:9", "--run-dir", runDirectory]
        for bandwidth in ["1e-20 bit/s", "1e-6 bit/s", "0.5Mbit/s", "0", "-1Gbit/s", "2Tbit/s"] {
            try assertRefused(base + ["--bandwidth=\(bandwidth)"], naming: "--bandwidth", value: bandwidth,
                              range: "from 1Mbit/s to 1Tbit/s")
        }
        try assertRefused(base + ["--bandwidth", "nan"], naming: "--bandwidth", value: "nan", range: "from 1Mbit/s to 1Tbit/s")
        try assertRefused(base + ["--downtime-limit", "0"], naming: "--downtime-limit", value: "0", range: "from 1ms to 2000s")
        try assertRefused(base + ["--downtime-limit", "nan"], naming: "--downtime-limit", value: "nan", range: "from 1ms to 2000s")
        try assertRefused(base + ["--timeout", "1e300"], naming: "--timeout", value: "1e300", range: "from 1ms to 24h")
        try assertRefused(base + ["--downtime-limit", "3000s"], naming: "--downtime-limit", value: "3000s", range: "from 1ms to 2000s")
        try assertRefused(base + ["--downtime-limit", "fast"], naming: "--downtime-limit", value: "fast", range: "from 1ms to 2000s")
        try assertRefused(base + ["--set", "policy.maxIterations=0"], naming: "policy.maxIterations", value: "0", range: "from 1")
        try assertRefused(base + ["--fallback-rounds", "2000000"], naming: "--fallback-rounds", value: "2000000",
                          range: "from 0 to 1000000")
    }

    func testObserveAndConsoleRefuseOutOfRangeNumbers() throws {
        let runDirectory = try LivemigProcess.temporaryDirectory(for: self).path
        try assertRefused(["observe", "g", "--seconds", "nan", "--trace", "/tmp/never.trace", "--run-dir", runDirectory],
                          naming: "--seconds", value: "nan", range: "from 10ms to 1h")
        try assertRefused(["observe", "g", "--seconds", "5", "--interval", "0", "--trace", "/tmp/never.trace", "--run-dir", runDirectory],
                          naming: "--interval", value: "0", range: "from 10ms to 1h")
        try assertRefused(["guest", "console", "g", "--lines", "0", "--run-dir", runDirectory],
                          naming: "--lines", value: "0", range: "from 1 to 10000")
    }

    func testBenchRefusesOutOfRangeNumbers() throws {
        try assertRefused(["bench", "simulate", "--sizes-gi-b", "0"], naming: "--sizes-gi-b", value: "0", range: "from 1 to 256")
        try assertRefused(["bench", "simulate", "--fluid-seconds", "nan"], naming: "--fluid-seconds", value: "nan",
                          range: "from 10ms to 1h")
        try assertRefused(["bench", "simulate", "--fluid-sweep-runs=-1"], naming: "--fluid-sweep-runs", value: "-1", range: "from 0 to 1000000")
        try assertRefused(["bench", "simulate", "--page-sweep-runs", "100001"], naming: "--page-sweep-runs", value: "100001", range: "from 0 to 100000")
        try assertRefused(["bench", "migrate", "--memory-mi-b", "5"], naming: "--memory-mi-b", value: "5", range: "from 4 to 4096")
        try assertRefused(["bench", "migrate", "--rate=-1"], naming: "--rate", value: "-1", range: "from 0 to")
    }

    /// The daemon checks what arrives on its control socket too: a migrate request with the rate
    /// that crashed the source daemon (1e-20 bit/s) is refused, and the guest keeps running.
    func testDaemonRefusesOutOfRangeRequestsOnItsControlSocket() throws {
        try requireKVMDevice()
        let hosts = try GuestHosts()
        defer { hosts.tearDown() }
        let runDirectory = hosts.runDirectory("a")
        let started = try LivemigProcess.run(["guest", "start", "g", "--memory", "16M", "--run-dir", runDirectory])
        XCTAssertEqual(started.status, 0, started.stderr)
        let requests = [
            #"{"command":"migrate","target":"127.0.0.1:9","rateLimitBytesPerSecond":1.25e-21}"#: "--bandwidth",
            #"{"command":"migrate","target":"127.0.0.1:9","downtimeLimitSeconds":-1}"#: "--downtime-limit",
            #"{"command":"migrate","target":"127.0.0.1:9","timeoutSeconds":1e300}"#: "--timeout",
            #"{"command":"migrate","target":"127.0.0.1:9","fallbackRounds":-3}"#: "--fallback-rounds",
            #"{"command":"observe","file":"/tmp/never.trace","seconds":0}"#: "--seconds",
            #"{"command":"console","lines":-5}"#: "--lines",
        ]
        for (request, option) in requests {
            let reply = try ControlSocketClient.exchange(request, socket: runDirectory + "/g.sock")
            XCTAssertTrue(reply.contains("\"error\"") && reply.contains(option), "\(request) -> \(reply)")
        }
        let listing = try LivemigProcess.run(["list", "--run-dir", runDirectory]).stdout
        XCTAssertTrue(listing.contains("running"), listing)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/never.trace"))
    }

    func testStartingARunningGuestsNameIsAnErrorThatLeavesItAlone() throws {
        try requireKVMDevice()
        let hosts = try GuestHosts()
        defer { hosts.tearDown() }
        let runDirectory = hosts.runDirectory("a")
        let first = try LivemigProcess.run(["guest", "start", "web", "--memory", "16M", "--run-dir", runDirectory])
        XCTAssertEqual(first.status, 0, first.stderr)
        let console = runDirectory + "/web.console"
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 30) { ((try? String(contentsOfFile: console, encoding: .utf8)) ?? "").contains("hb 3") },
                      "the guest printed no heartbeats")
        let before = try String(contentsOfFile: console, encoding: .utf8)

        let second = try LivemigProcess.run(["guest", "start", "web", "--memory", "32M", "--run-dir", runDirectory])
        XCTAssertEqual(second.status, 1, second.stdout)
        XCTAssertFalse(second.stdout.contains("started"), second.stdout)
        XCTAssertTrue(second.stderr.contains("a guest named 'web' already runs"), second.stderr)
        let after = try String(contentsOfFile: console, encoding: .utf8)
        XCTAssertTrue(after.hasPrefix(before), "the running guest's console log was truncated")
        let listing = try LivemigProcess.run(["list", "--run-dir", runDirectory]).stdout
        XCTAssertTrue(listing.contains("16M"), "the first guest still runs: \(listing)")
    }
}

/// A raw client of a guest daemon's control socket: one JSON line out, one back.
enum ControlSocketClient {
    static func exchange(_ line: String, socket path: String) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array((line + "\n").utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw POSIXError(.EPIPE) }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(UInt8(ascii: "\n")) {
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { break }
            reply += chunk[0 ..< count]
        }
        return String(decoding: reply, as: UTF8.self)
    }
}
