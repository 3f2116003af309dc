import Foundation
import XCTest

/// The progress display's time left comes from the model: the guest program's own workload at
/// the rate it achieved stands in for the dirtying until the first dirty-log read measures it,
/// and the time left counts down through the rounds still to come instead of jumping up at
/// every round's start.
final class ProgressEstimateCLITests: GuestHostsTestCase {
    func testTheTimeLeftCountsDownFromTheFirstRound() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portB = try hosts.startLoopbackReceiver(hostB).port
        let started = try hosts.livemig(["guest", "start", "eta", "--memory", "256M", "--workload", "uniform,workingSet=128MiB,rate=8000",
                                         "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        // Every page whole: the estimate counts pages at the measured byte rate, and a fresh
        // guest's zero pages (markers) would end the first round before the first progress line.
        let moved = try LivemigProcess.run(["migrate", "--live", "eta", "127.0.0.1:\(portB)", "--bandwidth", "800Mbit/s", "--policy", "xen3",
                                            "--no-zero-pages", "--verbose", "--run-dir", hostA])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        assertCountsDown(moved.stderr)
    }

    /// A guest that arrived here has no workload description: its first round's dirty log,
    /// peeked, stands in until the first read, and the time left counts down all the same.
    func testAGuestNothingDescribesCountsDownToo() throws {
        let (hostA, hostB) = (hosts.runDirectory("a"), hosts.runDirectory("b"))
        let portA = try hosts.startLoopbackReceiver(hostA).port
        let portB = try hosts.startLoopbackReceiver(hostB).port
        let started = try hosts.livemig(["guest", "start", "back", "--memory", "256M", "--workload", "uniform,workingSet=128MiB,rate=8000",
                                         "--run-dir", hostA])
        XCTAssertEqual(started.status, 0, started.stderr)
        let there = try LivemigProcess.run(["migrate", "--live", "back", "127.0.0.1:\(portB)", "--run-dir", hostA])
        XCTAssertEqual(there.status, 0, there.stderr)
        let back = try LivemigProcess.run(["migrate", "--live", "back", "127.0.0.1:\(portA)", "--bandwidth", "800Mbit/s", "--policy", "xen3",
                                           "--no-zero-pages", "--verbose", "--run-dir", hostB])
        XCTAssertEqual(back.status, 0, back.stderr)
        assertCountsDown(back.stderr)
    }

    /// The progress lines' (round, time left) from the second on count down, with rounds 1 and
    /// later among them.
    private func assertCountsDown(_ stderr: String, file: StaticString = #filePath, line: UInt = #line) {
        // "  iteration 2  sent ... ETA 1.4 s": (round, time left) per progress line.
        let lines = stderr.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).compactMap { line -> (Int, Double)? in
            let fields = line.split(separator: " ")
            guard let at = fields.firstIndex(of: "iteration"), at + 1 < fields.count, let round = Int(fields[at + 1]),
                  let eta = fields.firstIndex(of: "ETA"), eta + 1 < fields.count, let seconds = Double(fields[eta + 1]) else { return nil }
            return (round, seconds)
        }
        // From the second line on: the first may come before the rate over the migration is known.
        let refitted = lines.dropFirst().map(\.1)
        XCTAssertGreaterThanOrEqual(refitted.count, 5, "\(lines)", file: file, line: line)
        XCTAssertTrue(lines.contains { $0.0 == 1 } && lines.contains { $0.0 >= 2 }, "lines from round 1 and later: \(lines)", file: file, line: line)
        // Noise in the transfer rate may move a line up a little on a loaded machine (seen in full
        // runs: 0.7 s to 0.9 s, 2.3 s to 2.7 s): two ticks or a fifth of the time left, whichever
        // is more. The time left jumping up by the rounds to come at each round's start is still caught.
        for (earlier, later) in zip(refitted, refitted.dropFirst()) {
            XCTAssertLessThanOrEqual(later, earlier + max(0.25, 0.2 * earlier), "the time left went up: \(refitted)", file: file, line: line)
        }
    }
}
