import Foundation
import XCTest

/// `XenLab.waitLoop`, the polling wait the lab tests run in dom0, run here with this machine's
/// bash (dom0's is the same Debian 12 bash): it ends as soon as its condition holds, gives up
/// after its deadline with a line that says what it waited for, and leaves `|| ...` after it
/// in charge. No lab needed.
final class XenLabWaitLoopTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("xen-lab-wait-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: folder)
    }

    func testItPollsUntilTheConditionHoldsAndEndsThere() throws {
        // The condition counts its calls in a file and holds on the third.
        let calls = folder.appendingPathComponent("calls").path
        let loop = XenLab.waitLoop(until: "echo call >>\(calls); [ $(wc -l <\(calls)) -ge 3 ]", timeoutSeconds: 60, what: "the third call")
        let result = try bash(loop + "; echo \"status $?\"")
        XCTAssertEqual(result.output, "status 0\n")
        XCTAssertEqual(try String(contentsOfFile: calls, encoding: .utf8), "call\ncall\ncall\n", "no call after it held")
    }

    func testItGivesUpAfterItsDeadlineSayingWhatItWaitedForAndLetsTheCallerGoOn() throws {
        let began = Date()
        let loop = XenLab.waitLoop(until: "false", timeoutSeconds: 1, what: "the receiver's 'listening' line")
        let result = try bash(loop + " || echo 'the caller goes on'")
        let seconds = Date().timeIntervalSince(began)
        XCTAssertEqual(result.output, "timed out after 1 s waiting for the receiver's 'listening' line\nthe caller goes on\n")
        XCTAssertEqual(result.status, 0)
        XCTAssertGreaterThanOrEqual(seconds, 1, "it waited for its deadline")
        XCTAssertLessThan(seconds, 30, "it stopped at its deadline")
    }

    private func bash(_ command: String) throws -> XenLab.Result {
        try XenLab.runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", command])
    }
}
