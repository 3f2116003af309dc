import DirtyTraceFormat
import KVMBackend
import MigrationCore
import MigrationExecutor
import XCTest

/// `DirtyLogObservation` on a real guest: the trace shows the workload's pages at its rate,
/// the guest keeps running, and dirty logging is off again afterwards.
final class DirtyLogObservationTests: XCTestCase {
    private let mib = 1 << 20

    func testABusyGuestsTraceShowsItsWorkingSetAtItsRate() throws {
        try requireKVM()
        // 4,096 pages written uniformly at 5,000 pages/s: each 100 ms, 500 writes hit about
        // 4096 * (1 - e^(-500/4096)) = 470 distinct pages.
        let workload = GuestWorkload(kind: .uniform, workingSetPages: 4096, ratePagesPerSecond: 5000)
        let guest = try KVMGuest.create(name: "observed", memoryBytes: 64 * mib, workload: workload)
        defer { guest.destroy() }
        guest.start()
        XCTAssertTrue(waitUntil(seconds: 5) { guest.counters.heartbeats >= 2 })
        let writesBefore = guest.counters.writes
        let trace = try DirtyLogObservation.observe(guest, seconds: 1, intervalSeconds: 0.1)

        XCTAssertEqual(trace.pageCount, 64 * mib / 4096)
        XCTAssertEqual(trace.pageSizeBytes, 4096)
        XCTAssertEqual(trace.records.count, 10, "one record per interval")
        XCTAssertEqual(trace.durationSeconds, 1, accuracy: 0.2)
        XCTAssertEqual(trace.records.map(\.timeSeconds), trace.records.map(\.timeSeconds).sorted())
        let region = 512 ..< 512 + 4096  // the workload region starts at 2 MiB (GuestMemoryMap)
        var inRegion = Set<Int>()
        for record in trace.records {
            XCTAssertEqual(record.pages, record.pages.sorted(), "a record lists each page once, ascending")
            inRegion.formUnion(record.pages.filter { region.contains($0) })
            let outside = record.pages.filter { !region.contains($0) }
            XCTAssertLessThan(outside.count, 16, "outside the working set only the program's own pages: \(outside)")
        }
        let writes = Int(guest.counters.writes - writesBefore)
        XCTAssertGreaterThan(writes, 1000, "the guest kept writing while observed")
        let perInterval = Double(inRegion.count) / 10
        XCTAssertGreaterThan(inRegion.count, 1000, "distinct working-set pages seen: \(inRegion.count)")
        XCTAssertGreaterThan(trace.records.map(\.pages.count).max() ?? 0, 200, "pages per read (\(perInterval) distinct per interval)")
        // Dirty logging is off again, and the guest runs on.
        XCTAssertThrowsError(try guest.readDirtyLog(clear: false))
        let beats = guest.counters.heartbeats
        XCTAssertTrue(waitUntil(seconds: 3) { guest.counters.heartbeats >= beats + 2 })
        XCTAssertNil(guest.failure)
    }

    func testAnIdleGuestDirtiesAlmostNothingAndBadDurationsAreNamed() throws {
        try requireKVM()
        let guest = try KVMGuest.create(name: "idle", memoryBytes: 16 * mib, workload: .idle)
        defer { guest.destroy() }
        guest.start()
        let trace = try DirtyLogObservation.observe(guest, seconds: 0.5, intervalSeconds: 0.25)
        XCTAssertEqual(trace.records.count, 2)
        for record in trace.records { XCTAssertLessThan(record.pages.count, 16, "an idle guest: \(record.pages)") }
        // The trace replays: it parses back from its own text.
        XCTAssertEqual(try DirtyTrace.parse(trace.formatted(), source: "observed"), trace)

        for (seconds, interval, named) in [(0.0, 0.1, "--seconds"), (7200, 0.1, "--seconds"), (1, 0.001, "--interval"), (1, 2, "--interval")] {
            XCTAssertThrowsError(try DirtyLogObservation.observe(guest, seconds: seconds, intervalSeconds: interval)) { error in
                XCTAssertTrue("\(error)".hasPrefix(named), "\(error)")
            }
        }
        XCTAssertThrowsError(try guest.readDirtyLog(clear: false), "a refused observation leaves dirty logging off")
    }
}
