import Foundation
import MigrationCore
@testable import MigrationExecutor
import MigrationStream
@testable import XenBackend
import XCTest

/// One set of commit rules for both senders: the same destination faults, played against the
/// KVM path (the engine core's `SourceMigration` run by `MigrationExecutor` against the real
/// `MigrationReceiver`) and against the Xen path (`XenMigrationSender` against a scripted xl
/// receiver, with a stand-in for libxl and libxenguest), must leave the source guest exactly
/// where the core's `CommitRules` says: running here, paused here for `guest resume`, or gone
/// because it runs there.
final class CommitRulesBothPathsTests: XCTestCase {
    /// What the destination does; each is a fault at one commit point, or none.
    enum DestinationScript: String, CaseIterable {
        /// Refuses the stream before saying "ready".
        case refusesBeforeReady
        /// Says nothing after the stream, past the source's "ready" timeout.
        case stallsBeforeReady
        /// Goes silent for good after the clearance (its copy may run there).
        case silentAfterClearance
        /// Cannot run the guest after the clearance, destroys its copy and says so.
        case cannotRunAndReleases
        /// Runs the guest; the source's destroy of its own copy fails.
        case runsButSourceDestroyFails
        /// Runs the guest.
        case runs

        /// The commit point this fault strikes at (nil: no failure).
        var commitPoint: CommitPoint? {
            switch self {
            case .refusesBeforeReady, .stallsBeforeReady: .transfer
            case .silentAfterClearance: .clearanceSent
            case .cannotRunAndReleases: .destinationReleasedGuest
            case .runsButSourceDestroyFails: .sourceDestroy
            case .runs: nil
            }
        }
    }

    /// Where the source's guest ended, as both paths can tell it.
    struct SourceEnd: Equatable, CustomStringConvertible {
        var aborted: Bool
        var runningHere: Bool
        var pausedHere: Bool
        var destroyTried: Bool
        var description: String { "aborted \(aborted), running here \(runningHere), paused here \(pausedHere), destroy tried \(destroyTried)" }

        /// What the core's rules demand after `script`.
        static func expected(after script: DestinationScript) -> SourceEnd {
            // Success: paused for the last pass, then destroyed once the destination runs it.
            guard let point = script.commitPoint else { return SourceEnd(aborted: false, runningHere: false, pausedHere: true, destroyTried: true) }
            switch CommitRules.verdict(onFailureAt: point) {
            case .resumeSource: return SourceEnd(aborted: true, runningHere: true, pausedHere: false, destroyTried: false)
            case .leaveSourcePaused: return SourceEnd(aborted: true, runningHere: false, pausedHere: true, destroyTried: false)
            case .destinationOwnsGuest: return SourceEnd(aborted: false, runningHere: false, pausedHere: true, destroyTried: true)
            }
        }
    }

    private let readySeconds = 0.5
    private var lastXenHost: ScriptedXenHost?

    /// A Xen domain left suspended as NAME--migratedaway is brought back by `guest resume
    /// --force` (xl has no such command); a domain that was not left so is refused.
    func testAXenDomainLeftSuspendedIsResumedUnderItsName() throws {
        XCTAssertEqual(try runXenPath(.silentAfterClearance), SourceEnd.expected(after: .silentAfterClearance))
        let host = lastXenHost!
        XCTAssertEqual(host.name, "dom--migratedaway")
        try XenLeftSuspendedDomain.resume("dom", on: host)
        XCTAssertEqual(host.name, "dom")
        XCTAssertFalse(host.suspended)
        XCTAssertThrowsError(try XenLeftSuspendedDomain.resume("dom", on: host)) { error in
            XCTAssertTrue("\(error)".contains("no domain dom--migratedaway here"), "\(error)")
        }
    }

    func testBothPathsLeaveTheSourceWhereTheCoreRulesSay() throws {
        for script in DestinationScript.allCases {
            let expected = SourceEnd.expected(after: script)
            let kvm = try runKVMPath(script)
            let xen = try runXenPath(script)
            XCTAssertEqual(kvm, expected, "KVM path, \(script)")
            XCTAssertEqual(xen, expected, "Xen path, \(script)")
        }
    }

