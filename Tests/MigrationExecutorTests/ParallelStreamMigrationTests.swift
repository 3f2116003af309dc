import Dispatch
import Foundation
import MigrationCore
@testable import MigrationExecutor
import MigrationStream
import XCTest

/// Parallel streams over real loopback sockets: the main connection and N data streams joined
/// to it. Pages sent in several rounds (each on whichever stream is free) arrive in round
/// order, so the memory arrives identical; a stranger on the data streams' port is refused
/// without harm; a data stream that breaks (on either side) aborts the migration and leaves
/// the source running.
final class ParallelStreamMigrationTests: XCTestCase {
    typealias PlainMemory = InMemoryMigrationTests.PlainMemory

    /// A guest that rewrites a third of its pages in each of its first `busyRounds` rounds (a
    /// page's content names the round), zeroes a few, and then falls quiet. `onRead` runs at
    /// each dirty-log read (round number given) to break things mid-migration.
    struct RewritingHypervisor: SourceHypervisor {
        let memory: PlainMemory
        var busyRounds = 4
        var reads = 0
        var paused = false
        var resumed = 0
        var onRead: (Int) -> Void = { _ in }
        mutating func enableDirtyLogging() throws(HostFailure) {}
        mutating func disableDirtyLogging() throws(HostFailure) {}
        mutating func peekDirtyLog() throws(HostFailure) -> DirtyBitmap { DirtyBitmap(pageCount: memory.pages) }
        mutating func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap {
            reads += 1
            onRead(reads)
            var dirty = DirtyBitmap(pageCount: memory.pages)
            guard reads <= busyRounds else { return dirty }
            for page in stride(from: reads % 3, to: memory.pages, by: 3) {
                memory.pageAddress(page).storeBytes(of: UInt64(page) << 8 | UInt64(reads), as: UInt64.self)
                dirty.insert(page)
            }
            for page in stride(from: 7, to: memory.pages, by: 97) {
                memory.pageAddress(page).initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
                dirty.insert(page)
            }
            return dirty
        }
        mutating func setThrottle(percent: Int) throws(HostFailure) {}
        mutating func pauseGuest() throws(HostFailure) { paused = true }
        mutating func resumeGuest() throws(HostFailure) {
            paused = false
            resumed += 1
        }
        mutating func captureDeviceState() throws(HostFailure) -> CapturedGuestState {
            CapturedGuestState(vcpuStates: [[1]], deviceState: [2])
        }
        mutating func destroyGuest() throws(HostFailure) {}
    }

    final class Outcome: @unchecked Sendable {
        var received: ReceivedMigration?
        var error: String?
    }

    struct Run {
        var report: MigrationReport
        var hypervisor: RewritingHypervisor
        var receiver: Outcome
    }

    /// A receiver on loopback, on its own thread, building `destination`.
    static func startReceiver(into destination: PlainMemory,
                               timeouts: ReceiverTimeouts = ReceiverTimeouts()) throws -> (ListeningSocket, DispatchSemaphore, Outcome) {
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        Thread {
            do {
                outcome.received = try MigrationReceiver.receive(on: try listener.accept(), timeouts: timeouts) { _ throws(HostFailure) in destination }
            } catch {
                outcome.error = "\(error)"
            }
            done.signal()
        }.start()
        return (listener, done, outcome)
    }

