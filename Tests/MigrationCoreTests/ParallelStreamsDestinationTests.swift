/// DestinationMigration with parallel streams: the data streams are accepted once announced,
/// their pages count only when every one of them has ended (before "ready"), the main stream
/// carries no pages once they are announced, and every bad announcement aborts naming it.
import MigrationCore
import XCTest

final class ParallelStreamsDestinationTests: XCTestCase {
    private func opened(pages: Int = 10) -> DestinationMigration {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: pages, vcpuCount: 1))
        return dest
    }

    private func reason(_ dest: DestinationMigration) -> String {
        if case .aborted(let reason) = dest.state { return reason }
        return "not aborted: \(dest.state)"
    }

    func testTheDataStreamsPagesCountOnceAllHaveEnded() {
        var dest = opened()
        XCTAssertEqual(dest.handle(.parallelStreamsAnnounced(count: 4)), [.acceptParallelStreams(count: 4)])
        XCTAssertEqual(dest.parallelStreams, 4)
        _ = dest.handle(.vcpuStateReceived(vcpu: 0))
        _ = dest.handle(.deviceStateReceived)
        var pages = DirtyBitmap(pageCount: 10)
        pages.insert(range: 0 ..< 10)
        XCTAssertEqual(dest.handle(.parallelStreamsEnded(pages: pages, pagesReceived: 14)), [])
        XCTAssertEqual(dest.distinctPagesReceived, 10)
        XCTAssertEqual(dest.pagesReceived, 14)
        XCTAssertEqual(dest.handle(.endOfStream), [.reportReady])
    }

    func testTheEndBeforeTheDataStreamsEndedIsRefused() {
        var dest = opened()
        _ = dest.handle(.parallelStreamsAnnounced(count: 2))
        _ = dest.handle(.vcpuStateReceived(vcpu: 0))
        _ = dest.handle(.deviceStateReceived)
        XCTAssertEqual(dest.handle(.endOfStream), [.destroyGuest, .reportAbort("the stream ended before the end of the 2 data streams arrived")])
    }

    func testPagesTheDataStreamsNeverCarriedAreMissed() {
        var dest = opened()
        _ = dest.handle(.parallelStreamsAnnounced(count: 2))
        _ = dest.handle(.vcpuStateReceived(vcpu: 0))
        _ = dest.handle(.deviceStateReceived)
        var pages = DirtyBitmap(pageCount: 10)
        pages.insert(range: 0 ..< 7)
        _ = dest.handle(.parallelStreamsEnded(pages: pages, pagesReceived: 7))
        _ = dest.handle(.endOfStream)
        XCTAssertTrue(reason(dest).contains("3 of 10 never came, the first is page 7"), reason(dest))
    }

    func testThePageRecordsOnTheMainStreamAreRefusedOnceStreamsAreAnnounced() {
        var batch = opened()
        _ = batch.handle(.parallelStreamsAnnounced(count: 2))
        XCTAssertEqual(batch.handle(.pageBatchAnnounced(pageNumbers: [1])).first, .destroyGuest)
        XCTAssertEqual(reason(batch), "page data on the main stream of a migration with 2 data streams")
        var zero = opened()
        _ = zero.handle(.parallelStreamsAnnounced(count: 2))
        _ = zero.handle(.zeroPagesAnnounced(pageNumbers: [1]))
        XCTAssertEqual(reason(zero), "page data on the main stream of a migration with 2 data streams")
        // Without data streams the main stream carries the pages as ever.
        var plain = opened()
        XCTAssertEqual(plain.handle(.pageBatchAnnounced(pageNumbers: [1])), [.receivePageData])
        XCTAssertEqual(plain.handle(.zeroPagesAnnounced(pageNumbers: [2])), [.zeroAnnouncedPages])
    }

    func testBadAnnouncementsAbort() {
        for count in [0, 1, 17, -3] {
            var dest = opened()
            _ = dest.handle(.parallelStreamsAnnounced(count: count))
            XCTAssertEqual(reason(dest), "\(count) data streams announced; 2 to 16 may be")
        }
        var late = opened()
        _ = late.handle(.pageBatchAnnounced(pageNumbers: [1]))
        _ = late.handle(.parallelStreamsAnnounced(count: 2))
        XCTAssertEqual(reason(late), "parallel streams announced after pages or twice")
        var twice = opened()
        _ = twice.handle(.parallelStreamsAnnounced(count: 2))
        _ = twice.handle(.parallelStreamsAnnounced(count: 2))
        XCTAssertEqual(reason(twice), "parallel streams announced after pages or twice")
        var unannounced = opened()
        _ = unannounced.handle(.parallelStreamsEnded(pages: DirtyBitmap(pageCount: 10), pagesReceived: 0))
        XCTAssertEqual(reason(unannounced), "data streams ended that were never announced, or twice")
        var wrongSize = opened()
        _ = wrongSize.handle(.parallelStreamsAnnounced(count: 2))
        _ = wrongSize.handle(.parallelStreamsEnded(pages: DirtyBitmap(pageCount: 11), pagesReceived: 0))
        XCTAssertEqual(reason(wrongSize), "the data streams' pages do not fit the guest")
        var counted = DestinationMigration(completenessCheck: .pageCount)
        _ = counted.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        _ = counted.handle(.parallelStreamsAnnounced(count: 2))
        XCTAssertEqual(reason(counted), "parallel streams where the pages are not checked by number")
    }
}
