import Foundation
import MigrationCore
@testable import MigrationExecutor
import MigrationStream
import XCTest

/// A compressing stream keeps at most its window of pages' bytes sent and not yet written into
/// the guest by the destination: the sockets' own flow control counts the frames' few bytes, and
/// memory that compresses 300-fold let seconds of the destination's decompressing queue in them
/// (the source took those pages for sent, and the backlog fell into the pause).
final class CompressedFlowControlTests: XCTestCase {
    typealias PlainMemory = InMemoryMigrationTests.PlainMemory

    /// A destination that reads everything at once but answers each drain mark only
    /// `answerDelaySeconds` after it came (a slow writer into guest memory), and notes, as each
    /// page record arrives, how many marks before it were still unanswered.
    private final class SlowAnsweringDestination: @unchecked Sendable {
        let listener: ListeningSocket
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var unansweredAtEachBatch: [Int] = []
        private var marks = 0
        private var failure: String?

        init(answerDelaySeconds: Double) throws {
            listener = try ListeningSocket(host: "127.0.0.1", port: 0)
            Thread { [self] in
                defer { done.signal() }
                do {
                    try serve(answerDelaySeconds: answerDelaySeconds)
                } catch {
                    lock.withLock { failure = "\(error)" }
                }
            }.start()
        }

        private var answered = 0
        private var pending: [(sequence: UInt64, due: Double)] = []
        private var ended = false

        /// Reads on this thread; answers on another, each mark when it falls due.
        private func serve(answerDelaySeconds: Double) throws {
            let socket = try listener.accept()
            socket.setReceiveTimeout(seconds: 60)
            var opener = StreamEncoder(direction: .destinationToSource)
            var opening: [UInt8] = []
            opener.appendHeader(into: &opening)
            try opener.append(.challenge(nonce: [UInt8](repeating: 3, count: 16)), into: &opening)
            try socket.write(opening)
            let answering = DispatchSemaphore(value: 0)
            Thread { [self] in
                defer { answering.signal() }
                // The opener wrote the header: this one's own goes nowhere.
                var encoder = StreamEncoder(direction: .destinationToSource)
                var header: [UInt8] = []
                encoder.appendHeader(into: &header)
                while true {
                    let next: (sequence: UInt64, due: Double)? = lock.withLock { pending.first }
                    guard let next else {
                        if lock.withLock({ ended }) { break }
                        usleep(1000)
                        continue
                    }
                    let wait = next.due - monotonicSeconds()
                    if wait > 0 { usleep(UInt32(wait * 1e6)) }
                    // Counted before it is written: the source may send its next batch as soon
                    // as it reads the answer.
                    lock.withLock {
                        pending.removeFirst()
                        answered += 1
                    }
                    var bytes: [UInt8] = []
                    do {
                        try encoder.append(.drained(sequence: next.sequence), into: &bytes)
                        try socket.write(bytes)
                    } catch {
                        lock.withLock { failure = "answer: \(error)" }
                        return
                    }
                }
                // Every mark answered: the stream's end is answered as a receiver does.
                var ready: [UInt8] = []
                try? encoder.append(.readyToUnpause, into: &ready)
                try? socket.write(ready)
            }.start()
            defer { _ = answering.wait(timeout: .now() + 60) }
            var reader = StreamReader(socket: socket, direction: .sourceToDestination)
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: StreamLimits.maxBatchDataBytes, alignment: 4096)
            defer { scratch.deallocate() }
            while true {
                let item = try reader.nextItem()
                switch item {
                case .pageBatchHead(let head):
                    lock.withLock { unansweredAtEachBatch.append(marks - answered) }
                    try reader.readPageData(into: [UnsafeMutableRawBufferPointer(rebasing: scratch[0 ..< head.dataBytes])])
                case .record(.compressedPages), .record(.zeroPages):
                    lock.withLock { unansweredAtEachBatch.append(marks - answered) }
                case .record(.drainMark(let sequence)):
                    lock.withLock {
                        marks += 1
                        pending.append((sequence, monotonicSeconds() + answerDelaySeconds))
                    }
                case .record(.challengeEcho), .record(.guestLayout):
                    break
                case .record(.endOfStream):
                    lock.withLock { ended = true }
                    return
                default:
                    throw HostFailure("unexpected \(item)")
                }
            }
        }

