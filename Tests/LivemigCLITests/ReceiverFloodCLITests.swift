import Foundation
import XCTest

/// A receiver under a flood of idle and slow connections from one address still takes a real
/// migration from another (the per-peer limit keeps the flood to its share), keeps its own
/// memory and its count of incoming daemons bounded, and answers control commands; and 16
/// concurrent migrations into one receiver all arrive. Real KVM guests, real sockets on
/// loopback addresses (127.0.0.2 floods, 127.0.0.1 migrates).
final class ReceiverFloodCLITests: GuestHostsTestCase {
    /// Opens a TCP connection to `port` on 127.0.0.1 from `sourceAddress`; -1 if refused at once.
    private func connect(from sourceAddress: String, to port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, sourceAddress, &local.sin_addr)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, connected == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// Resident memory of a process, in MiB (from /proc).
    private func residentMiB(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
    }

    /// Incoming daemons serving `runDirectory` whose guest has not arrived (those of arrived
    /// guests keep their command line, so guests listed as running are taken off).
    private func incomingDaemonCount(_ runDirectory: String) -> Int {
        daemonsStartedIncoming(runDirectory) - listing(runDirectory).split(separator: "\n").filter { $0.contains(" running ") }.count
    }

    private func daemonsStartedIncoming(_ runDirectory: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard Int(entry) != nil,
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
            let arguments = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.contains("--incoming") && arguments.contains(runDirectory)
        }.count
    }

    func testAFloodFromOneAddressDoesNotStopAMigrationFromAnother() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let (port, _) = try hosts.startLoopbackReceiver(hostB, extraArguments: ["--max-incoming", "8", "--max-per-peer", "4",
                                                                                  "--handshake-timeout", "5"])
        let receiverPID = try XCTUnwrap(hosts.receiverPIDs.last)
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "128M", "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)

        // 300 connections from 127.0.0.2: some idle, some trickling a byte at a time.
        var flood: [Int32] = []
        defer { for fd in flood { close(fd) } }
        for index in 0 ..< 300 {
            let fd = connect(from: "127.0.0.2", to: port)
            if fd >= 0 {
                if index % 3 == 0 { _ = send(fd, "L", 1, Int32(MSG_NOSIGNAL)) }
                flood.append(fd)
            }
        }
        XCTAssertLessThanOrEqual(incomingDaemonCount(hostB), 4, "the flood holds at most its per-peer share")

        // Meanwhile a real migration from 127.0.0.1 gets in and completes.
        let moved = try hosts.livemig(["migrate", "--live", "web", "127.0.0.1:\(port)", "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        XCTAssertEqual(try LivemigProcess.jsonObject(moved.stdout)["outcome"] as? String, "converged")
        XCTAssertTrue(listing(hostB).contains("running"), listing(hostB))
        XCTAssertFalse(listing(hostA).contains("web"), listing(hostA))

        XCTAssertLessThanOrEqual(incomingDaemonCount(hostB), 4)
        XCTAssertLessThan(residentMiB(receiverPID), 128, "the receiver's own memory stays small under the flood")
        // The flood's daemons give up at the handshake timeout, with their connections still open.
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 60) { self.incomingDaemonCount(hostB) == 0 },
                      "incoming daemons left: \(incomingDaemonCount(hostB))")
        XCTAssertTrue(flood.allSatisfy { fcntl($0, F_GETFD) >= 0 }, "the flood's connections were open all along")
    }

    func testSixteenConcurrentMigrationsIntoOneReceiverAllArrive() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let (port, _) = try hosts.startLoopbackReceiver(hostB, extraArguments: ["--max-incoming", "16", "--max-per-peer", "16"])
        let names = (1 ... 16).map { "g\($0)" }
        for name in names {
            let started = try hosts.livemig(["guest", "start", name, "--memory", "64M", "--run-dir", hostA])
            XCTAssertEqual(started.status, 0, started.stderr)
        }
        var migrations: [(String, SpawnedProcess)] = []
        for name in names {
            let output = hosts.root.appendingPathComponent("migrate-\(name).out").path
            migrations.append((name, try SpawnedProcess.start(try LivemigProcess.binary().path,
                                                              ["migrate", "--live", name, "127.0.0.1:\(port)", "--format", "json",
                                                               "--run-dir", hostA], outputPath: output)))
        }
        for (name, migration) in migrations {
            XCTAssertEqual(migration.wait(seconds: 300), 0, "\(name): \((try? String(contentsOfFile: hosts.root.appendingPathComponent("migrate-\(name).out").path, encoding: .utf8)) ?? "")")
        }
        let arrived = listing(hostB)
        for name in names { XCTAssertTrue(arrived.contains("\(name) "), "\(name) missing on B: \(arrived)") }
        XCTAssertEqual(arrived.split(separator: "\n").filter { $0.contains("running") }.count, 16, arrived)
        XCTAssertTrue(listing(hostA).split(separator: "\n").dropFirst().isEmpty, "guests left on A: \(listing(hostA))")
    }
}
