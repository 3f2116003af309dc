import MigrationCore
import MigrationScenario
import MigrationSimulation
import MigrationSweep
import XCTest

/// The planner: its schedule is never worse than the strategies it compares with, it is
/// reproducible, it places guests within the destinations' room, and it says when it cannot.
final class EvacuationPlannerTests: XCTestCase {
    private let gigabit = 1.25e8

    private func guest(_ name: String, memoryGiB: Int, rate: Double) -> EvacuationSetting.Guest {
        let pages = memoryGiB << 18
        var policy = PolicyConfiguration(name: .qemu)
        policy.downtimeLimitSeconds = 0.3
        let config = SimulationConfig(guestMemoryBytes: memoryGiB << 30,
                                      workload: rate == 0 ? .idle : .uniform(workingSetPages: pages / 8, ratePagesPerSecond: rate),
                                      link: LinkModel(bytesPerSecond: gigabit), policy: policy, fidelity: .fluid,
                                      seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        return EvacuationSetting.Guest(name: name, config: config)
    }

    /// Six guests, two of them busy writers, over 10 Gbit/s to two destinations.
    private func mixedHost(room: Int = 64 << 30) -> EvacuationSetting {
        let guests = [guest("a", memoryGiB: 4, rate: 0), guest("b", memoryGiB: 8, rate: 60_000), guest("c", memoryGiB: 2, rate: 5000),
                      guest("d", memoryGiB: 4, rate: 40_000), guest("e", memoryGiB: 1, rate: 0), guest("f", memoryGiB: 2, rate: 20_000)]
        return EvacuationSetting(guests: guests,
                                 destinations: [.init(name: "x", bandwidthBytesPerSecond: 10 * gigabit, latencySeconds: 0.0001, memoryBytes: room),
                                                .init(name: "y", bandwidthBytesPerSecond: 10 * gigabit, latencySeconds: 0.0001, memoryBytes: room)],
                                 uplinkBytesPerSecond: 10 * gigabit, migrationCores: 4, coreBytesPerSecond: 8 * gigabit,
                                 downtimeLimitSeconds: 0.3)
    }

    func testThePlanIsNoWorseThanAnyStrategyItComparesWith() throws {
        let plan = try EvacuationPlanner(setting: mixedHost(), budget: 150, seed: 3).plan()
        let names = plan.strategies.map(\.name)
        XCTAssertEqual(names.count, 5)
        for (name, expected) in zip(names, ["sequential", "all at once", "at a time", "smallest first", "least-dirtying first"]) {
            XCTAssertTrue(name.contains(expected), "\(name) is not '\(expected)'")
        }
        for strategy in plan.strategies {
            let other = strategy.evaluation
            XCTAssertLessThanOrEqual(plan.best.guestsOverLimit, other.guestsOverLimit, strategy.name)
            if plan.best.guestsOverLimit == other.guestsOverLimit {
                XCTAssertLessThanOrEqual(plan.best.finishSeconds, other.finishSeconds + 1e-9, strategy.name)
            }
        }
        XCTAssertEqual(plan.best.outcome.guests.count, 6)
        XCTAssertLessThanOrEqual(plan.schedulesTried, 150)
        // The link carries 21 GiB at best in 21 GiB / 10 Gbit/s: no plan beats that.
        XCTAssertGreaterThan(plan.best.finishSeconds, Double(21 << 30) / (10 * gigabit))
        // Sequential is what "1 at a time, host file order" means.
        let sequential = plan.strategies[0].evaluation
        XCTAssertEqual(sequential.schedule.concurrency, 1)
        XCTAssertEqual(sequential.schedule.order, Array(0 ..< 6))
        XCTAssertEqual(plan.strategies[1].evaluation.schedule.concurrency, 6)
    }

    func testTheSamePlanFromTheSameSeed() throws {
        let first = try EvacuationPlanner(setting: mixedHost(), budget: 100, seed: 9).plan()
        let second = try EvacuationPlanner(setting: mixedHost(), budget: 100, seed: 9).plan()
        XCTAssertEqual(first.best.schedule, second.best.schedule)
        XCTAssertEqual(first.best.finishSeconds, second.best.finishSeconds)
    }

    func testGuestsGoWhereThereIsRoomAndTheLoadIsBalanced() throws {
        let planner = try EvacuationPlanner(setting: mixedHost(room: 12 << 30), budget: 40)
        let plan = try planner.plan()
        var used = [0, 0]
        for (index, destination) in plan.best.schedule.destinations.enumerated() {
            used[destination] += planner.setting.guests[index].config.guestMemoryBytes
        }
        XCTAssertLessThanOrEqual(used.max()!, 12 << 30)
        XCTAssertEqual(used.reduce(0, +), 21 << 30)
    }

    func testNoRoomAndNoGuestsAreClearErrors() {
        XCTAssertThrowsError(try EvacuationPlanner(setting: mixedHost(room: 6 << 30))) { error in
            XCTAssertTrue("\(error)".contains("no destination has room for its 8192 MiB"), "\(error)")
        }
        var empty = mixedHost()
        empty.guests = []
        XCTAssertThrowsError(try EvacuationPlanner(setting: empty)) { error in
            XCTAssertTrue("\(error)".contains("no guests"), "\(error)")
        }
    }

    func testTheBudgetBoundsTheSearchHoweverManyGuests() throws {
        var host = mixedHost(room: 1 << 40)
        host.guests = (0 ..< 40).map { guest("g\($0)", memoryGiB: 1 + $0 % 3, rate: Double($0 % 4) * 5000) }
        let plan = try EvacuationPlanner(setting: host, budget: 10).plan()
        // The budget, and at most four more for the comparisons it left out.
        XCTAssertLessThanOrEqual(plan.schedulesTried, 14)
        XCTAssertTrue(plan.method.contains("of a budget of 10"), plan.method)
        XCTAssertEqual(plan.strategies.count, 5)
        XCTAssertEqual(plan.strategies[1].evaluation.schedule.concurrency, 40, "all at once is all 40")
        XCTAssertEqual(EvacuationPlanner.concurrencyCandidates(upTo: 40), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 24, 36, 40])
        XCTAssertEqual(EvacuationPlanner.concurrencyCandidates(upTo: 3), [1, 2, 3])
    }

