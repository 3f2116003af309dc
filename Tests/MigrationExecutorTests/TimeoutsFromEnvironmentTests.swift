import Foundation
import MigrationCore
import MigrationExecutor
import XCTest

/// `LIVEMIG_TIMEOUTS` sets the sender's waits, the drain before the pause included; a value out
/// of range is an error naming it.
final class TimeoutsFromEnvironmentTests: XCTestCase {
    override func tearDown() {
        unsetenv(TimeoutsFromEnvironment.variable)
    }

    func testTheDrainWaitIsSetLikeTheOthers() throws {
        setenv(TimeoutsFromEnvironment.variable, "drain=0.2,ready=5", 1)
        let timeouts = try TimeoutsFromEnvironment.sender()
        XCTAssertEqual(timeouts.drainSeconds, 0.2)
        XCTAssertEqual(timeouts.readySeconds, 5)
        XCTAssertEqual(timeouts.runningSeconds, SenderTimeouts().runningSeconds)
        unsetenv(TimeoutsFromEnvironment.variable)
        XCTAssertEqual(try TimeoutsFromEnvironment.sender().drainSeconds, 1)
    }

    func testADrainWaitOutOfRangeIsRefusedByName() {
        setenv(TimeoutsFromEnvironment.variable, "drain=0", 1)
        XCTAssertThrowsError(try TimeoutsFromEnvironment.sender()) { error in
            XCTAssertEqual((error as? HostFailure)?.description, "LIVEMIG_TIMEOUTS: drain=0 is not a number of seconds from 0.1 to 86400")
        }
    }
}
