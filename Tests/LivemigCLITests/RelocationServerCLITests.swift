import Foundation
import XCTest

/// `livemig receive` as xend's relocation server, run for real on loopback: the configuration
/// file's verdict, hosts-allow, the limits on incoming migrations, the handshake timeout, a
/// daemon that cannot be started, and the start-up warning. No guest is needed: each check ends
/// before a stream would begin.
final class RelocationServerCLITests: XCTestCase {
    private var directory: URL!
    private var receivers: [SpawnedProcess] = []

    override func setUpWithError() throws {
        directory = try LivemigProcess.temporaryDirectory(for: self)
    }

    override func tearDown() {
        for receiver in receivers { receiver.terminate() }
    }

    private var runDirectory: String { directory.appendingPathComponent("run").path }

    /// Starts `livemig receive ARGUMENTS --run-dir …`; returns its port and its output file.
    private func startReceiver(_ arguments: [String]) throws -> (port: UInt16, output: URL) {
        let output = directory.appendingPathComponent("receive-\(receivers.count).out")
        receivers.append(try SpawnedProcess.start(try LivemigProcess.binary().path, ["receive"] + arguments + ["--run-dir", runDirectory],
                                                  outputPath: output.path))
        var port: UInt16?
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 20) {
            // "livemig receive: listening on HOST:PORT, …"
            let line = self.text(output).split(separator: "\n").first { $0.contains("listening on ") }
            let address = line?.split(separator: " ").dropFirst(4).first
            port = address.flatMap { UInt16($0.split(separator: ":").last?.prefix { $0.isNumber } ?? "") }
            return port != nil
        }, "the receiver did not start: \(text(output))")
        return (try XCTUnwrap(port), output)
    }

    private func text(_ url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }

    private func waitForLog(_ output: URL, _ words: String, count: Int = 1) -> Bool {
        GuestHosts.waitUntil(seconds: 20) { self.text(output).components(separatedBy: words).count - 1 >= count }
    }

    func testAFileThatSaysNoOrNothingRefusesToStartNamingTheEntry() throws {
        for contents in ["(xend-relocation-server no)\n(xend-relocation-port 8002)\n", "# only comments\n(dom0-min-mem 196)\n"] {
            let file = directory.appendingPathComponent("xend-config.sxp")
            try contents.write(to: file, atomically: true, encoding: .utf8)
            let result = try LivemigProcess.run(["receive", "--config", file.path, "--listen", "127.0.0.1:0", "--run-dir", runDirectory])
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains("\(file.path) does not enable the relocation server: add (xend-relocation-server yes)"), result.stderr)
            XCTAssertFalse(result.stdout.contains("listening"), result.stdout)
        }
        // The alias, and a file that cannot be read, named with line and column.
        let broken = directory.appendingPathComponent("broken.sxp")
        try "(xend-relocation-server yes)\n(xend-relocation-port 'open\n".write(to: broken, atomically: true, encoding: .utf8)
        let result = try LivemigProcess.run(["relocation-server", "--config", broken.path, "--listen", "127.0.0.1:0", "--run-dir", runDirectory])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("\(broken.path):3:1: the file ends inside the string opened at line 2, column 23"), result.stderr)
    }

    func testHostsAllowClosesARefusedPeerBeforeReadingAndLogsItsAddressAndName() throws {
        // The file allows 10.x only; a loopback peer is refused.
        let file = directory.appendingPathComponent("xend-config.sxp")
        try "(xend-relocation-server yes)\n(xend-relocation-hosts-allow '^10\\\\.')\n".write(to: file, atomically: true, encoding: .utf8)
        let (port, output) = try startReceiver(["--config", file.path, "--listen", "127.0.0.1:0"])
        let client = try LoopbackClient(port: port)
        XCTAssertEqual(client.waitForEndOfStream(seconds: 20), true, "the refused connection was not closed")
        XCTAssertTrue(waitForLog(output, "refused connection from 127.0.0.1 ("), text(output))
        let line = try XCTUnwrap(text(output).split(separator: "\n").first { $0.contains("refused connection") })
        XCTAssertTrue(line.contains(#"neither matches hosts-allow '^10\.'"#), String(line))
        XCTAssertFalse(line.contains("(127.0.0.1)"), "the name is looked up: \(line)")
        XCTAssertFalse(text(output).contains("daemon pid"), "no daemon was started")

        // The command line overrides the file: a loopback peer is let in.
        let (openPort, openOutput) = try startReceiver(["--config", file.path, "--listen", "127.0.0.1:0", "--hosts-allow", #"^127\."#])
        let admitted = try LoopbackClient(port: openPort)
        XCTAssertTrue(waitForLog(openOutput, "incoming migration from 127.0.0.1:"), text(openOutput))
        XCTAssertEqual(admitted.waitForEndOfStream(seconds: 0), false, "an admitted connection stays open")
    }

    func testMaxIncomingClosesTheThirdConcurrentConnectionAtOnceAndFreesSlotsWhenOneEnds() throws {
        let (port, output) = try startReceiver(["--no-config", "--listen", "127.0.0.1:0", "--max-incoming", "2", "--max-per-peer", "2"])
        let first = try LoopbackClient(port: port)
        let second = try LoopbackClient(port: port)
        XCTAssertTrue(waitForLog(output, "incoming migration from 127.0.0.1:", count: 2), text(output))
        let third = try LoopbackClient(port: port)
        XCTAssertEqual(third.waitForEndOfStream(seconds: 20), true, "the third connection was not closed")
        XCTAssertTrue(waitForLog(output, "incoming migrations under way (--max-incoming 2)"), text(output))
        XCTAssertEqual(first.waitForEndOfStream(seconds: 0), false)
        XCTAssertEqual(second.waitForEndOfStream(seconds: 0), false)

        // The first source goes away before its guest: its daemon gives up, the slot is free again.
        first.close()
        XCTAssertTrue(waitForLog(output, "brought no guest"), text(output))
        let fourth = try LoopbackClient(port: port)
        XCTAssertTrue(waitForLog(output, "incoming migration from 127.0.0.1:", count: 3), text(output))
        XCTAssertEqual(fourth.waitForEndOfStream(seconds: 0), false)
    }

    func testAGuestThatArrivedAndRunsNoLongerCounts() throws {
        try requireKVMDevice()
        let source = directory.appendingPathComponent("source").path
        let (port, output) = try startReceiver(["--no-config", "--listen", "127.0.0.1:0", "--max-incoming", "1"])
        defer {
            for (name, runDirectory) in [("mover", source), ("mover", runDirectory)] {
                _ = try? LivemigProcess.run(["guest", "stop", name, "--run-dir", runDirectory])
            }
        }
        let started = try LivemigProcess.run(["guest", "start", "mover", "--memory", "64M", "--run-dir", source])
        XCTAssertEqual(started.status, 0, started.stderr)
        let moved = try LivemigProcess.run(["migrate", "--live", "mover", "127.0.0.1:\(port)", "--run-dir", source])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssertTrue(waitForLog(output, "the guest from 127.0.0.1 runs (daemon pid"), text(output))
        // The one slot is free again while the guest runs on.
        let next = try LoopbackClient(port: port)
        XCTAssertTrue(waitForLog(output, "incoming migration from 127.0.0.1:", count: 2), text(output))
        XCTAssertEqual(next.waitForEndOfStream(seconds: 0), false)
        XCTAssertFalse(text(output).contains("under way"), text(output))
        XCTAssertTrue(try LivemigProcess.run(["list", "--run-dir", runDirectory]).stdout.contains("mover"))
    }

    func testMaxPerPeerLimitsOneAddress() throws {
        let (port, output) = try startReceiver(["--no-config", "--listen", "127.0.0.1:0", "--max-per-peer", "1"])
        let first = try LoopbackClient(port: port)
        XCTAssertTrue(waitForLog(output, "incoming migration from 127.0.0.1:"), text(output))
        let second = try LoopbackClient(port: port)
        XCTAssertEqual(second.waitForEndOfStream(seconds: 20), true)
        XCTAssertTrue(waitForLog(output, "1 incoming migrations from 127.0.0.1 under way (--max-per-peer 1)"), text(output))
        XCTAssertEqual(first.waitForEndOfStream(seconds: 0), false)
    }

    func testAnIdleConnectionIsDroppedAfterTheHandshakeTimeout() throws {
        let (port, output) = try startReceiver(["--no-config", "--listen", "127.0.0.1:0", "--handshake-timeout", "0.5"])
        let client = try LoopbackClient(port: port)
        XCTAssertEqual(client.waitForEndOfStream(seconds: 20), true, "the idle connection was not closed")
        XCTAssertTrue(waitForLog(output, "brought no guest"), text(output))
        let daemonLog = URL(fileURLWithPath: runDirectory).appendingPathComponent("incoming.log")
        XCTAssertTrue(text(daemonLog).contains("no stream header from the migration source within 0.5 s (0 of 16 bytes came"), text(daemonLog))
    }

    func testTheReceiverGoesOnAfterADaemonCannotBeStarted() throws {
        // The daemons' log is a directory: posix_spawn cannot open it, so the daemon cannot start.
        let daemonLog = URL(fileURLWithPath: runDirectory).appendingPathComponent("incoming.log")
        try FileManager.default.createDirectory(at: daemonLog, withIntermediateDirectories: true)
        let (port, output) = try startReceiver(["--no-config", "--listen", "127.0.0.1:0"])
        let refused = try LoopbackClient(port: port)
        XCTAssertEqual(refused.waitForEndOfStream(seconds: 20), true)
        XCTAssertTrue(waitForLog(output, "cannot start a guest daemon for 127.0.0.1:"), text(output))
        XCTAssertTrue(text(output).contains("the receiver goes on"), text(output))
        try FileManager.default.removeItem(at: daemonLog)
        let admitted = try LoopbackClient(port: port)
        XCTAssertTrue(waitForLog(output, "incoming migration from 127.0.0.1:"), text(output))
        XCTAssertEqual(admitted.waitForEndOfStream(seconds: 0), false)
    }

    func testStartUpWarnsWhenAnyoneCanStartAGuest() throws {
        // Listening on all addresses sends nothing anywhere; the receiver is stopped at once.
        let (_, open) = try startReceiver(["--no-config", "--listen", ":0"])
        XCTAssertTrue(waitForLog(open, "WARNING: listening on 0.0.0.0:"), text(open))
        XCTAssertTrue(text(open).contains("beyond loopback with no TLS and an empty hosts-allow"), text(open))
        let (_, guarded) = try startReceiver(["--no-config", "--listen", ":0", "--hosts-allow", #"^10\.1\.2\.3$"#])
        let (_, loopback) = try startReceiver(["--no-config", "--listen", "127.0.0.1:0"])
        for output in [guarded, loopback] {
            XCTAssertTrue(waitForLog(output, "hosts-allow"), text(output))
            XCTAssertFalse(text(output).contains("WARNING"), text(output))
        }
    }
}

/// A plain TCP client on loopback that sends nothing.
final class LoopbackClient {
    private var fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            Glibc.close(fd)
            throw NSError(domain: "connect", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "cannot connect to 127.0.0.1:\(port)"])
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// True once the server has closed the connection without sending anything, false if it is
    /// still open after `seconds` (0: look once), nil if the server sent bytes or reset it.
    func waitForEndOfStream(seconds: Double) -> Bool? {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(seconds * 1000)) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 0 ? true : nil
    }
}
