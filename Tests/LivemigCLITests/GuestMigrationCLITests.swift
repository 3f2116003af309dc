import Foundation
import XCTest

/// The virsh/xm-shaped command line end to end on /dev/kvm: guests started as daemons, a
/// receiver on another "host", live and offline migration, save and restore, a receiver killed
/// mid-migration, and two hosts in network namespaces.
final class GuestMigrationCLITests: GuestHostsTestCase {
    private func startLoopbackReceiver(_ runDirectory: String) throws -> (port: Int, output: URL) {
        try hosts.startLoopbackReceiver(runDirectory)
    }

    private func listing(_ runDirectory: String, namespace: String? = nil) throws -> String {
        try hosts.livemig(["list", "--run-dir", runDirectory], namespace: namespace).stdout
    }

    /// The heartbeat numbers on a guest's console.
    private func heartbeats(_ name: String, _ runDirectory: String) throws -> [Int] {
        let console = try LivemigProcess.run(["guest", "console", name, "--lines", "1000", "--run-dir", runDirectory]).stdout
        return console.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count == 3 && fields[1] == "hb" ? Int(fields[2]) : nil
        }
    }

    private func startGuest(_ name: String, _ runDirectory: String, memory: String = "256M",
                            workload: String = "uniform,workingSet=32MiB,rate=20000", namespace: String? = nil) throws {
        let started = try hosts.livemig(["guest", "start", name, "--memory", memory, "--workload", workload, "--run-dir", runDirectory],
                                        namespace: namespace)
        XCTAssertEqual(started.status, 0, started.stderr)
        XCTAssertTrue(started.stdout.contains("guest \(name) started"), started.stdout)
    }

    func testLiveMigrationToAnotherHostAndOfflineBack() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try startLoopbackReceiver(hostB).port
        let portA = try startLoopbackReceiver(hostA).port
        try startGuest("web", hostA)
        XCTAssertTrue(try listing(hostA).contains("web"))
        usleep(500_000)

        let moved = try LivemigProcess.run(["migrate", "--live", "web", "127.0.0.1:\(portB)", "--policy", "xen3",
                                            "--format", "json", "--run-dir", hostA])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        let report = try LivemigProcess.jsonObject(moved.stdout)
        XCTAssertNotEqual(report["outcome"] as? String, "aborted", "\(report)")
        XCTAssertEqual(report["policy"] as? String, "xen3")
        XCTAssertGreaterThan((report["iterations"] as? [Any])?.count ?? 0, 1)
        XCTAssertLessThan(report["downtimeSeconds"] as? Double ?? 1, 0.5)

        XCTAssertFalse(try listing(hostA).contains("web"), "the source no longer lists the guest")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 5) { ((try? self.listing(hostB)) ?? "").contains("running") })
        let sourceLast = try XCTUnwrap(try String(contentsOfFile: "\(hostA)/web.console", encoding: .utf8)
            .split(separator: "\n").compactMap { Int($0.split(separator: " ").last ?? "") }.last)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 5) { ((try? self.heartbeats("web", hostB)) ?? []).count >= 3 })
        let destinationBeats = try heartbeats("web", hostB)
        XCTAssertEqual(destinationBeats.first, sourceLast + 1, "the heartbeat goes on where the source left it")
        // The guest-visible gap: last heartbeat line on the source to the first on the
        // destination (both consoles carry this machine's wall clock); nominally 100 ms plus
        // the downtime, here bounded loosely because the machine is shared.
        func lastTime(_ path: String) throws -> Double? {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").last.flatMap { Double($0.split(separator: " ")[0]) }
        }
        func firstTime(_ path: String) throws -> Double? {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first.flatMap { Double($0.split(separator: " ")[0]) }
        }
        let gap = try XCTUnwrap(try firstTime("\(hostB)/web.console")) - XCTUnwrap(try lastTime("\(hostA)/web.console"))
        XCTAssertGreaterThan(gap, 0)
        XCTAssertLessThan(gap, 2.0, "heartbeat gap across the migration: \(gap) s")
        // The report states the same gap, from the same two lines.
        let measured = try XCTUnwrap(report["measured"] as? [String: Any], "\(report)")
        XCTAssertEqual(measured["lastLineBeforePause"] as? String, "hb \(sourceLast)")
        XCTAssertEqual(measured["firstLineAfterUnpause"] as? String, "hb \(sourceLast + 1)")
        XCTAssertEqual(measured["guestVisibleGapSeconds"] as? Double ?? 0, gap, accuracy: 0.001)

        XCTAssertNil(report["memoryVerified"], "not asked, not claimed")

        // Back offline, with the destination checking the memory against the source's digest.
        let back = try LivemigProcess.run(["migrate", "web", "127.0.0.1:\(portA)", "--verify-memory", "--format", "json", "--run-dir", hostB])
        XCTAssertEqual(back.status, 0, back.stderr)
        let offline = try LivemigProcess.jsonObject(back.stdout)
        XCTAssertEqual(offline["memoryVerified"] as? Bool, true, "\(offline)")
        XCTAssertEqual(offline["live"] as? Bool, false)
        XCTAssertEqual((offline["iterations"] as? [Any])?.count, 1)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 5) { ((try? self.listing(hostA)) ?? "").contains("running") })
    }

    func testKillingTheReceiverMidMigrationLeavesTheGuestRunningOnTheSource() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let (port, receiverOutput) = try startLoopbackReceiver(hostB)
        try startGuest("db", hostA, memory: "1G")
        let output = hosts.root.appendingPathComponent("migrate.out")
        let migration = try SpawnedProcess.start(try LivemigProcess.binary().path,
                                                 ["migrate", "--live", "db", "127.0.0.1:\(port)", "--bandwidth", "50MB/s",
                                                  "--format", "json", "--run-dir", hostA], outputPath: output.path)
        // The receiving daemon's pid, from the receiver's log line.
        var daemonPID: Int32?
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 10) {
            let text = (try? String(contentsOf: receiverOutput, encoding: .utf8)) ?? ""
            daemonPID = text.split(separator: "\n").first { $0.contains("daemon pid") }
                .flatMap { Int32($0.split(separator: " ").last ?? "") }
            return daemonPID != nil
        })
        usleep(1_500_000)  // mid-way through the 1 GiB first pass at 50 MB/s
        kill(try XCTUnwrap(daemonPID), SIGKILL)
        let status = migration.wait(seconds: 30)
        XCTAssertNotNil(status, "the migration did not end after its receiver was killed")
        XCTAssertNotEqual(status, 0)
        let printed = try String(contentsOf: output, encoding: .utf8)
        let report = try LivemigProcess.jsonObject(String(printed[printed.firstIndex(of: "{")!...]))
        XCTAssertEqual(report["outcome"] as? String, "aborted")
        // Still there, running, and still beating.
        let listed = try listing(hostA)
        XCTAssertTrue(listed.contains("db") && listed.contains("running"), listed)
        let before = try heartbeats("db", hostA).last ?? 0
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 3) { ((try? self.heartbeats("db", hostA).last) ?? 0) >= before + 3 })
        XCTAssertFalse(try listing(hostB).contains("db"), "no half guest on the destination")
    }

    func testARefusedGuestReportsTheDestinationsReasonAndKeepsRunning() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let (port, _) = try startLoopbackReceiver(hostB)
        try startGuest("twin", hostA)
        try startGuest("twin", hostB, memory: "64M")
        let moved = try LivemigProcess.run(["migrate", "--live", "twin", "127.0.0.1:\(port)", "--format", "json", "--run-dir", hostA])
        XCTAssertNotEqual(moved.status, 0)
        let report = try LivemigProcess.jsonObject(moved.stdout)
        XCTAssertEqual(report["outcome"] as? String, "aborted")
        let reason = report["reason"] as? String ?? ""
        XCTAssertTrue(reason.contains("the destination aborted") && reason.contains("already runs"), reason)
        let listed = try listing(hostA)
        XCTAssertTrue(listed.contains("twin") && listed.contains("running"), listed)
        XCTAssertTrue(try listing(hostB).contains("64M"), "the destination's own guest is untouched")
    }

    func testObserveWritesATraceThatTheSimulatorReplays() throws {
        let host = hosts.runDirectory("a")
        try startGuest("web", host, workload: "uniform,workingSet=16MiB,rate=5000")
        let trace = hosts.root.appendingPathComponent("web.trace")
        let observed = try LivemigProcess.run(["observe", "web", "--seconds", "1", "--trace", trace.path, "--format", "json", "--run-dir", host])
        XCTAssertEqual(observed.status, 0, observed.stderr)
        let summary = try LivemigProcess.jsonObject(observed.stdout)
        XCTAssertEqual(summary["reads"] as? Int, 10)
        XCTAssertEqual(summary["guestPages"] as? Int, 65_536)
        XCTAssertGreaterThan(summary["meanPagesPerSecond"] as? Double ?? 0, 2000, "\(summary)")
        XCTAssertTrue(try listing(host).contains("running"), "the guest runs on, not migrated")

        // Predict a migration of this guest from what it was seen to do.
        let scenario = hosts.root.appendingPathComponent("web.yaml")
        try """
            name: web-observed
            guest: {memory: 256MiB}
            workload: {kind: trace, file: web.trace, loop: true}
            link: {bandwidth: 1Gbit/s}
            policy: {name: xen4}
            """.write(to: scenario, atomically: true, encoding: .utf8)
        let predicted = try LivemigProcess.run(["simulate", scenario.path, "--format", "json"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let report = try LivemigProcess.jsonObject(predicted.stdout)
        XCTAssertEqual(report["outcome"] as? String, "converged", "\(report)")
        XCTAssertGreaterThan(report["pagesSent"] as? Int ?? 0, 65_536, "the replayed writes cost more than one pass")

        let refused = try LivemigProcess.run(["observe", "web", "--seconds", "1", "--interval", "5", "--trace", trace.path, "--run-dir", host])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--interval 5.0"), refused.stderr)
    }

    func testSaveStopsTheGuestAndRestoreRunsItAgain() throws {
        let host = hosts.runDirectory("a")
        try startGuest("keep", host, memory: "128M", workload: "hotCold,workingSet=16MiB,hotSet=1MiB,hotRate=5000,coldRate=500")
        usleep(500_000)
        let file = hosts.root.appendingPathComponent("keep.sav").path
        let saved = try LivemigProcess.run(["save", "keep", file, "--format", "json", "--run-dir", host])
        XCTAssertEqual(saved.status, 0, saved.stderr)
        XCTAssertFalse(try listing(host).contains("keep"), "save stops the guest")
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        // Every page is in the file: its data, or (never written since boot) a zero-page marker.
        let savedReport = try LivemigProcess.jsonObject(saved.stdout)
        let zeroPages = try XCTUnwrap(savedReport["zeroPagesSent"] as? Int)
        XCTAssertGreaterThan(zeroPages, 0, "a fresh guest's untouched memory goes as zero pages")
        XCTAssertLessThan(zeroPages, 32_768, "the guest program and the pages it wrote are not zero")
        XCTAssertGreaterThanOrEqual(size, (32_768 - zeroPages) * 4096 + zeroPages * 8, "the file holds all of memory")
        let lastSaved = try XCTUnwrap(try String(contentsOfFile: "\(host)/keep.console", encoding: .utf8)
            .split(separator: "\n").compactMap { Int($0.split(separator: " ").last ?? "") }.last)

        let restored = try LivemigProcess.run(["restore", file, "--run-dir", host])
        XCTAssertEqual(restored.status, 0, restored.stderr)
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 5) { ((try? self.heartbeats("keep", host)) ?? []).contains(lastSaved + 3) })
    }

    func testLiveMigrationBetweenTwoNetworkNamespaces() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else {
            XCTFail("/usr/sbin/ip is missing: install iproute2 (scripts/install-deps does)")
            return
        }
        let (a, b) = try hosts.makeNetworkPair()
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        _ = try hosts.startReceiver(listen: "\(b.1):8002", runDirectory: hostB, namespace: b.0)
        try startGuest("ns", hostA, namespace: a.0)
        // The guest's daemon lives in namespace A, so the stream leaves from A's address.
        let moved = try hosts.livemig(["migrate", "--live", "ns", b.1, "--policy", "qemu", "--format", "json", "--run-dir", hostA],
                                      namespace: a.0)
        XCTAssertEqual(moved.status, 0, moved.stderr + moved.stdout)
        let report = try LivemigProcess.jsonObject(moved.stdout)
        XCTAssertNotEqual(report["outcome"] as? String, "aborted", "\(report)")
        XCTAssertTrue(GuestHosts.waitUntil(seconds: 5) { ((try? self.listing(hostB)) ?? "").contains("running") })
        let receiverLog = try String(contentsOfFile: hosts.root.appendingPathComponent("receive-0.out").path, encoding: .utf8)
        XCTAssertTrue(receiverLog.contains("incoming migration from \(a.1):"), "the stream came from host A's address: \(receiverLog)")
    }
}
