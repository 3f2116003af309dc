import Foundation
import Synchronization

/// The sweep's progress bar on a terminal (standard error): done / total, simulations per
/// second and the time left, redrawn at most ten times a second; silent when not a terminal.
final class SweepProgress: Sendable {
    private let enabled: Bool
    private let startSeconds = Date().timeIntervalSince1970
    private let lastDrawMilliseconds = Atomic<Int>(0)

    init(enabled: Bool) { self.enabled = enabled }

    @Sendable func update(done: Int, total: Int) {
        guard enabled else { return }
        let elapsed = Date().timeIntervalSince1970 - startSeconds
        let now = Int(elapsed * 1000)
        let last = lastDrawMilliseconds.load(ordering: .relaxed)
        guard done == total || now - last >= 100,
              lastDrawMilliseconds.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = String(format: "\r  [%@] %d / %d  %.0f/s  ETA %.0f s ", bar, done, total, rate, left)
        try? FileHandle.standardError.write(contentsOf: Data(line.utf8))
    }

    func finish() {
        if enabled { try? FileHandle.standardError.write(contentsOf: Data("\n".utf8)) }
    }
}
