import Foundation
@testable import KVMBackend
import MigrationExecutor
import XCTest

/// Post-copy's ground truth on this machine's KVM: a vCPU's touch of a missing page reaches the
/// userfaultfd trap, the vCPU waits in `KVM_RUN` until the page is placed, and then carries on
/// with the page's content.
final class MissingPageTrapTests: XCTestCase {
    private let mib = 1 << 20
    private let pageBytes = GuestMemory.pageSizeBytes

    func testAVcpuTouchOfAMissingPageReachesTheTrapAndWaitsForThePage() throws {
        try requireKVM()
        let regionPages = 1024
        let workload = GuestWorkload(kind: .sequential, workingSetPages: regionPages, ratePagesPerSecond: 20_000)
        let guest = try KVMGuest.create(name: "trap", memoryBytes: 32 * mib, workload: workload)
        defer { guest.destroy() }
        guest.start()
        // Under load the vCPU may start late: wait for its sweep to have written the region once.
        XCTAssertTrue(waitUntil(seconds: 60) { guest.counters.writes >= UInt64(2 * regionPages) }, "writes: \(guest.counters.writes)")
        guest.pause()
        let first = GuestMemoryMap.workloadRegion / pageBytes
        // The pages as the source would send them, then dropped here: the destination's stale copies.
        let saved = UnsafeMutableRawPointer.allocate(byteCount: regionPages * pageBytes, alignment: pageBytes)
        defer { saved.deallocate() }
        saved.copyMemory(from: guest.memory.page(first), byteCount: regionPages * pageBytes)
        XCTAssertTrue(UnsafeRawBufferPointer(start: saved, count: regionPages * pageBytes).contains { $0 != 0 }, "the sweep wrote the region")
        let trap = try MissingPageTrap(memory: guest.memory)
        try trap.markMissing(pages: Array(first ..< first + regionPages))
        let writesAtResume = guest.counters.writes
        guest.resume()

        var faulted: [Int] = []
        let deadline = monotonicSeconds() + 60
        while Set(faulted).count < regionPages, monotonicSeconds() < deadline {
            guard let page = try trap.nextFault(timeoutMilliseconds: 200) else { continue }
            faulted.append(page)
            guard (first ..< first + regionPages).contains(page) else {
                XCTFail("page \(page) faulted, outside the pages made missing")
                break
            }
            if faulted.count == 1 {
                // Until the page is placed, the vCPU waits in its fault: the guest writes nothing.
                let stalledAt = guest.counters.writes
                XCTAssertFalse(waitUntil(seconds: 0.2) { guest.counters.writes > stalledAt }, "the guest wrote on past a missing page")
            }
            try trap.place(page: page, from: saved + (page - first) * pageBytes)
        }
        XCTAssertEqual(Set(faulted), Set(first ..< first + regionPages), "every missing page faulted once the sweep reached it")
        XCTAssertLessThanOrEqual(faulted.count, regionPages + 8, "a page placed does not fault again (a spurious repeat at most)")
        // Every page is back: the guest sweeps on at its pace.
        XCTAssertTrue(waitUntil(seconds: 60) { guest.counters.writes >= writesAtResume + UInt64(4 * regionPages) },
                      "writes after the trap: \(guest.counters.writes - writesAtResume)")
        guest.pause()
        XCTAssertNil(guest.failure)
        XCTAssertNil(try trap.nextFault(timeoutMilliseconds: 0), "no fault left once every page is placed")
    }

    func testAPlacedPageHoldsWhatWasPlacedAndASecondPlacementIsRefusedQuietly() throws {
        let memory = try GuestMemory(sizeBytes: 4 * mib)
        memory.page(5).storeBytes(of: 0x55, as: UInt8.self)
        let trap = try MissingPageTrap(memory: memory)
        try trap.markMissing(pages: [5])
        let content = UnsafeMutableRawPointer.allocate(byteCount: pageBytes, alignment: pageBytes)
        defer { content.deallocate() }
        content.initializeMemory(as: UInt8.self, repeating: 0xA7, count: pageBytes)
        XCTAssertTrue(try trap.place(page: 5, from: content))
        XCTAssertEqual(memory.page(5).load(fromByteOffset: 4095, as: UInt8.self), 0xA7)
        content.initializeMemory(as: UInt8.self, repeating: 0x11, count: pageBytes)
        XCTAssertFalse(try trap.place(page: 5, from: content), "already there")
        XCTAssertEqual(memory.page(5).load(as: UInt8.self), 0xA7, "left as it was")
        XCTAssertThrowsError(try trap.place(page: memory.pageCount, from: content)) { error in
            XCTAssertTrue("\(error)".contains("outside the guest's 1024 pages"), "\(error)")
        }
        XCTAssertThrowsError(try trap.markMissing(pages: [-1]))
        // A run of pages in one copy; a run reaching a page already there stops at it.
        let run = UnsafeMutableRawPointer.allocate(byteCount: 3 * pageBytes, alignment: pageBytes)
        defer { run.deallocate() }
        for index in 0 ..< 3 { (run + index * pageBytes).initializeMemory(as: UInt8.self, repeating: UInt8(0x20 + index), count: pageBytes) }
        try trap.markMissing(pages: [10, 11, 12, 13])
        XCTAssertTrue(try trap.place(page: 10, count: 3, from: run))
        XCTAssertEqual((0 ..< 3).map { memory.page(10 + $0).load(as: UInt8.self) }, [0x20, 0x21, 0x22])
        XCTAssertFalse(try trap.place(page: 12, count: 2, from: run), "page 12 is there already")
        XCTAssertThrowsError(try trap.place(page: memory.pageCount - 1, count: 2, from: run))
    }
}
