import XCTest
@testable import MigrationSimulation

/// Max-min fair sharing: equal shares on one bottleneck, caps respected, spare capacity handed
/// to flows that can use it, and exact finish times as flows come and go.
final class SharedBandwidthTests: XCTestCase {
    func testTwoFlowsOnOneLinkShareItEquallyAndTheSurvivorSpeedsUp() {
        var network = SharedBandwidth(capacities: [100], flowCapBytesPerSecond: 1000, owners: 2)
        network.start(owner: 0, bytes: 100, resources: [0], now: 0)
        XCTAssertEqual(network.rate(of: 0), 100)
        network.start(owner: 1, bytes: 300, resources: [0], now: 0)
        XCTAssertEqual(network.rate(of: 0), 50)
        XCTAssertEqual(network.rate(of: 1), 50)
        // Flow 0 ends at 2 s (100 bytes at 50/s); flow 1 has 200 left, alone at 100/s: 4 s.
        let first = network.nextFinish()!
        XCTAssertEqual(first.owner, 0)
        XCTAssertEqual(first.atSeconds, 2, accuracy: 1e-12)
        XCTAssertEqual(network.finish(owner: 0, now: 2), [0])
        XCTAssertEqual(network.rate(of: 1), 100)
        let second = network.nextFinish()!
        XCTAssertEqual(second.owner, 1)
        XCTAssertEqual(second.atSeconds, 4, accuracy: 1e-12)
        XCTAssertEqual(network.finish(owner: 1, now: 4), [1])
        XCTAssertNil(network.nextFinish())
    }

    func testAFlowHeldBackElsewhereLeavesItsShareToTheOthers() {
        // Resource 0: a 100/s uplink both cross; resource 1: a 20/s link only flow 0 crosses.
        var network = SharedBandwidth(capacities: [100, 20, 1000], flowCapBytesPerSecond: 1000, owners: 2)
        network.start(owner: 0, bytes: 1000, resources: [0, 1], now: 0)
        network.start(owner: 1, bytes: 1000, resources: [0, 2], now: 0)
        XCTAssertEqual(network.rate(of: 0)!, 20, accuracy: 1e-9)
        XCTAssertEqual(network.rate(of: 1)!, 80, accuracy: 1e-9)
    }

    func testNoFlowGoesFasterThanItsCap() {
        var network = SharedBandwidth(capacities: [1000], flowCapBytesPerSecond: 300, owners: 3)
        network.start(owner: 0, bytes: 10, resources: [0], now: 0)
        XCTAssertEqual(network.rate(of: 0)!, 300, accuracy: 1e-9)
        network.start(owner: 1, bytes: 10, resources: [0], now: 0)
        network.start(owner: 2, bytes: 10, resources: [0], now: 0)
        for owner in 0 ..< 3 { XCTAssertEqual(network.rate(of: owner)!, 300, accuracy: 1e-9) }
    }

    func testACancelledFlowGivesItsShareBack() {
        var network = SharedBandwidth(capacities: [100], flowCapBytesPerSecond: 1000, owners: 2)
        network.start(owner: 0, bytes: 1000, resources: [0], now: 0)
        network.start(owner: 1, bytes: 1000, resources: [0], now: 0)
        network.cancel(owner: 1, now: 1)
        XCTAssertEqual(network.rate(of: 0), 100)
        // 50 bytes moved in the first second, 950 left at 100/s.
        XCTAssertEqual(network.nextFinish()!.atSeconds, 10.5, accuracy: 1e-9)
    }
}