    func testOneGuestIsSimulatedOncePerConcurrency() throws {
        var host = mixedHost()
        host.guests = [guest("only", memoryGiB: 1, rate: 0)]
        host.destinations.removeLast()
        let plan = try EvacuationPlanner(setting: host).plan()
        // Five rules give the same order: one schedule, not five.
        XCTAssertEqual(plan.schedulesTried, 1)
    }

    /// Two 10 Gbit/s links behind a NIC that is no bottleneck, every guest starting on the
    /// first: the search moves guests to the second link, and the host empties about twice as
    /// fast as with the placement kept.
    func testTheSearchMovesGuestsToAnotherDestinationWhenThatHelps() throws {
        var host = mixedHost(room: 64 << 30)
        host.uplinkBytesPerSecond = 100 * gigabit
        let allOnFirst = [Int](repeating: 0, count: host.guests.count)
        let kept = try EvacuationPlanner(setting: host, budget: 150, seed: 5, searchesDestinations: false, startingDestinations: allOnFirst).plan()
        let searched = try EvacuationPlanner(setting: host, budget: 150, seed: 5, startingDestinations: allOnFirst).plan()
        XCTAssertEqual(kept.best.schedule.destinations, allOnFirst)
        XCTAssertTrue(searched.best.schedule.destinations.contains(1), "no guest moved to the second link")
        XCTAssertLessThan(searched.best.finishSeconds, 0.75 * kept.best.finishSeconds)
        XCTAssertLessThanOrEqual(searched.best.guestsOverLimit, kept.best.guestsOverLimit)
        XCTAssertTrue(searched.method.contains("moved by the search"), searched.method)
        // Room is respected: a placement over a destination's memory is refused.
        XCTAssertThrowsError(try EvacuationPlanner(setting: mixedHost(room: 12 << 30), startingDestinations: allOnFirst)) { error in
            XCTAssertTrue("\(error)".contains("x would hold 21504 MiB, over its 12288 MiB"), "\(error)")
        }
    }
}
