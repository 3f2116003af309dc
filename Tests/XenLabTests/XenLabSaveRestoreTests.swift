import Foundation
import XCTest

/// `livemig save` / `restore` of the lab guest, in xl's savefile format both ways: livemig's
/// file restored by livemig, and `xl save`'s file restored by livemig.
final class XenLabSaveRestoreTests: XCTestCase {
    func testSaveStopsTheDomainAndRestoreRunsItAgainAlsoFromXlSave() throws {
        let lab = try XenLab.require()
        let host = try XCTUnwrap(try lab.guestHost(), "the lab guest is not running")
        var beat = try lab.heartbeat(host) ?? 0
        let saved = try lab.check(host, "livemig save guest /tmp/guest.sav --format json")
        XCTAssertTrue(saved.contains("\"live\" : false"), saved)
        XCTAssertNotEqual(try lab.run(host, "xl list guest").status, 0, "save stops the domain")
        let size = Int(try lab.check(host, "stat -c %s /tmp/guest.sav").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(size, 100 << 20, "the file holds the guest's memory")
        XCTAssertTrue(try lab.check(host, "livemig restore /tmp/guest.sav").contains("domain guest restored"))
        try lab.assertBeating(on: host, after: beat)

        // A file from `xl save`, restored by livemig.
        beat = try lab.heartbeat(host) ?? 0
        _ = try lab.check(host, "rm -f /tmp/guest.sav; xl save guest /tmp/xl.sav 2>&1")
        XCTAssertNotEqual(try lab.run(host, "xl list guest").status, 0)
        XCTAssertTrue(try lab.check(host, "livemig restore /tmp/xl.sav; rm -f /tmp/xl.sav").contains("domain guest restored"))
        try lab.assertBeating(on: host, after: beat)

        // A second restore of the same name is refused while it runs.
        _ = try lab.check(host, "livemig save guest /tmp/again.sav >/dev/null && livemig restore /tmp/again.sav")
        let twice = try lab.run(host, "livemig restore /tmp/again.sav; status=$?; rm -f /tmp/again.sav; exit $status")
        XCTAssertNotEqual(twice.status, 0)
        XCTAssertTrue(twice.output.contains("already runs"), twice.output)
    }
}
