import Foundation
@testable import KVMBackend
import MigrationCore
import MigrationExecutor
import XCTest

/// The minimal VMM against the real /dev/kvm: the built-in guest program runs, paces its writes,
/// prints heartbeats, shows up in the dirty log, pauses, and carries on from captured state.
final class KVMGuestTests: XCTestCase {
    private let mib = 1 << 20

    func testGuestProgramPacesItsWritesAndPrintsHeartbeats() throws {
        try requireKVM()
        let workload = GuestWorkload(kind: .uniform, workingSetPages: 4096, ratePagesPerSecond: 20_000)
        let guest = try KVMGuest.create(name: "pace", memoryBytes: 64 * mib, workload: workload)
        defer { guest.destroy() }
        let start = monotonicSeconds()
        guest.start()
        XCTAssertTrue(waitUntil(seconds: 5) { guest.counters.heartbeats >= 10 }, "heartbeats: \(guest.counters.heartbeats)")
        guest.pause()
        let elapsed = monotonicSeconds() - start
        let writes = Double(guest.counters.writes)
        // Paced by the TSC: 20,000 writes/s over the elapsed time (within 20 %: the machine is
        // shared, and a starved vCPU catches up only in bursts).
        XCTAssertEqual(writes / elapsed, 20_000, accuracy: 4000, "writes \(writes) in \(elapsed) s")
        XCTAssertNil(guest.failure)
        let beats = guest.console.heartbeats
        XCTAssertGreaterThanOrEqual(beats.count, 10)
        XCTAssertEqual(beats.map(\.count), Array(1 ... beats.count))
        // Every 100 ms.
        let spacing = (beats.last!.seconds - beats.first!.seconds) / Double(beats.count - 1)
        XCTAssertEqual(spacing, 0.1, accuracy: 0.04)
    }

    func testDirtyLogShowsTheWrittenPagesAndClearingResetsIt() throws {
        try requireKVM()
        let workload = GuestWorkload(kind: .sequential, workingSetPages: 2048, ratePagesPerSecond: 10_000)
        let guest = try KVMGuest.create(name: "dirty", memoryBytes: 32 * mib, workload: workload)
        defer { guest.destroy() }
        try guest.setDirtyLogging(true)
        guest.start()
        usleep(300_000)
        guest.pause()
        let peek = try guest.readDirtyLog(clear: false)
        let firstRegionPage = GuestMemoryMap.workloadRegion / 4096
        let swept = (0 ..< 2048).filter { peek.contains(firstRegionPage + $0) }.count
        // 0.3 s at 10,000 pages/s sweeps the whole 2048-page region at least once.
        XCTAssertEqual(swept, 2048)
        let read = try guest.readDirtyLog(clear: true)
        XCTAssertEqual(read, peek, "a peek then a read with nothing in between see the same pages")
        let after = try guest.readDirtyLog(clear: true)
        XCTAssertEqual(after.count, 0, "nothing ran since the clear")
        let unwritten = firstRegionPage + 4096
        XCTAssertFalse(read.contains(unwritten), "page \(unwritten) is outside the working set")
    }

    func testPausedGuestStopsAndAGuestBuiltFromItsMemoryAndStateCarriesOn() throws {
        try requireKVM()
        let workload = GuestWorkload(kind: .hotCold, workingSetPages: 4096, hotPages: 256,
                                     ratePagesPerSecond: 5000, coldRatePagesPerSecond: 500)
        let source = try KVMGuest.create(name: "src", memoryBytes: 32 * mib, workload: workload)
        defer { source.destroy() }
        source.start()
        XCTAssertTrue(waitUntil(seconds: 5) { source.counters.heartbeats >= 3 })
        source.pause()
        let frozen = source.counters
        usleep(200_000)
        XCTAssertEqual(source.counters.writes, frozen.writes, "a paused guest writes nothing")
        let state = try source.captureVcpuState()

        let copy = try KVMGuest.createIncoming(name: "dst", memoryBytes: 32 * mib)
        defer { copy.destroy() }
        copy.memory.base.copyMemory(from: source.memory.base, byteCount: 32 * mib)
        XCTAssertEqual(copy.memory.digest(), source.memory.digest())
        try copy.restoreVcpuState(state)
        copy.start()
        XCTAssertTrue(waitUntil(seconds: 5) { copy.counters.heartbeats >= frozen.heartbeats + 3 },
                      "the copy goes on counting heartbeats from \(frozen.heartbeats): \(copy.counters.heartbeats)")
        XCTAssertGreaterThan(copy.counters.writes, frozen.writes)
        let printed = copy.console.heartbeats.map(\.count)
        XCTAssertEqual(printed.first, Int(frozen.heartbeats) + 1, "the first line on the copy follows the source's last")
        XCTAssertNil(copy.failure)
    }

    func testALineCutByThePauseIsFinishedWholeOnTheCopy() throws {
        try requireKVM()
        let source = try KVMGuest.create(name: "src", memoryBytes: 8 * mib, workload: .idle)
        defer { source.destroy() }
        source.start()
        XCTAssertTrue(waitUntil(seconds: 5) { source.counters.heartbeats >= 2 })
        source.pause()
        // As if the pause came between the bytes of the next heartbeat line.
        let frozen = Int(source.counters.heartbeats)
        source.console.pendingLine = Array("hb \(frozen + 1)".utf8)
        let state = try source.captureVcpuState()

        let copy = try KVMGuest.createIncoming(name: "dst", memoryBytes: 8 * mib)
        defer { copy.destroy() }
        copy.memory.base.copyMemory(from: source.memory.base, byteCount: 8 * mib)
        try copy.restoreVcpuState(state)
        XCTAssertEqual(copy.console.pendingLine, Array("hb \(frozen + 1)".utf8), "the unfinished line came with the state")
        XCTAssertThrowsError(try copy.restoreVcpuState(state + [UInt8](repeating: 65, count: ConsoleLog.maxPendingBytes + 1))) { error in
            XCTAssertTrue("\(error)".contains("console line"), "\(error)")
        }
    }

    func testWorkloadSpecsParseAndBadOnesAreNamed() throws {
        let region = 1000
        XCTAssertEqual(try GuestWorkload.parse("idle", regionPages: region), .idle)
        XCTAssertEqual(try GuestWorkload.parse("uniform,workingSet=2MiB,rate=20000", regionPages: region),
                       GuestWorkload(kind: .uniform, workingSetPages: 512, ratePagesPerSecond: 20_000))
        XCTAssertEqual(try GuestWorkload.parse("hotCold,hotSet=10,hotRate=100,coldRate=5", regionPages: region),
                       GuestWorkload(kind: .hotCold, workingSetPages: 1000, hotPages: 10, ratePagesPerSecond: 100,
                                     coldRatePagesPerSecond: 5))
        for (spec, words) in [("chaos", "kind"), ("uniform", "rate is required"), ("uniform,rate=1,speed=2", "'speed'"),
                              ("uniform,workingSet=8MiB,rate=1", "workingSet=8MiB"), ("hotCold,hotRate=1", "hotSet"),
                              ("uniform,rate", "key=value")] {
            XCTAssertThrowsError(try GuestWorkload.parse(spec, regionPages: region), spec) { error in
                XCTAssertTrue("\(error)".contains(words), "\(spec): \(error)")
            }
        }
    }
}
