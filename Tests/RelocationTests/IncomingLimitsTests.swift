import Foundation
import Relocation
import XCTest

/// The receiver's bookkeeping of incoming migrations (limits in total and per peer), and the
/// wait for a stream's first bytes on a real socket pair.
final class IncomingLimitsTests: XCTestCase {
    func testLimitsInTotalAndPerPeer() {
        var table = IncomingMigrationTable(maxIncoming: 3, maxPerPeer: 2)
        XCTAssertEqual(table.admission(for: "10.0.0.1"), .admitted)
        table.add(.init(processID: 100, peer: "10.0.0.1", arrivalDescriptor: 10))
        table.add(.init(processID: 101, peer: "10.0.0.1", arrivalDescriptor: 11))
        XCTAssertEqual(table.admission(for: "10.0.0.1"), .tooManyFromPeer(limit: 2))
        XCTAssertEqual(table.admission(for: "10.0.0.2"), .admitted)
        table.add(.init(processID: 102, peer: "10.0.0.2", arrivalDescriptor: 12))
        XCTAssertEqual(table.admission(for: "10.0.0.3"), .tooMany(limit: 3))
        // A guest that runs (its arrival pipe ended) no longer counts; neither does a daemon that exited.
        XCTAssertEqual(table.removeArrival(11)?.processID, 101)
        XCTAssertEqual(table.admission(for: "10.0.0.1"), .admitted)
        XCTAssertEqual(table.removeProcess(102)?.peer, "10.0.0.2")
        XCTAssertNil(table.removeProcess(102), "counted once")
        XCTAssertNil(table.removeArrival(12))
        XCTAssertEqual(table.entries.map(\.processID), [100])
    }

    func testTheWaitForTheStreamStart() throws {
        var pair: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair), 0)
        defer { close(pair[0]) }
        // Nothing comes: timed out, after about the time given.
        let started = Date()
        XCTAssertEqual(StreamStartWait.waitForBytes(16, on: pair[0], timeoutSeconds: 0.3), .timedOut(receivedBytes: 0))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.29)
        // Part of it: still timed out, and nothing was consumed.
        XCTAssertEqual(write(pair[1], [UInt8](repeating: 7, count: 10), 10), 10)
        XCTAssertEqual(StreamStartWait.waitForBytes(16, on: pair[0], timeoutSeconds: 0.2), .timedOut(receivedBytes: 10))
        // The rest arrives while waiting: ready, and all 16 bytes are still there to read.
        let writeEnd = pair[1]
        let writer = Thread {
            usleep(100_000)
            _ = write(writeEnd, [UInt8](repeating: 8, count: 6), 6)
        }
        writer.start()
        XCTAssertEqual(StreamStartWait.waitForBytes(16, on: pair[0], timeoutSeconds: 10), .ready)
        var buffer = [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(recv(pair[0], &buffer, 32, Int32(MSG_DONTWAIT)), 16)
        // The peer hangs up after a few bytes: closed, at once.
        XCTAssertEqual(write(pair[1], [1, 2, 3], 3), 3)
        close(pair[1])
        let closing = Date()
        XCTAssertEqual(StreamStartWait.waitForBytes(16, on: pair[0], timeoutSeconds: 10), .closed(receivedBytes: 3))
        XCTAssertLessThan(Date().timeIntervalSince(closing), 5)
        _ = recv(pair[0], &buffer, 32, Int32(MSG_DONTWAIT))
        XCTAssertEqual(StreamStartWait.waitForBytes(16, on: pair[0], timeoutSeconds: 10), .closed(receivedBytes: 0))
    }
}
