import Foundation
import MigrationCore
@testable import MigrationExecutor
import XCTest

/// `MigrationSteering`, the mailbox between `livemig job` and the executor's loop: an event
/// waits for the loop, gets the engine's answer, is withdrawn when the loop does not come in
/// time, and is refused once the migration has ended.
final class MigrationSteeringTests: XCTestCase {
    func testAnEventGetsTheAnswerTheLoopGives() {
        let steering = MigrationSteering()
        let delivered = DispatchSemaphore(value: 0)
        Thread {
            while !steering.hasQueuedEvents { usleep(1000) }
            steering.deliver { event in
                event == .setDowntimeLimit(seconds: 0.1) ? .accepted : .refused("unexpected \(event)")
            }
            delivered.signal()
        }.start()
        XCTAssertEqual(steering.submit(.setDowntimeLimit(seconds: 0.1), waitingUpTo: 30), .accepted)
        XCTAssertEqual(delivered.wait(timeout: .now() + 30), .success)
    }

    func testAnEventNobodyTakesIsWithdrawnAndChangesNothing() {
        let steering = MigrationSteering()
        guard case .refused(let why) = steering.submit(.setRateLimit(bytesPerSecond: nil), waitingUpTo: 0.05) else {
            return XCTFail("taken without a loop")
        }
        XCTAssertTrue(why.contains("nothing changed"), why)
        XCTAssertFalse(steering.hasQueuedEvents, "the withdrawn event would reach the engine later")
        var handed = 0
        steering.deliver { _ in
            handed += 1
            return .accepted
        }
        XCTAssertEqual(handed, 0)
    }

    func testAnEventTheLoopTookBeforeTheDeadlineGetsItsAnswerEvenIfLate() {
        // The engine's step outlasts the submitter's wait: the cap did change, so the answer
        // must say so, not "nothing changed".
        let steering = MigrationSteering()
        Thread {
            while !steering.hasQueuedEvents { usleep(1000) }
            steering.deliver { _ in
                usleep(300_000)
                return .accepted
            }
        }.start()
        XCTAssertEqual(steering.submit(.setRateLimit(bytesPerSecond: 1e9), waitingUpTo: 0.1), .accepted)
        XCTAssertTrue(steering.changedLimits)
    }

    func testAfterTheEndEveryEventIsRefused() {
        let steering = MigrationSteering()
        steering.end()
        XCTAssertEqual(steering.submit(.cancel(reason: "late"), waitingUpTo: 1), .refused("the migration has ended"))
    }
}
