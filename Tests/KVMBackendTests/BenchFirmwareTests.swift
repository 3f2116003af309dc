import Foundation
@testable import KVMBackend
import MigrationExecutor
import XCTest

/// The benchmark firmware as a livemig firmware guest: protected mode reached, a heartbeat line
/// every millisecond, page writes at the patched rate, and parameters checked.
final class BenchFirmwareTests: XCTestCase {
    func testItPrintsAHeartbeatEveryMillisecondAndWritesAtItsRate() throws {
        try requireKVM()
        let probe = try KVMGuest.create(name: "tsc", memoryBytes: 4 << 20, workload: .idle)
        let tscHz = probe.tscHz
        probe.destroy()
        let firmware = BenchFirmware(writes: .paced(pagesPerSecond: 20_000), workingSetPages: 4096)
        let guest = try KVMGuest.createFirmware(name: "bench", memoryBytes: 64 << 20,
                                                image: try firmware.image(tscHz: tscHz, memoryBytes: 64 << 20))
        defer { guest.destroy() }
        guest.start()
        XCTAssertTrue(waitUntil(seconds: 10) { BenchFirmware.counters(of: guest.memory).heartbeats >= 100 },
                      "\(guest.console.lines.prefix(3).map(\.text)) \(guest.failure ?? "")")
        let before = BenchFirmware.counters(of: guest.memory)
        let start = monotonicSeconds()
        usleep(1_000_000)
        let after = BenchFirmware.counters(of: guest.memory)
        let elapsed = monotonicSeconds() - start
        XCTAssertNil(guest.failure)
        XCTAssertEqual(guest.console.lines.first?.text, "bench up")
        // RAM above 1 MiB was filled at boot: each page starts with its own address.
        XCTAssertEqual(guest.memory.base.load(fromByteOffset: 40 << 20, as: UInt32.self), 40 << 20)
        let beatsPerSecond = Double(after.heartbeats &- before.heartbeats) / elapsed
        let writesPerSecond = Double(after.writes &- before.writes) / elapsed
        print("bench firmware: \(Int(beatsPerSecond)) heartbeats/s, \(Int(writesPerSecond)) writes/s")
        XCTAssertEqual(beatsPerSecond, 1000, accuracy: 250)
        XCTAssertEqual(writesPerSecond, 20_000, accuracy: 5_000)
        let beats = guest.console.lines.dropFirst().suffix(50).compactMap { Int($0.text.dropFirst(3)) }
        XCTAssertEqual(beats, Array((beats.first ?? 0) ..< (beats.first ?? 0) + beats.count), "consecutive heartbeat numbers")
    }

    func testParametersOutsideTheirRangesAreRefused() {
        let tooBig = BenchFirmware(writes: .idle, workingSetPages: 1 << 20)
        XCTAssertThrowsError(try tooBig.image(tscHz: 2_000_000_000, memoryBytes: 64 << 20)) {
            XCTAssertTrue("\($0)".contains("does not fit"), "\($0)")
        }
        let fast = BenchFirmware(writes: .paced(pagesPerSecond: 0), workingSetPages: 16)
        XCTAssertThrowsError(try fast.image(tscHz: 2_000_000_000, memoryBytes: 64 << 20))
        XCTAssertThrowsError(try BenchFirmware(writes: .idle, workingSetPages: 16).image(tscHz: 10, memoryBytes: 64 << 20))
    }
}
