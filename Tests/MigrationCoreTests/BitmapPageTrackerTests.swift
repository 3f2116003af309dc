/// BitmapPageTracker: full-pass batching, the Xen 3 skip rule against a peeked bitmap,
/// batches cut in the middle of a 64-bit word, and mergeDirtyLog as a union.
import MigrationCore
import XCTest

final class BitmapPageTrackerTests: XCTestCase {
    func testFullPassOf3000PagesIn1024PageBatches() {
        var tracker = BitmapPageTracker(pageCount: 3000, collectsPageNumbers: true)
        tracker.beginFullPass()
        XCTAssertEqual(tracker.pendingPageCount, 3000)

        let first = tracker.takeBatch(maxPages: 1024, skippingPagesDirtyIn: nil)
        XCTAssertEqual(first.pagesSent, 1024)
        XCTAssertEqual(first.pagesSkipped, 0)
        XCTAssertEqual(first.batch, Array(0 ..< 1024))
        XCTAssertEqual(tracker.pendingPageCount, 1976)

        let second = tracker.takeBatch(maxPages: 1024, skippingPagesDirtyIn: nil)
        XCTAssertEqual(second.pagesSent, 1024)
        XCTAssertEqual(second.batch, Array(1024 ..< 2048))
        XCTAssertEqual(tracker.pendingPageCount, 952)

        let third = tracker.takeBatch(maxPages: 1024, skippingPagesDirtyIn: nil)
        XCTAssertEqual(third.pagesSent, 952)
        XCTAssertEqual(third.batch, Array(2048 ..< 3000))
        XCTAssertEqual(tracker.pendingPageCount, 0)
        XCTAssertEqual(tracker.pendingPages.count, 0)

        let empty = tracker.takeBatch(maxPages: 1024, skippingPagesDirtyIn: nil)
        XCTAssertEqual(empty.pagesSent, 0)
        XCTAssertEqual(empty.batch, [])
    }

    func testWithoutCollectingPageNumbersBatchesCarryOnlyCounts() {
        var tracker = BitmapPageTracker(pageCount: 3000, collectsPageNumbers: false)
        tracker.beginFullPass()
        var sizes: [Double] = []
        while tracker.pendingPageCount > 0 {
            let taken = tracker.takeBatch(maxPages: 1024, skippingPagesDirtyIn: nil)
            XCTAssertEqual(taken.batch, [])
            sizes.append(taken.pagesSent)
        }
        XCTAssertEqual(sizes, [1024, 1024, 952])
    }

    func testSkipRuleSendsPendingPagesNotInPeekAndDropsTheRest() {
        var tracker = BitmapPageTracker(pageCount: 100, collectsPageNumbers: true)
        XCTAssertEqual(tracker.mergeDirtyLog(bitmap(pageCount: 100, pages: 0 ..< 10)), 10)
        let peek = bitmap(pageCount: 100, pages: [2, 3, 7])
        let taken = tracker.takeBatch(maxPages: 1024, skippingPagesDirtyIn: peek)
        XCTAssertEqual(taken.batch, [0, 1, 4, 5, 6, 8, 9])
        XCTAssertEqual(taken.pagesSent, 7)
        XCTAssertEqual(taken.pagesSkipped, 3)
        XCTAssertEqual(tracker.pendingPageCount, 0)
        XCTAssertEqual(tracker.pendingPages.count, 0)
    }

    func testPeekedPagesThatAreNotPendingAreNotCountedAsSkipped() {
        var tracker = BitmapPageTracker(pageCount: 100, collectsPageNumbers: true)
        _ = tracker.mergeDirtyLog(bitmap(pageCount: 100, pages: 0 ..< 10))
        let taken = tracker.takeBatch(maxPages: 1024, skippingPagesDirtyIn: bitmap(pageCount: 100, pages: [2, 50, 99]))
        XCTAssertEqual(taken.pagesSent, 9)
        XCTAssertEqual(taken.pagesSkipped, 1)
    }

