@testable import MigrationSimulation
import XCTest

/// The event queue and the link model, the simulator's kernel pieces.
final class KernelTests: XCTestCase {
    func testEventsRunInTimeOrderAndEqualTimesInInsertionOrder() {
        var queue = EventQueue<String>()
        queue.schedule("c", at: 2)
        queue.schedule("a1", at: 1)
        queue.schedule("b", at: 1.5)
        queue.schedule("a2", at: 1)
        queue.schedule("a3", at: 1)
        var order: [String] = []
        while let next = queue.popNext() { order.append(next.event) }
        XCTAssertEqual(order, ["a1", "a2", "a3", "b", "c"])
    }

    func testBandwidthProfileIsIntegratedAcrossSteps() {
        let link = LinkModel(bandwidthProfile: [
            .init(fromSeconds: 0, bytesPerSecond: 100),
            .init(fromSeconds: 10, bytesPerSecond: 50),
        ])
        XCTAssertEqual(link.transferEndSeconds(start: 0, bytes: 500), 5, accuracy: 1e-12)
        // 500 bytes by 10 s at 100 B/s from 5 s, the other 500 at 50 B/s: 20 s.
        XCTAssertEqual(link.transferEndSeconds(start: 5, bytes: 1000), 20, accuracy: 1e-12)
        XCTAssertEqual(link.transferEndSeconds(start: 12, bytes: 100), 14, accuracy: 1e-12)
    }

    func testAStalledLinkThatNeverRecoversNeverFinishes() {
        let link = LinkModel(bandwidthProfile: [.init(fromSeconds: 0, bytesPerSecond: 100), .init(fromSeconds: 1, bytesPerSecond: 0)])
        XCTAssertEqual(link.transferEndSeconds(start: 0, bytes: 1000), .infinity)
    }

    func testScatteredLayoutIsABijection() {
        for pages in [1, 7, 64, 1000, 4096] {
            let layout = PageLayout(pageCount: pages)
            XCTAssertEqual(Set((0 ..< pages).map({ layout.frame(ofLogicalPage: $0) })).count, pages, "\(pages) pages")
        }
    }
}
