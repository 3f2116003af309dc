/// QemuPolicy's dirty limit: the auto-converge trigger, then a throttle toward the target dirty
/// rate from each read's measured rate; a guest under the target is not slowed; and the offline
/// fallback waits while the policy can still slow the guest.
import MigrationCore
import XCTest

final class QemuDirtyLimitTests: XCTestCase {
    /// A read at `elapsed` seconds finding `dirty` pages, with 1,000,000 more bytes on the wire
    /// per second of elapsed time (so 200 pages a read is a high period: 819,200 > 50 % of it).
    private func read(_ policy: inout some PrecopyPolicy, number: Int, elapsed: Double, dirty: Double) -> PrecopyDecision {
        policy.afterDirtyLogRead(makeStats(guestPages: 1_000_000) {
            $0.iteration = number
            $0.elapsedSeconds = elapsed
            $0.totalBytesSent = elapsed * 1_000_000
            $0.measuredBandwidthBytesPerSecond = 1_000_000
            $0.dirtyPageCount = dirty
            $0.pendingPageCount = 500_000
            $0.roundPagesSent = dirty
        })
    }

    func testTriggerThenThrottleTowardTheTargetRate() {
        var policy = QemuPolicy(dirtyLimit: .init(targetPagesPerSecond: 50))
        XCTAssertTrue(policy.canSlowGuestFurther)
        _ = read(&policy, number: 1, elapsed: 1.5, dirty: 200)
        XCTAssertEqual(policy.guestThrottlePercent, 0, "one high period does not fire the trigger")
        _ = read(&policy, number: 2, elapsed: 3.0, dirty: 200)
        // Fired: 200 pages in 1.5 s = 133.3 pages/s against a target of 50: 1 - 50 / 133.3 = 62.5 %.
        XCTAssertEqual(policy.guestThrottlePercent, 63)
        // Throttled at 63 %, the guest dirties 60 pages/s: unthrottled that is 162 pages/s, so
        // the throttle rises to 1 - 50 / 162 = 69.2 %.
        _ = read(&policy, number: 3, elapsed: 4.0, dirty: 60)
        XCTAssertEqual(policy.guestThrottlePercent, 70)
        XCTAssertTrue(policy.canSlowGuestFurther)
    }

    func testAGuestUnderTheTargetIsNotSlowed() {
        var policy = QemuPolicy(dirtyLimit: .init(targetPagesPerSecond: 1_000))
        for n in 1 ... 4 { _ = read(&policy, number: n, elapsed: 1.5 * Double(n), dirty: 200) }
        XCTAssertEqual(policy.guestThrottlePercent, 0, "133 pages/s is under 1,000")
    }

    func testTheThrottleStopsAt99() {
        var policy = QemuPolicy(dirtyLimit: .init(targetPagesPerSecond: 1))
        for n in 1 ... 3 { _ = read(&policy, number: n, elapsed: 1.5 * Double(n), dirty: 200_000) }
        XCTAssertEqual(policy.guestThrottlePercent, 99)
        XCTAssertFalse(policy.canSlowGuestFurther)
    }

    func testTheFallbackWaitsWhileAutoConvergeCanStillRaiseTheThrottle() {
        // Every round dirties as much as it sends: without auto-converge the guard gives up
        // after 2 rounds; with it, not before the throttle reaches its 99 % maximum.
        var plain = OfflineFallbackGuard(base: QemuPolicy(), rounds: 2)
        XCTAssertEqual(read(&plain, number: 1, elapsed: 1.5, dirty: 200_000), .continuePrecopy)
        XCTAssertEqual(stopOf(read(&plain, number: 2, elapsed: 3, dirty: 200_000))?.outcome, .offlineFallback)

        var throttled = OfflineFallbackGuard(base: QemuPolicy(autoConverge: .init()), rounds: 2)
        var round = 0
        while throttled.canSlowGuestFurther && round < 100 {
            round += 1
            XCTAssertEqual(read(&throttled, number: round, elapsed: 1.5 * Double(round), dirty: 200_000), .continuePrecopy,
                           "round \(round) at \(throttled.guestThrottlePercent) %")
        }
        XCTAssertEqual(throttled.guestThrottlePercent, 99)
        XCTAssertEqual(read(&throttled, number: round + 1, elapsed: 1.5 * Double(round + 1), dirty: 200_000), .continuePrecopy)
        XCTAssertEqual(stopOf(read(&throttled, number: round + 2, elapsed: 1.5 * Double(round + 2), dirty: 200_000))?.outcome,
                       .offlineFallback, "at 99 % the guard counts again")
    }

    func testConfigurationBuildsTheDirtyLimitAndRefusesBothThrottles() throws {
        let configuration = PolicyConfiguration(name: .qemu, dirtyLimitPagesPerSecond: 500)
        XCTAssertNoThrow(try configuration.validate())
        XCTAssertTrue(configuration.makePolicy().canSlowGuestFurther)
        XCTAssertTrue(configuration.scenarioKeys.contains("policy.dirtyLimit=500.0"))
        var both = configuration
        both.autoConverge = true
        XCTAssertThrowsError(try both.validate()) { XCTAssertTrue("\($0)".contains("choose one"), "\($0)") }
        let xen = PolicyConfiguration(name: .xen4, dirtyLimitPagesPerSecond: 500)
        XCTAssertThrowsError(try xen.validate()) { XCTAssertTrue("\($0)".contains("xen4"), "\($0)") }
        XCTAssertThrowsError(try PolicyConfiguration(name: .qemu, dirtyLimitPagesPerSecond: 0.5).validate())
    }
}