    func testBatchCutMidWordContinuesInNextBatch() {
        var tracker = BitmapPageTracker(pageCount: 64, collectsPageNumbers: true)
        tracker.beginFullPass()
        var batches: [[Int]] = []
        while tracker.pendingPageCount > 0 {
            batches.append(tracker.takeBatch(maxPages: 10, skippingPagesDirtyIn: nil).batch)
        }
        XCTAssertEqual(batches.map(\.count), [10, 10, 10, 10, 10, 10, 4])
        XCTAssertEqual(batches.flatMap { $0 }, Array(0 ..< 64))
        XCTAssertEqual(batches[6], [60, 61, 62, 63])
    }

    func testBatchCutsAcrossWordBoundaries() {
        var tracker = BitmapPageTracker(pageCount: 200, collectsPageNumbers: true)
        tracker.beginFullPass()
        XCTAssertEqual(tracker.takeBatch(maxPages: 50, skippingPagesDirtyIn: nil).batch, Array(0 ..< 50))
        XCTAssertEqual(tracker.takeBatch(maxPages: 50, skippingPagesDirtyIn: nil).batch, Array(50 ..< 100))
        XCTAssertEqual(tracker.pendingPageCount, 100)
        XCTAssertEqual(tracker.takeBatch(maxPages: 50, skippingPagesDirtyIn: nil).batch, Array(100 ..< 150))
        XCTAssertEqual(tracker.takeBatch(maxPages: 50, skippingPagesDirtyIn: nil).batch, Array(150 ..< 200))
        XCTAssertEqual(tracker.pendingPageCount, 0)
    }

    func testCutWordWithSkipsCountsOnlySkipsBeforeTheCut() {
        var tracker = BitmapPageTracker(pageCount: 10, collectsPageNumbers: true)
        tracker.beginFullPass()
        // Sendable 0, 2, 3 (1 skipped); the cut after page 3 leaves 4...9 pending.
        let first = tracker.takeBatch(maxPages: 3, skippingPagesDirtyIn: bitmap(pageCount: 10, pages: [1, 5]))
        XCTAssertEqual(first.batch, [0, 2, 3])
        XCTAssertEqual(first.pagesSkipped, 1)
        XCTAssertEqual(tracker.pendingPageCount, 6)
        // Page 5 is still pending (it lay past the cut) and is skipped now.
        let second = tracker.takeBatch(maxPages: 3, skippingPagesDirtyIn: bitmap(pageCount: 10, pages: [1, 5]))
        XCTAssertEqual(second.batch, [4, 6, 7])
        XCTAssertEqual(second.pagesSkipped, 1)
        XCTAssertEqual(tracker.pendingPageCount, 2)
        let third = tracker.takeBatch(maxPages: 3, skippingPagesDirtyIn: nil)
        XCTAssertEqual(third.batch, [8, 9])
        XCTAssertEqual(tracker.pendingPageCount, 0)
    }

    func testMergeDirtyLogIsAUnionAndReturnsTheLogsCount() {
        var tracker = BitmapPageTracker(pageCount: 100, collectsPageNumbers: true)
        tracker.beginFullPass()
        XCTAssertEqual(tracker.takeBatch(maxPages: 90, skippingPagesDirtyIn: nil).pagesSent, 90)
        // 90...99 still pending; the log holds one sent page (5) and one pending page (95).
        let held = tracker.mergeDirtyLog(bitmap(pageCount: 100, pages: [5, 95]))
        XCTAssertEqual(held, 2)
        XCTAssertEqual(tracker.pendingPageCount, 11)
        XCTAssertEqual(pages(in: tracker.pendingPages), [5] + Array(90 ..< 100))
        // The walk restarts at word 0, so page 5 comes first.
        XCTAssertEqual(tracker.takeBatch(maxPages: 100, skippingPagesDirtyIn: nil).batch, [5] + Array(90 ..< 100))
    }

    func testGuestPageCountIsThePageCount() {
        let tracker = BitmapPageTracker(pageCount: 70, collectsPageNumbers: false)
        XCTAssertEqual(tracker.guestPageCount, 70)
        XCTAssertEqual(tracker.pendingPageCount, 0)
    }
}
