import Dispatch
import Foundation
import MigrationCore
@testable import MigrationExecutor
import MigrationStream
import XCTest

/// `--compress zstd` over real sockets: batches of text-like pages go as zstd frames and arrive
/// identical, on the main connection and on data streams; random pages (which do not shrink)
/// go as they are; a damaged frame is refused by the destination, which throws its copy away.
final class CompressedMigrationTests: XCTestCase {
    typealias PlainMemory = InMemoryMigrationTests.PlainMemory
    typealias RewritingHypervisor = ParallelStreamMigrationTests.RewritingHypervisor

    /// Pages of repetitive text (the first half) and of random bytes (the second half).
    private func mixedMemory(pages: Int) -> PlainMemory {
        let memory = PlainMemory(pages: pages)
        let text = Array("page %d of a guest whose memory holds text, tables and code that repeat; ".utf8)
        var random = SplitMix64(seed: 7)
        for page in 0 ..< pages {
            let bytes = memory.pageAddress(page).assumingMemoryBound(to: UInt8.self)
            for offset in 0 ..< 4096 {
                bytes[offset] = page < pages / 2 ? text[(offset + page) % text.count] : UInt8(truncatingIfNeeded: random.next())
            }
        }
        return memory
    }

    private func migrate(_ source: PlainMemory, to destination: PlainMemory, streams: Int, compression: PageCompression = .always,
                         rateLimitBytesPerSecond: Double? = nil) throws -> (MigrationReport, String?) {
        let (listener, done, outcome) = try ParallelStreamMigrationTests.startReceiver(into: destination)
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        let layout = GuestLayout(name: "compressed", memoryBytes: UInt64(source.pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        let pageAddress: (Int) -> UnsafeRawPointer = { UnsafeRawPointer(source.pageAddress($0)) }
        var channel = try StreamChannel(socket: socket, layout: layout, pageAddress: pageAddress)
        try channel.compressWithZstd()
        var settings = EngineSettings()
        settings.maxBatchPages = 256
        settings.compression = compression
        settings.compressionThreads = streams
        settings.rateLimitBytesPerSecond = rateLimitBytesPerSecond
        var senders: DataStreamSenders?
        if streams > 1 {
            func connect(_ port: UInt16) throws(HostFailure) -> BlockingSocket {
                try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: Int(port)))
            }
            senders = try DataStreamSenders.open(count: streams, main: &channel, layout: layout, detectsZeroPages: true, compresses: true,
                                                 timeouts: SenderTimeouts(), cancellation: MigrationCancellation(), connect: connect,
                                                 pageAddress: pageAddress)
            settings.maxActionsInFlight = 2 * streams
        }
        var hypervisor = RewritingHypervisor(memory: source, busyRounds: 2)
        var engine = SourceMigration(tracker: BitmapPageTracker(pageCount: source.pages, collectsPageNumbers: true),
                                     policy: Xen4Policy(), settings: settings)
        let report = MigrationExecutor.run(&engine, on: &hypervisor, over: &channel, dataStreams: senders)
        XCTAssertEqual(done.wait(timeout: .now() + 120), .success)
        return (report, outcome.error)
    }

    func testTextPagesGoCompressedAndRandomOnesAsTheyAreAndTheMemoryArrivesIdentical() throws {
        for streams in [1, 3] {
            let pages = 8192
            let source = mixedMemory(pages: pages)
            let destination = PlainMemory(pages: pages)
            let (report, error) = try migrate(source, to: destination, streams: streams)
            XCTAssertNil(error, "\(streams) streams")
            XCTAssertNotEqual(report.outcome, .aborted, report.reason)
            XCTAssertEqual(memcmp(source.base, destination.base, pages * 4096), 0, "the memory differs, \(streams) streams")
            let ratio = try XCTUnwrap(report.compressionRatio, "\(streams) streams")
            XCTAssertGreaterThan(ratio, 4, "text compresses well, \(streams) streams")
            // Half the pages are random: they go whole, so the stream is about half the pages' data.
            let pageData = Double(report.pagesSent * 4096)
            XCTAssertGreaterThan(Double(report.bytesSent), 0.45 * pageData, "\(streams) streams")
            XCTAssertLessThan(Double(report.bytesSent), 0.6 * pageData, "\(streams) streams")
        }
    }

    /// `--compress auto`: under a 20 MB/s cap the engine keeps compressing text; on loopback
    /// without a cap, random pages that do not shrink make it send whole after its first batch.
    func testAutoCompressesWhereItPaysAndStopsWhereItDoesNot() throws {
        let pages = 4096
        let text = mixedMemory(pages: 2 * pages)
        let textOnly = PlainMemory(pages: pages)
        memcpy(textOnly.base, text.base, pages * 4096)  // the first half of the mix is text
        let capped = PlainMemory(pages: pages)
        let (slow, slowError) = try migrate(textOnly, to: capped, streams: 1, compression: .auto, rateLimitBytesPerSecond: 20e6)
        XCTAssertNil(slowError)
        XCTAssertEqual(memcmp(textOnly.base, capped.base, pages * 4096), 0)
        XCTAssertLessThan(Double(slow.bytesSent), 0.25 * Double(slow.pagesSent * 4096), "text under a slow cap goes compressed")

        let random = PlainMemory(pages: pages)
        var generator = SplitMix64(seed: 9)
        for word in 0 ..< pages * 512 { (random.base + word * 8).storeBytes(of: generator.next(), as: UInt64.self) }
        let fast = PlainMemory(pages: pages)
        let (whole, wholeError) = try migrate(random, to: fast, streams: 1, compression: .auto)
        XCTAssertNil(wholeError)
        XCTAssertEqual(memcmp(random.base, fast.base, pages * 4096), 0)
        XCTAssertNil(whole.compressionRatio, "random pages never went compressed")
    }

    func testADamagedFrameIsRefusedAndTheDestinationKeepsNothing() throws {
        let destination = PlainMemory(pages: 16)
        let (listener, done, outcome) = try ParallelStreamMigrationTests.startReceiver(into: destination)
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port))
        socket.setReceiveTimeout(seconds: 30)
        var reader = StreamReader(socket: socket, direction: .destinationToSource)
        guard case .record(.challenge(let nonce)) = try reader.next() else { return XCTFail("no challenge") }
        var encoder = StreamEncoder(direction: .sourceToDestination)
        var bytes: [UInt8] = []
        encoder.appendHeader(into: &bytes)
        try encoder.append(.challengeEcho(nonce: nonce), into: &bytes)
        try encoder.append(.guestLayout(GuestLayout(name: "bad", memoryBytes: 16 * 4096, pageSizeBytes: 4096, vcpuCount: 1)), into: &bytes)
        // A zstd magic and then nonsense.
        try encoder.append(.compressedPages(CompressedPages(pageNumbers: [0, 1], frame: [0x28, 0xB5, 0x2F, 0xFD, 0xFF, 0xFF, 0, 9])), into: &bytes)
        try socket.write(bytes)
        if case .record(.abort(let reason)) = try reader.next() {
            XCTAssertTrue(reason.contains("compressedPages frame refused"), reason)
        } else {
            XCTFail("no abort")
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertTrue(outcome.error?.contains("compressedPages frame refused") ?? false, outcome.error ?? "no error")
        XCTAssertTrue(destination.discarded, "the partial guest was thrown away")
    }
}