    // MARK: - The KVM path

    /// A guest for the real receiver whose loading and running follow the script.
    final class ScriptedGuest: IncomingGuest, @unchecked Sendable {
        let memory: InMemoryMigrationTests.PlainMemory
        let script: DestinationScript
        init(pages: Int, script: DestinationScript) {
            memory = InMemoryMigrationTests.PlainMemory(pages: pages)
            self.script = script
        }
        func pageAddress(_ page: Int) -> UnsafeMutableRawPointer { memory.pageAddress(page) }
        func loadVcpuState(_ state: [UInt8], vcpu: Int) throws(HostFailure) {}
        func loadDeviceState(_ state: [UInt8]) throws(HostFailure) {
            switch script {
            case .refusesBeforeReady: throw HostFailure("scripted: the device state does not load")
            case .stallsBeforeReady: Thread.sleep(forTimeInterval: 2)
            default: break
            }
        }
        func run() throws(HostFailure) {
            if script == .cannotRunAndReleases { throw HostFailure("scripted: the guest does not start") }
        }
        func discard() {}
        func firstConsoleLine(after seconds: Double, waitingUpTo timeoutSeconds: Double) -> (wallClockSeconds: Double, text: String)? { nil }
    }

    private func runKVMPath(_ script: DestinationScript) throws -> SourceEnd {
        let pages = 1024
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let served = DispatchSemaphore(value: 0)
        Thread {
            defer { served.signal() }
            guard let connection = try? listener.accept() else { return }
            defer { connection.close() }
            _ = try? MigrationReceiver.receive(on: connection, makeGuest: { _ in ScriptedGuest(pages: pages, script: script) },
                                               beforeRun: { _ in
                                                   // The link dies at the clearance: the guest runs here, the source never hears.
                                                   if script == .silentAfterClearance { shutdown(connection.fd, Int32(SHUT_RDWR)) }
                                               })
        }.start()
        let source = InMemoryMigrationTests.PlainMemory(pages: pages)
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        defer { socket.close() }
        let layout = GuestLayout(name: "plain", memoryBytes: UInt64(pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        var channel = try StreamChannel(socket: socket, layout: layout, timeouts: SenderTimeouts(readySeconds: readySeconds, runningSeconds: 5)) {
            UnsafeRawPointer(source.pageAddress($0))
        }
        var hypervisor = ScriptedSourceHypervisor(plain: .init(memory: source, dirty: DirtyBitmap(pageCount: pages), writesPerRead: 0),
                                                  destroyFails: script == .runsButSourceDestroyFails)
        var engine = SourceMigration(tracker: BitmapPageTracker(pageCount: pages, collectsPageNumbers: true),
                                     policy: Xen4Policy(), settings: EngineSettings())
        let report = MigrationExecutor.run(&engine, on: &hypervisor, over: &channel)
        XCTAssertEqual(served.wait(timeout: .now() + 30), .success, "the receiver ended")
        return SourceEnd(aborted: report.outcome == .aborted, runningHere: engine.sourceGuestRunning, pausedHere: hypervisor.plain.paused,
                         destroyTried: hypervisor.destroyTried)
    }

    // MARK: - The Xen path

    /// libxl and libxenguest as the sender uses them, on one domain: a "save" writes a fixed
    /// stand-in for libxc's stream and suspends the domain.
    final class ScriptedXenHost: XenMigrationSourceHost, @unchecked Sendable {
        static let libxcStreamBytes = 256 << 10
        let destroyFails: Bool
        var name = "dom"
        var suspended = false
        var destroyTried = false
        init(destroyFails: Bool) { self.destroyFails = destroyFails }

        func domainID(named name: String) throws(HostFailure) -> UInt32 {
            guard name == self.name else { throw HostFailure("scripted: no domain \(name)") }
            return 7
        }
        func requireMigratablePV(_ id: UInt32, name: String) throws(HostFailure) {}
        func guestPageCount(_ id: UInt32) throws(HostFailure) -> Int { 1024 }
        func configurationJSON(_ id: UInt32) throws(HostFailure) -> String { "{\"c_info\":{\"name\":\"dom\"}}" }
        func rename(_ id: UInt32, from old: String?, to new: String) throws(HostFailure) {
            guard old == nil || old == name else { throw HostFailure("scripted: no domain \(old!)") }
            name = new
        }
        func destroy(_ id: UInt32) throws(HostFailure) {
            destroyTried = true
            if destroyFails { throw HostFailure("scripted: the source copy does not go") }
        }
        func resumeIfSuspended(_ id: UInt32) throws(HostFailure) { suspended = false }
        func runSave(_ save: XenDomainSave, domainID id: UInt32, fd: Int32, live: Bool) throws(HostFailure) {
            // Written on the descriptor it was given, as libxenguest does (it does not own it).
            try Self.write(fd, [UInt8](repeating: 0xAB, count: Self.libxcStreamBytes / 2))
            suspended = true
            save.noteSuspended()
            try Self.write(fd, [UInt8](repeating: 0xCD, count: Self.libxcStreamBytes / 2))
        }

        private static func write(_ fd: Int32, _ bytes: [UInt8]) throws(HostFailure) {
            var offset = 0
            while offset < bytes.count {
                let wrote = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                guard wrote > 0 else { throw HostFailure("scripted save: \(String(cString: strerror(errno)))") }
                offset += wrote
            }
        }
    }

    /// xl's receiver, following the script: banner, the whole stream, then its answers.
    private static func serveXl(_ connection: BlockingSocket, _ script: DestinationScript) {
        let conversation = XlConversation(socket: connection)
        do {
            try connection.write(XlMigrationProtocol.banner)
            let header = try conversation.read(XlMigrationProtocol.headerBytes)
            _ = try conversation.read(try XlMigrationProtocol.optionalDataLength(ofHeader: header))
            _ = try conversation.read(XlMigrationProtocol.libxlStreamHeader.count + XlMigrationProtocol.libxcContextRecord.count
                + ScriptedXenHost.libxcStreamBytes)
            try conversation.expect(XlMigrationProtocol.endRecord, "the end record")
            switch script {
            case .refusesBeforeReady: return  // xl's receiver just closes
            case .stallsBeforeReady: Thread.sleep(forTimeInterval: 2)
            default: break
            }
            try connection.write(XlMigrationProtocol.ready)
            try conversation.expect(XlMigrationProtocol.permissionToGo, "the permission to go")
            switch script {
            case .silentAfterClearance: return
            case .cannotRunAndReleases: try connection.write(XlMigrationProtocol.report + [3] + XlMigrationProtocol.permissionToGo)
            default: try connection.write(XlMigrationProtocol.report + [0])
            }
        } catch {
            return
        }
    }

    private func runXenPath(_ script: DestinationScript) throws -> SourceEnd {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let served = DispatchSemaphore(value: 0)
        Thread {
            defer { served.signal() }
            guard let connection = try? listener.accept() else { return }
            Self.serveXl(connection, script)
            connection.close()
        }.start()
        let host = ScriptedXenHost(destroyFails: script == .runsButSourceDestroyFails)
        lastXenHost = host
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        let report = try XenMigrationSender.migrate(domain: "dom", on: host, over: socket, policy: PolicyConfiguration(name: .xen4), live: true,
                                                    timeouts: SenderTimeouts(readySeconds: readySeconds, runningSeconds: 5))
        socket.close()  // as `migrate` ends: a receiver still waiting hears the close
        XCTAssertEqual(served.wait(timeout: .now() + 30), .success, "the scripted receiver ended")
        let renamedAway = host.name == "dom--migratedaway"
        XCTAssertEqual(renamedAway, host.suspended, "\(script): suspended here exactly when renamed away (\(host.name)); \(report.reason)")
        return SourceEnd(aborted: report.outcome == .aborted, runningHere: !host.suspended && !host.destroyTried,
                         pausedHere: host.suspended, destroyTried: host.destroyTried)
    }
}
