import Foundation
import XCTest

/// livemig inside dom0 of a real Xen 4.17 host: `list` shows the domains like `xl list`, and
/// `observe` traces the lab guest's dirtying (it rewrites 16 MiB every second) through
/// log-dirty mode, then turns it off.
final class XenLabListAndObserveTests: XCTestCase {
    func testListShowsTheDomainsLikeXlList() throws {
        let lab = try XenLab.require()
        let listed = try lab.check("A", "livemig list")
        XCTAssertTrue(listed.contains("Domain-0"), listed)
        let guestLine = try XCTUnwrap(listed.split(separator: "\n").first { $0.hasPrefix("guest ") }, listed)
        let fields = guestLine.split(separator: " ", omittingEmptySubsequences: true)
        XCTAssertGreaterThan(Int(fields[1]) ?? 0, 0, "a domain id: \(guestLine)")
        XCTAssertEqual(Int(fields[2]), 128, "128 MiB: \(guestLine)")
        // The same domains xl sees.
        let xl = try lab.check("A", "xl list")
        XCTAssertTrue(xl.contains("guest"), xl)
    }

    func testObserveTracesTheGuestsDirtyingAndTurnsLogDirtyOff() throws {
        let lab = try XenLab.require()
        let summary = try lab.check("A", "livemig observe guest --seconds 3 --interval 0.5 --trace /tmp/guest.trace --format json")
        let json = try XCTUnwrap(summary.range(of: "{").map { String(summary[$0.lowerBound...]) }, summary)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertEqual(object["reads"] as? Int, 6)
        // 16 MiB rewritten every second: about 4,096 pages/s.
        let rate = object["meanPagesPerSecond"] as? Double ?? 0
        XCTAssertGreaterThan(rate, 1000, "\(object)")
        XCTAssertGreaterThan(object["distinctPages"] as? Int ?? 0, 2000, "\(object)")
        let trace = try lab.check("A", "head -c 200 /tmp/guest.trace")
        XCTAssertTrue(trace.hasPrefix("livemig-trace 1\npages "), trace)
        // Log-dirty is off again: xl can still migrate it later, and a second observation works.
        _ = try lab.check("A", "livemig observe guest --seconds 0.5 --interval 0.25 --trace /tmp/again.trace")
        // The guest runs on.
        try lab.assertBeating(on: "A", after: try lab.heartbeat("A") ?? 0)
    }

    /// `calibrate` fits the lab guest's dirtying through the same log-dirty observation: not
    /// idle, a working set near its 16 MiB, and a rate near what it rewrites a second.
    func testCalibrateFitsTheDomainsDirtying() throws {
        let lab = try XenLab.require()
        let output = try lab.check("A", "livemig calibrate guest --seconds 4 --interval 0.1 --format json")
        let json = try XCTUnwrap(output.range(of: "{").map { String(output[$0.lowerBound...]) }, output)
        let fit = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertNotEqual(fit["kind"] as? String, "idle", "\(fit)")
        let pages = Double(fit["workingSetPages"] as? Int ?? 0)
        XCTAssertGreaterThan(pages, 1000, "\(fit)")
        XCTAssertLessThan(pages, 32_768, "within the 128 MiB guest: \(fit)")
        XCTAssertGreaterThan(fit["ratePagesPerSecond"] as? Double ?? 0, 500, "\(fit)")
        XCTAssertLessThan(fit["worstRelativeError"] as? Double ?? 1, 0.5, "the model follows the dirty counts: \(fit)")
        try lab.assertBeating(on: "A", after: try lab.heartbeat("A") ?? 0)
    }

    func testObserveNamesAMissingDomain() throws {
        let lab = try XenLab.require()
        let result = try lab.run("A", "livemig observe nosuchguest --seconds 1 --trace /tmp/x.trace")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("nosuchguest"), result.output)
    }
}