    /// Migrates `source` to `destination` over `streams` data streams on loopback.
    private func migrate(_ source: PlainMemory, to destination: PlainMemory, streams: Int, busyRounds: Int = 3,
                         policy: any PrecopyPolicy = Xen4Policy(), rateLimitBytesPerSecond: Double? = nil,
                         receiverTimeouts: ReceiverTimeouts = ReceiverTimeouts(),
                         connect: ((UInt16) throws(HostFailure) -> BlockingSocket)? = nil,
                         onRead: @escaping (Int) -> Void = { _ in }) throws -> Run {
        let (listener, done, outcome) = try Self.startReceiver(into: destination, timeouts: receiverTimeouts)
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        let layout = GuestLayout(name: "parallel", memoryBytes: UInt64(source.pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        let pageAddress: (Int) -> UnsafeRawPointer = { UnsafeRawPointer(source.pageAddress($0)) }
        var channel = try StreamChannel(socket: socket, layout: layout, pageAddress: pageAddress)
        let cancellation = MigrationCancellation()
        cancellation.attach(socket, shutdownWriting: true)
        func plainConnect(_ port: UInt16) throws(HostFailure) -> BlockingSocket {
            try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: Int(port)))
        }
        let senders = try DataStreamSenders.open(
            count: streams, main: &channel, layout: layout, detectsZeroPages: true, timeouts: SenderTimeouts(), cancellation: cancellation,
            connect: connect ?? plainConnect, pageAddress: pageAddress)
        var hypervisor = RewritingHypervisor(memory: source, busyRounds: busyRounds, onRead: onRead)
        var settings = EngineSettings()
        settings.maxActionsInFlight = 2 * streams
        // Small batches, so that each round spreads over every stream.
        settings.maxBatchPages = 256
        settings.rateLimitBytesPerSecond = rateLimitBytesPerSecond
        var engine = SourceMigration(tracker: BitmapPageTracker(pageCount: source.pages, collectsPageNumbers: true),
                                     policy: policy, settings: settings)
        let report = MigrationExecutor.run(&engine, on: &hypervisor, over: &channel, cancellation: cancellation, dataStreams: senders)
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "the receiver did not finish")
        return Run(report: report, hypervisor: hypervisor, receiver: outcome)
    }

    private func filledMemory(pages: Int) -> PlainMemory {
        let memory = PlainMemory(pages: pages)
        for page in stride(from: 0, to: pages, by: 2) {
            memory.pageAddress(page).storeBytes(of: UInt64(page) | 1 << 40, as: UInt64.self)
        }
        return memory
    }

    func testPagesOfManyRoundsOnFourStreamsArriveIdentical() throws {
        let pages = 16_384
        let source = filledMemory(pages: pages)
        let destination = PlainMemory(pages: pages)
        let run = try migrate(source, to: destination, streams: 4)
        XCTAssertNil(run.receiver.error)
        XCTAssertEqual(run.report.outcome, .converged, run.report.reason)
        XCTAssertGreaterThanOrEqual(run.report.iterations.count, 5, "the busy rounds each sent their pages again")
        XCTAssertEqual(memcmp(source.base, destination.base, pages * 4096), 0,
                       "the memory differs: a page's older round landed after its newer one, or a marker was missed")
        XCTAssertEqual(run.receiver.received?.pagesReceived, run.report.pagesSent)
        XCTAssertGreaterThan(run.report.zeroPagesSent ?? 0, pages / 3, "the never-written pages go as markers on the data streams")
        XCTAssertTrue(run.hypervisor.paused, "the source stays paused after the commit")
    }

    func testAStrangerOnTheDataStreamPortIsRefusedAndTheMigrationGoesOn() throws {
        let pages = 4096
        let source = filledMemory(pages: pages)
        let destination = PlainMemory(pages: pages)
        final class Refusal: @unchecked Sendable { var text = "" }
        let refusal = Refusal()
        let run = try migrate(source, to: destination, streams: 2, connect: { port throws(HostFailure) in
            if refusal.text.isEmpty {
                // First a connection that knows the port but not the main connection's nonce.
                let stranger = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: Int(port)))
                stranger.setReceiveTimeout(seconds: 10)
                var reader = StreamReader(socket: stranger, direction: .destinationToSource)
                var encoder = StreamEncoder(direction: .sourceToDestination)
                var bytes: [UInt8] = []
                encoder.appendHeader(into: &bytes)
                do {
                    guard case .record(.challenge(let nonce)) = try reader.next() else { throw HostFailure("no challenge") }
                    try? encoder.append(.challengeEcho(nonce: nonce), into: &bytes)
                    try? encoder.append(.joinStream(migrationNonce: [UInt8](repeating: 9, count: 16), index: 0), into: &bytes)
                    try stranger.write(bytes)
                    if case .record(.abort(let reason)) = try reader.next() { refusal.text = reason }
                } catch {
                    refusal.text = "no abort: \(error)"
                }
            }
            return try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: Int(port)))
        })
        XCTAssertEqual(refusal.text, "joinStream names no migration under way here")
        XCTAssertNil(run.receiver.error)
        XCTAssertEqual(run.report.outcome, .converged, run.report.reason)
        XCTAssertEqual(memcmp(source.base, destination.base, pages * 4096), 0)
    }

    func testADataStreamBrokenMidMigrationAbortsAndTheSourceRuns() throws {
        let pages = 8192
        let source = filledMemory(pages: pages)
        let destination = PlainMemory(pages: pages)
        final class Sockets: @unchecked Sendable { var all: [BlockingSocket] = [] }
        let sockets = Sockets()
        let run = try migrate(source, to: destination, streams: 3, busyRounds: 6, connect: { port throws(HostFailure) in
            let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: Int(port)))
            sockets.all.append(socket)
            return socket
        }, onRead: { round in
            // At the third read, the second data stream's connection breaks.
            if round == 3 { shutdown(sockets.all[1].fd, Int32(SHUT_RDWR)) }
        })
        XCTAssertEqual(run.report.outcome, .aborted)
        XCTAssertFalse(run.hypervisor.paused, "the source guest runs again")
        XCTAssertNotNil(run.receiver.error, "the destination threw its copy away")
        XCTAssertNil(run.receiver.received)
    }

    func testADataStreamDamagedOnArrivalAbortsAndTheSourceRuns() throws {
        // The destination's fault injection (debug builds): the fifth roundStart that arrives,
        // over all data streams, is damaged.
        setenv(ReceiverFaultInjection.environmentVariable, "corrupt:roundStart#5", 1)
        defer { unsetenv(ReceiverFaultInjection.environmentVariable) }
        let pages = 8192
        let source = filledMemory(pages: pages)
        let destination = PlainMemory(pages: pages)
        let run = try migrate(source, to: destination, streams: 2, busyRounds: 6)
        XCTAssertEqual(run.report.outcome, .aborted)
        XCTAssertTrue(run.report.reason.contains("roundStart"), run.report.reason)
        XCTAssertFalse(run.hypervisor.paused, "the source guest runs again")
        let error = try XCTUnwrap(run.receiver.error)
        XCTAssertTrue(error.contains("data stream") && error.contains("roundStart (type 10) damaged"), error)
    }

    /// A main connection and two data streams joined to it, played by hand.
    private func openTwoDataStreams(port: Int, layout: GuestLayout) throws -> (HandPlayedConnection, HandPlayedConnection, HandPlayedConnection) {
        var main = try HandPlayedConnection(port: port)
        try main.send([.guestLayout(layout), .parallelStreams(count: 2)])
        guard case .record(.streamsListening(let dataPort)) = try main.reader.next() else { throw HostFailure("no port for the data streams") }
        var streamA = try HandPlayedConnection(port: Int(dataPort))
        try streamA.send([.joinStream(migrationNonce: main.nonce, index: 0)])
        var streamB = try HandPlayedConnection(port: Int(dataPort))
        try streamB.send([.joinStream(migrationNonce: main.nonce, index: 1)])
        return (main, streamA, streamB)
    }

    /// A page written with data on one stream in round 1 and sent as a zero marker on another
    /// in round 2 is cleared: the barrier merged which pages hold data.
    func testAZeroMarkerClearsAPageAnotherStreamWroteInAnEarlierRound() throws {
        let pages = 16
        let layout = GuestLayout(name: "order", memoryBytes: UInt64(pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        let destination = PlainMemory(pages: pages)
        let (listener, done, outcome) = try Self.startReceiver(into: destination)
        var (main, streamA, streamB) = try openTwoDataStreams(port: listener.port, layout: layout)
        let all = PageBatch(pageNumbers: (0 ..< UInt64(pages)).map { $0 }, data: [UInt8](repeating: 0xAA, count: pages * 4096))
        try streamA.send([.roundStart(round: 1), .pageBatch(all), .roundStart(round: 2), .endOfStream])
        try streamB.send([.roundStart(round: 1), .roundStart(round: 2), .zeroPages(ZeroPageList(pageNumbers: [5])), .endOfStream])
        try main.send([.vcpuState(VcpuState(vcpuId: 0, blob: [1])), .deviceState([2]), .endOfStream])
        XCTAssertEqual(try main.reader.next().type, .readyToUnpause)
        try main.send([.clearedToUnpause])
        XCTAssertEqual(try main.reader.next().type, .running)
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertNil(outcome.error)
        XCTAssertEqual(destination.pageAddress(5).load(as: UInt64.self), 0, "page 5's round-1 data was not cleared by round 2's marker")
        XCTAssertEqual(destination.pageAddress(6).load(as: UInt8.self), 0xAA)
    }

    /// A capped migration on 3 streams whose rounds last longer than the receiver's idle
    /// timeout: every stream gets its share of the batches, and a stream silent while the
    /// others carry pages is not taken for dead.
    func testACappedMigrationLongerThanTheIdleTimeoutCompletes() throws {
        let pages = 4096
        let source = filledMemory(pages: pages)
        let destination = PlainMemory(pages: pages)
        // 16 MiB at 40 Mbit/s: about 3.4 s, against an idle timeout of 1 s.
        let run = try migrate(source, to: destination, streams: 3, busyRounds: 1, rateLimitBytesPerSecond: 5e6,
                              receiverTimeouts: ReceiverTimeouts(handshakeSeconds: 10, idleSeconds: 1))
        XCTAssertNil(run.receiver.error)
        XCTAssertNotEqual(run.report.outcome, .aborted, run.report.reason)
        XCTAssertGreaterThan(run.report.totalTimeSeconds, 2, "the cap held")
        XCTAssertEqual(memcmp(source.base, destination.base, pages * 4096), 0)
    }

    /// The timeout policy ends a live round early for the stop-and-copy: the paused round still
    /// gets a round of its own on the streams (its own number), so its pages are ordered after
    /// the live round's and its zero markers find the pages written before.
    func testARoundEndedEarlyForTheStopAndCopyKeepsTheOrder() throws {
        let pages = 16_384
        let source = filledMemory(pages: pages)
        let destination = PlainMemory(pages: pages)
        let run = try migrate(source, to: destination, streams: 4, busyRounds: 8, policy: TimeoutPolicy(timeoutSeconds: 0.05),
                              rateLimitBytesPerSecond: 200e6)
        XCTAssertNil(run.receiver.error)
        XCTAssertNotEqual(run.report.outcome, .aborted, run.report.reason)
        XCTAssertEqual(memcmp(source.base, destination.base, pages * 4096), 0, "the paused round's pages were not ordered after the live round's")
    }

    /// The round order itself, with the source played by hand: data stream B carries a page's
    /// copy of round 2 at once; data stream A carries the same page's copy of round 1 only
    /// 300 ms later. The destination must hold B's copy until A has finished round 1, so the
    /// newer copy is the one that stays.
    func testAnOlderRoundArrivingLateOnAnotherStreamNeverOverwritesANewerOne() throws {
        let pages = 16
        let layout = GuestLayout(name: "order", memoryBytes: UInt64(pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        let destination = PlainMemory(pages: pages)
        let (listener, done, outcome) = try Self.startReceiver(into: destination)

        func page(_ number: UInt64, _ byte: UInt8) -> StreamRecord {
            .pageBatch(PageBatch(pageNumbers: [number], data: [UInt8](repeating: byte, count: 4096)))
        }
        var (main, streamA, streamB) = try openTwoDataStreams(port: listener.port, layout: layout)
        // B: round 1 (nothing), then round 2's copy of page 3 (0xBB).
        try streamB.send([.roundStart(round: 1), .roundStart(round: 2), page(3, 0xBB), .endOfStream])
        usleep(300_000)
        // A, late: round 1's copy of every page (0xAA), page 3 included.
        let all = PageBatch(pageNumbers: (0 ..< UInt64(pages)).map { $0 }, data: [UInt8](repeating: 0xAA, count: pages * 4096))
        try streamA.send([.roundStart(round: 1), .pageBatch(all), .roundStart(round: 2), .endOfStream])
        try main.send([.vcpuState(VcpuState(vcpuId: 0, blob: [1])), .deviceState([2]), .endOfStream])
        var reply = try main.reader.next()
        XCTAssertEqual(reply.type, .readyToUnpause, "\(reply)")
        try main.send([.clearedToUnpause])
        reply = try main.reader.next()
        XCTAssertEqual(reply.type, .running, "\(reply)")
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertNil(outcome.error)
        XCTAssertEqual(destination.pageAddress(3).load(as: UInt8.self), 0xBB, "round 1's copy of page 3 overwrote round 2's")
        XCTAssertEqual(destination.pageAddress(4).load(as: UInt8.self), 0xAA)
        XCTAssertEqual(outcome.received?.pagesReceived, pages + 1)
    }
}

    /// One connection played by hand: its encoder and the destination's replies.
    struct HandPlayedConnection {
        let socket: BlockingSocket
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var reader: StreamReader
        var nonce: [UInt8] = []

        init(port: Int) throws {
            socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: port))
            socket.setReceiveTimeout(seconds: 30)
            reader = StreamReader(socket: socket, direction: .destinationToSource)
            guard case .record(.challenge(let challenge)) = try reader.next() else { throw HostFailure("no challenge") }
            nonce = challenge
            var bytes: [UInt8] = []
            encoder.appendHeader(into: &bytes)
            try encoder.append(.challengeEcho(nonce: challenge), into: &bytes)
            try socket.write(bytes)
        }

        mutating func send(_ records: [StreamRecord]) throws {
            var bytes: [UInt8] = []
            for record in records {
                try encoder.append(record, into: &bytes)
                if case .joinStream = record { encoder.adoptLayout(GuestLayout(name: "order", memoryBytes: 16 * 4096, pageSizeBytes: 4096, vcpuCount: 1)) }
            }
            try socket.write(bytes)
        }
    }
