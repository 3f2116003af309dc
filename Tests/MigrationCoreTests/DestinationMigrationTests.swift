/// DestinationMigration: the receive/commit handshake and every abort path destroying the
/// partial guest.
import MigrationCore
import XCTest

final class DestinationMigrationTests: XCTestCase {
    func testHappyPath() {
        var dest = DestinationMigration()
        XCTAssertEqual(dest.state, .awaitingStream)
        XCTAssertEqual(dest.handle(.streamOpened(guestPages: 3000)), [.createGuest(pages: 3000)])
        XCTAssertEqual(dest.state, .receiving)
        XCTAssertEqual(dest.handle(.pagesReceived(count: 1024)), [])
        XCTAssertEqual(dest.handle(.pagesReceived(count: 1976)), [])
        XCTAssertEqual(dest.pagesReceived, 3000)
        XCTAssertEqual(dest.guestPages, 3000)
        XCTAssertEqual(dest.handle(.deviceStateReceived), [.loadDeviceState])
        XCTAssertEqual(dest.handle(.endOfStream), [.reportReady])
        XCTAssertEqual(dest.state, .holdsWholeGuest)
        XCTAssertEqual(dest.handle(.clearedToRun), [.unpauseGuest, .reportRunning])
        XCTAssertEqual(dest.state, .running)
        // Once running, a late transport failure changes nothing.
        XCTAssertEqual(dest.handle(.transportFailed("link down")), [])
        XCTAssertEqual(dest.state, .running)
    }

    func testEndOfStreamBeforeDeviceStateAborts() {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: 10))
        _ = dest.handle(.pagesReceived(count: 10))
        XCTAssertEqual(dest.handle(.endOfStream), [.destroyGuest])
        guard case .aborted(let reason) = dest.state else { return XCTFail("state \(dest.state)") }
        XCTAssertTrue(reason.contains("device state"), reason)
    }

    func testTransportFailureWhileReceivingDestroysTheGuest() {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: 10))
        _ = dest.handle(.pagesReceived(count: 4))
        XCTAssertEqual(dest.handle(.transportFailed("link down")), [.destroyGuest])
        XCTAssertEqual(dest.state, .aborted("link down"))
        XCTAssertEqual(dest.handle(.pagesReceived(count: 6)), [])
    }

    func testTransportFailureWhileHoldingTheWholeGuestDestroysIt() {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: 10))
        _ = dest.handle(.pagesReceived(count: 10))
        _ = dest.handle(.deviceStateReceived)
        XCTAssertEqual(dest.handle(.endOfStream), [.reportReady])
        XCTAssertEqual(dest.handle(.transportFailed("source gone")), [.destroyGuest])
        XCTAssertEqual(dest.state, .aborted("source gone"))
        XCTAssertEqual(dest.handle(.clearedToRun), [])
    }

    func testEndOfStreamWithPagesMissingAbortsInsteadOfReportingReady() {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: 3000))
        _ = dest.handle(.pagesReceived(count: 10))
        _ = dest.handle(.deviceStateReceived)
        XCTAssertEqual(dest.handle(.endOfStream), [.destroyGuest])
        XCTAssertEqual(dest.state, .aborted("the stream ended with 10 pages received of the guest's 3000"))
    }

    func testClearedToRunBeforeEndOfStreamAborts() {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: 10))
        _ = dest.handle(.deviceStateReceived)
        XCTAssertEqual(dest.handle(.clearedToRun), [.destroyGuest])
        guard case .aborted = dest.state else { return XCTFail("state \(dest.state)") }
    }

    func testFailureBeforeTheStreamOpensHasNoGuestToDestroy() {
        var dest = DestinationMigration()
        XCTAssertEqual(dest.handle(.transportFailed("refused")), [])
        XCTAssertEqual(dest.state, .aborted("refused"))
    }

    func testInvalidStreamsAbort() {
        var empty = DestinationMigration()
        XCTAssertEqual(empty.handle(.streamOpened(guestPages: 0)), [])
        guard case .aborted = empty.state else { return XCTFail("state \(empty.state)") }

        var negative = DestinationMigration()
        _ = negative.handle(.streamOpened(guestPages: 10))
        XCTAssertEqual(negative.handle(.pagesReceived(count: -1)), [.destroyGuest])

        var reopened = DestinationMigration()
        _ = reopened.handle(.streamOpened(guestPages: 10))
        XCTAssertEqual(reopened.handle(.streamOpened(guestPages: 10)), [.destroyGuest])
    }
}