        var observed: (unanswered: [Int], marks: Int, failure: String?) {
            lock.withLock { (unansweredAtEachBatch, marks, failure) }
        }
    }

    /// Text-like pages, which zstd shrinks several-fold.
    private func textMemory(pages: Int) -> PlainMemory {
        let memory = PlainMemory(pages: pages)
        let text = Array("a guest's memory of text and tables that repeat, page after page; ".utf8)
        for page in 0 ..< pages {
            let bytes = memory.pageAddress(page).assumingMemoryBound(to: UInt8.self)
            for offset in 0 ..< 4096 { bytes[offset] = text[(offset + page) % text.count] }
        }
        return memory
    }

    /// Sends `batches` batches of `batchPages` text pages to a destination answering each mark
    /// after `answerDelaySeconds`, compressed with a `compressedWindowBytes` window or whole;
    /// then what the destination saw.
    private func send(batches: Int, of batchPages: Int, answerDelaySeconds: Double, compressedWindowBytes: Int?) throws
        -> (unanswered: [Int], marks: Int, failure: String?, windowBytes: Int?) {
        let destination = try SlowAnsweringDestination(answerDelaySeconds: answerDelaySeconds)
        let memory = textMemory(pages: batches * batchPages)
        let socket = try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: destination.listener.port))
        let layout = GuestLayout(name: "flow", memoryBytes: UInt64(memory.pages * 4096), pageSizeBytes: 4096, vcpuCount: 1)
        var channel = try StreamChannel(socket: socket, layout: layout) { UnsafeRawPointer(memory.pageAddress($0)) }
        if let compressedWindowBytes {
            channel.compressedMinimumWindowBytes = compressedWindowBytes
            try channel.compressWithZstd()
            channel.compressesNow = true
        }
        // The window the channel uses: the least asked for, or more on a slow round trip.
        let windowBytes = channel.flowWindowBytes
        for batch in 0 ..< batches {
            let pages = Array(batch * batchPages ..< (batch + 1) * batchPages)
            let wire = try channel.sendPages(pages, pageCount: Double(pages.count), wireBytes: Double(pages.count * 4096))
            if compressedWindowBytes != nil { XCTAssertLessThan(wire, Double(batchPages * 4096 / 4), "batch \(batch) went compressed") }
        }
        try channel.finishStreamAndAwaitReady()
        XCTAssertEqual(destination.done.wait(timeout: .now() + 60), .success, "the destination did not finish")
        let observed = destination.observed
        return (observed.unanswered, observed.marks, observed.failure, windowBytes)
    }

    /// 1 MiB batches under a 2 MiB window: a batch goes only while at most two before it are
    /// unanswered (the window the channel computed; more on a slow round trip). Without the window all six would go at once, each finding every mark before
    /// it unanswered (answers take 0.3 s each).
    func testACompressingStreamWaitsForTheDestinationBeyondItsWindow() throws {
        let observed = try send(batches: 6, of: 256, answerDelaySeconds: 0.3, compressedWindowBytes: 2 << 20)
        XCTAssertNil(observed.failure)
        XCTAssertEqual(observed.marks, 6, "a mark after every compressed batch")
        XCTAssertEqual(observed.unanswered.count, 6)
        // 2 MiB (two batches) unless loopback's round trip is over ~420 us (4 x RTT x 10 Gbit/s).
        let windowBatches = try XCTUnwrap(observed.windowBytes) / (1 << 20)
        XCTAssertGreaterThanOrEqual(windowBatches, 2)
        XCTAssertEqual(observed.unanswered.max(), min(5, windowBatches),
                       "at most the window's batches unanswered, and the window used: \(observed.unanswered)")
    }

    /// Pages sent whole are bounded by the sockets themselves: no marks, no waits.
    func testPagesSentWholeCarryNoMarks() throws {
        let observed = try send(batches: 4, of: 128, answerDelaySeconds: 0.05, compressedWindowBytes: nil)
        XCTAssertNil(observed.failure)
        XCTAssertEqual(observed.marks, 0)
        XCTAssertEqual(observed.unanswered, [0, 0, 0, 0])
    }
}
