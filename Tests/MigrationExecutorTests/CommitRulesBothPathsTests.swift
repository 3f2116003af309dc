import Foundation
import MigrationCore
@testable import MigrationExecutor
import MigrationStream
@testable import XenBackend
import XCTest

/// One set of commit rules for both paths: the same destination faults, played against the
/// KVM path (the engine core's `SourceMigration` run by `MigrationExecutor` against the real
/// `MigrationReceiver`) and against the Xen path (`XenMigrationSender` against the real
/// `XenMigrationReceiver`, with stand-ins for libxl and libxenguest on both hosts), must leave
/// the source guest exactly where the core's `CommitRules` says: running here, paused here for
/// `guest resume`, or gone because it runs there. A destination that gives the guest back must
/// have destroyed its copy before the source hears of it (each destroy takes 0.3 s here, so a
/// release sent first would be seen).
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
        XCTAssertEqual(try runXenPath(.silentAfterClearance, copy: DestinationCopy()), SourceEnd.expected(after: .silentAfterClearance))
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
            let kvmCopy = DestinationCopy(), xenCopy = DestinationCopy()
            let kvm = try runKVMPath(script, copy: kvmCopy)
            let xen = try runXenPath(script, copy: xenCopy)
            XCTAssertEqual(kvm, expected, "KVM path, \(script)")
            XCTAssertEqual(xen, expected, "Xen path, \(script)")
            // The report carries the verdict: `migrate` records a domain left suspended from it.
            let leftPaused = expected.aborted && expected.pausedHere
            XCTAssertEqual(lastXenReport?.sourceLeftPaused, leftPaused ? true : nil, "Xen path, \(script)")
            if script == .cannotRunAndReleases {
                // The commit recorded before the failed unpause is forgotten once the copy is gone,
                // so `guest resume` on the source would not be refused by a commit that came to nothing.
                XCTAssertEqual(kvmCopy.events, ["commit 16", "rollback 16 after destroy true"], "KVM path")
                XCTAssertTrue(kvmCopy.destroyedWhenSourceConcluded, "KVM path: the release came before the destroy")
                XCTAssertTrue(xenCopy.destroyedWhenSourceConcluded, "Xen path: the release came before the destroy")
            }
            if script == .runs { XCTAssertEqual(kvmCopy.events, ["commit 16"], "a guest that runs keeps its commit") }
            if script.commitPoint == nil || script == .runsButSourceDestroyFails {
                XCTAssertFalse(kvmCopy.destroyed || xenCopy.destroyed, "\(script): the copy that runs there was destroyed")
            }
        }
    }

    /// A cancel between the destination's "ready" and the commit (here: while the domain is
    /// renamed away) withholds the clearance: the domain gets its name back and resumes, and
    /// the destination, never cleared, throws its copy away.
    func testACancelBeforeTheClearanceResumesTheXenDomain() throws {
        let copy = DestinationCopy()
        let cancellation = MigrationCancellation()
        let end = try runXenPath(.runs, copy: copy, cancellation: cancellation) { host in
            host.onRenameAway = { cancellation.cancel(reason: "scripted cancel at the commit") }
        }
        XCTAssertEqual(end, SourceEnd(aborted: true, runningHere: true, pausedHere: false, destroyTried: false))
        XCTAssertEqual(CommitRules.verdict(onFailureAt: .clearanceWithheld), .resumeSource)
        XCTAssertTrue(copy.destroyed, "the destination's uncleared copy is thrown away")
        XCTAssertTrue(lastXenReport?.reason.contains("scripted cancel at the commit") == true, lastXenReport?.reason ?? "")
    }

    /// The destination's copy: destroyed (after 0.3 s, as a real destroy takes time), and
    /// whether it was gone when the source concluded.
    final class DestinationCopy: @unchecked Sendable {
        private let lock = NSLock()
        private var gone = false
        private var goneAtConclusion: Bool?
        func destroy() {
            Thread.sleep(forTimeInterval: 0.3)
            lock.withLock { gone = true }
        }
        var destroyed: Bool { lock.withLock { gone } }
        func noteSourceConcluded() { lock.withLock { goneAtConclusion = gone } }
        private var noted: [String] = []
        /// The receiver's commit and rollback, in order.
        func note(_ event: String) { lock.withLock { noted.append(event) } }
        var events: [String] { lock.withLock { noted } }
        var destroyedWhenSourceConcluded: Bool { lock.withLock { goneAtConclusion ?? false } }
    }

    // MARK: - The KVM path

    /// A guest for the real receiver whose loading and running follow the script.
    final class ScriptedGuest: IncomingGuest, @unchecked Sendable {
        let memory: InMemoryMigrationTests.PlainMemory
        let script: DestinationScript
        let copy: DestinationCopy
        init(pages: Int, script: DestinationScript, copy: DestinationCopy) {
            memory = InMemoryMigrationTests.PlainMemory(pages: pages)
            self.script = script
            self.copy = copy
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
        func discard() { copy.destroy() }
        func firstConsoleLine(after seconds: Double, waitingUpTo timeoutSeconds: Double) -> (wallClockSeconds: Double, text: String)? { nil }
    }

    private func runKVMPath(_ script: DestinationScript, copy: DestinationCopy) throws -> SourceEnd {
        let pages = 1024
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let served = DispatchSemaphore(value: 0)
        Thread {
            defer { served.signal() }
            guard let connection = try? listener.accept() else { return }
            defer { connection.close() }
            _ = try? MigrationReceiver.serve(on: connection, makeGuest: { _ in ScriptedGuest(pages: pages, script: script, copy: copy) },
                                             answerQuery: nil,
                                             onCommit: { nonce throws(HostFailure) in copy.note("commit \(nonce.count)") },
                                             onRollback: { nonce in copy.note("rollback \(nonce.count) after destroy \(copy.destroyed)") },
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
        copy.noteSourceConcluded()
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
        /// Called when the sender renames the domain away (after "ready", before the commit).
        var onRenameAway: (() -> Void)?
        func rename(_ id: UInt32, from old: String?, to new: String) throws(HostFailure) {
            guard old == nil || old == name else { throw HostFailure("scripted: no domain \(old!)") }
            name = new
            if new.hasSuffix("--migratedaway") { onRenameAway?() }
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

    /// libxl on the destination as the receiver uses it: a "restore" reads the stand-in stream
    /// and builds nothing; unpausing and destroying follow the script.
    final class ScriptedXenDestination: XenMigrationDestinationHost, @unchecked Sendable {
        let script: DestinationScript
        let copy: DestinationCopy
        private var fd: Int32 = -1
        init(script: DestinationScript, copy: DestinationCopy) {
            self.script = script
            self.copy = copy
        }
        func configurationName(_ json: String) throws(HostFailure) -> String { "dom" }
        func restore(_ config: String, named name: String, from fd: Int32) throws(HostFailure) -> UInt32 {
            self.fd = fd
            var remaining = XlMigrationProtocol.libxlStreamHeader.count + XlMigrationProtocol.libxcContextRecord.count
                + ScriptedXenHost.libxcStreamBytes + XlMigrationProtocol.endRecord.count
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while remaining > 0 {
                let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min(remaining, $0.count)) }
                guard got > 0 else { throw HostFailure("scripted restore: the stream ended early") }
                remaining -= got
            }
            switch script {
            case .refusesBeforeReady: throw HostFailure("scripted: the domain cannot be built")
            case .stallsBeforeReady: Thread.sleep(forTimeInterval: 2)
            default: break
            }
            return 9
        }
        func rename(_ id: UInt32, from old: String?, to new: String) throws(HostFailure) {}
        func unpause(_ id: UInt32) throws(HostFailure) {
            switch script {
            // The link dies at the clearance: the domain runs here, the source never hears.
            case .silentAfterClearance: shutdown(fd, Int32(SHUT_RDWR))
            case .cannotRunAndReleases: throw HostFailure("scripted: the domain does not start")
            default: break
            }
        }
        func destroy(_ id: UInt32) throws(HostFailure) { copy.destroy() }
    }

    private var lastXenReport: MigrationReport?

    private func runXenPath(_ script: DestinationScript, copy: DestinationCopy, cancellation: MigrationCancellation = MigrationCancellation(),
                            prepare: (ScriptedXenHost) -> Void = { _ in }) throws -> SourceEnd {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let served = DispatchSemaphore(value: 0)
        let destination = ScriptedXenDestination(script: script, copy: copy)
        Thread {
            defer { served.signal() }
            guard let connection = try? listener.accept() else { return }
            defer { connection.close() }
            _ = try? XenMigrationReceiver.receive(on: connection, host: destination, commitSeconds: 10)
        }.start()
        let host = ScriptedXenHost(destroyFails: script == .runsButSourceDestroyFails)
        prepare(host)
        lastXenHost = host
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        let report = try XenMigrationSender.migrate(domain: "dom", on: host, over: socket, policy: PolicyConfiguration(name: .xen4), live: true,
                                                    timeouts: SenderTimeouts(readySeconds: readySeconds, runningSeconds: 5),
                                                    cancellation: cancellation)
        copy.noteSourceConcluded()
        lastXenReport = report
        socket.close()  // as `migrate` ends: a receiver still waiting hears the close
        XCTAssertEqual(served.wait(timeout: .now() + 30), .success, "the receiver ended")
        let renamedAway = host.name == "dom--migratedaway"
        XCTAssertEqual(renamedAway, host.suspended, "\(script): suspended here exactly when renamed away (\(host.name)); \(report.reason)")
        return SourceEnd(aborted: report.outcome == .aborted, runningHere: !host.suspended && !host.destroyTried,
                         pausedHere: host.suspended, destroyTried: host.destroyTried)
    }
}
