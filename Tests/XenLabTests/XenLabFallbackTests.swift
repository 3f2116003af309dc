import Foundation
import XCTest

/// A guest that cannot converge: "hog" (lab/guest/hog.cfg) rewrites 16 MiB without pausing,
/// faster than the lab's link carries it. Under xen4 pre-copy gives up after 5 live passes and
/// the rest goes with the guest suspended: the report says offline fallback, and the guest
/// arrives intact and keeps beating.
final class XenLabFallbackTests: XCTestCase {
    func testAGuestThatCannotConvergeFallsBackToOfflineAndArrives() throws {
        let lab = try XenLab.require()
        // No hog anywhere, and no console log of an earlier one: the heartbeats read below are
        // this hog's own.
        for host in ["A", "B"] {
            _ = try lab.run(host, "xl destroy hog 2>/dev/null; rm -f /var/log/xen/console/guest-hog.log /var/log/xen/console/guest-hog--incoming.log; true")
        }
        _ = try lab.check("A", "xl create /lab/guest/hog.cfg 2>&1")
        defer {
            _ = try? lab.run("A", "xl destroy hog 2>/dev/null; true")
            _ = try? lab.run("B", "xl destroy hog 2>/dev/null; true")
        }
        // Its boot first (minutes allowed), then it must count on from there.
        let first = try lab.firstHeartbeat(on: "A", guest: "hog")
        try lab.assertBeating(on: "A", after: max(first, 2), guest: "hog")
        try lab.startReceiver(on: "B")
        let beat = try lab.heartbeat("A", guest: "hog") ?? 0
        let output = try lab.check("A", "livemig migrate --live hog 10.0.0.2:8002 --policy xen4 --format json")
        let json = try XCTUnwrap(output.range(of: "{").map { String(output[$0.lowerBound...]) }, output)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        print("XEN LAB hog: \(report["outcome"] ?? "") — \(report["reason"] ?? ""); total \(report["totalTimeSeconds"] ?? "") s, downtime \(report["downtimeSeconds"] ?? "") s")
        XCTAssertEqual(report["outcome"] as? String, "offlineFallback", "\(report)")
        XCTAssertTrue((report["reason"] as? String ?? "").contains("5 live iterations"), "\(report)")
        let iterations = report["iterations"] as? [[String: Any]] ?? []
        XCTAssertEqual(iterations.filter { $0["paused"] as? Bool == false }.count, 5)
        XCTAssertGreaterThan(iterations.last?["pagesSent"] as? Int ?? 0, 1000, "the paused pass carries the hot pages")
        XCTAssertEqual(try lab.run("A", "xl list hog").status == 0, false, "gone from A")
        _ = try lab.check("B", "xl list hog")
        try lab.assertBeating(on: "B", after: beat, guest: "hog")
    }
}
