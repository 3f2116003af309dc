/// Xen4Policy as a pure function of PrecopyStats: the 5-iteration limit after a round and the
/// dirty count < 50 rule after a dirty-log read (with "send the dirty pages live first").
import MigrationCore
import XCTest

final class Xen4PolicyTests: XCTestCase {
    func testName() {
        XCTAssertEqual(Xen4Policy().name, "xen4")
        XCTAssertFalse(Xen4Policy().skipsPagesDirtiedDuringRound)
    }

    func testAfterRoundStopsAtIteration5() {
        var policy = Xen4Policy()
        XCTAssertEqual(policy.afterRound(makeStats { $0.iteration = 4; $0.roundPagesSent = 900 }), .continuePrecopy)
        let stop = stopOf(policy.afterRound(makeStats { $0.iteration = 5; $0.roundPagesSent = 900 }))
        XCTAssertEqual(stop?.outcome, .offlineFallback)
        XCTAssertEqual(stop?.sendDirtyPagesLiveFirst, false)
        XCTAssertTrue(stop?.reason.contains("limit of 5") ?? false, stop?.reason ?? "")
    }

    func testAfterRoundIgnoresSmallRounds() {
        var policy = Xen4Policy()
        // Only the iteration limit applies after a round (Xen passes dirty_count = -1).
        XCTAssertEqual(policy.afterRound(makeStats { $0.iteration = 1; $0.roundPagesSent = 3 }), .continuePrecopy)
    }

    func testDirtyCount49StopsConvergedAndSendsLiveFirst() {
        var policy = Xen4Policy()
        let stop = stopOf(policy.afterDirtyLogRead(makeStats { $0.iteration = 2; $0.dirtyPageCount = 49 }))
        XCTAssertEqual(stop?.outcome, .converged)
        XCTAssertEqual(stop?.sendDirtyPagesLiveFirst, true)
        XCTAssertTrue(stop?.reason.contains("49") ?? false, stop?.reason ?? "")
    }

    func testDirtyCount50Continues() {
        var policy = Xen4Policy()
        XCTAssertEqual(policy.afterDirtyLogRead(makeStats { $0.iteration = 2; $0.dirtyPageCount = 50 }), .continuePrecopy)
    }

    func testUnknownDirtyCountContinues() {
        var policy = Xen4Policy()
        XCTAssertEqual(policy.afterDirtyLogRead(makeStats { $0.iteration = 2; $0.dirtyPageCount = nil }), .continuePrecopy)
    }

    func testCustomTarget() {
        var policy = Xen4Policy(maxIterations: 2, targetDirtyCount: 10)
        XCTAssertEqual(policy.afterDirtyLogRead(makeStats { $0.dirtyPageCount = 10 }), .continuePrecopy)
        XCTAssertEqual(stopOf(policy.afterDirtyLogRead(makeStats { $0.dirtyPageCount = 9 }))?.outcome, .converged)
        XCTAssertEqual(stopOf(policy.afterRound(makeStats { $0.iteration = 2 }))?.outcome, .offlineFallback)
    }
}
