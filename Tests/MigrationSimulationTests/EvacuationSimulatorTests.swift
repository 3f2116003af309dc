import MigrationCore
import XCTest
@testable import MigrationSimulation

/// Several migrations in one event loop: one guest alone is the single-migration simulator's
/// prediction; guests at once share the link; the schedule's order and concurrency hold.
final class EvacuationSimulatorTests: XCTestCase {
    private let tenGigabit = 1.25e9

    private func guest(_ name: String, memoryGiB: Int, workload: Workload = .idle, seed: UInt64 = 1) -> EvacuationSetting.Guest {
        var config = Fixtures.config(memoryBytes: memoryGiB * Fixtures.gib, workload: workload, bytesPerSecond: tenGigabit,
                                     policy: PolicyConfiguration(name: .qemu), seed: seed)
        config.link = LinkModel(bytesPerSecond: tenGigabit, latencySeconds: 0.0001)
        return EvacuationSetting.Guest(name: name, config: config)
    }

    private func setting(_ guests: [EvacuationSetting.Guest], uplink: Double? = nil) -> EvacuationSetting {
        EvacuationSetting(guests: guests,
                          destinations: [.init(name: "b", bandwidthBytesPerSecond: tenGigabit, latencySeconds: 0.0001, memoryBytes: 1 << 40)],
                          uplinkBytesPerSecond: uplink ?? tenGigabit, migrationCores: 8, coreBytesPerSecond: 1e12,
                          downtimeLimitSeconds: 0.3)
    }

    func testOneGuestAloneIsTheSingleMigrationPrediction() throws {
        for fidelity in Fidelity.allCases {
            let busy = guest("db", memoryGiB: 2, workload: .hotCold(workingSetPages: 65_536, hotPages: 4096,
                                                                     hotRatePagesPerSecond: 20_000, coldRatePagesPerSecond: 500))
            var single = busy.config
            single.fidelity = fidelity
            let alone = try Simulator.run(single).report
            let outcome = try EvacuationSimulator.run(setting([busy]), schedule: EvacuationSchedule(order: [0], concurrency: 1, destinations: [0]),
                                                      fidelity: fidelity)
            let report = try XCTUnwrap(outcome.guests.first).report
            XCTAssertEqual(report.outcome, alone.outcome, "\(fidelity)")
            XCTAssertEqual(report.iterations.count, alone.iterations.count, "\(fidelity)")
            XCTAssertEqual(report.bytesSent, alone.bytesSent, "\(fidelity)")
            XCTAssertEqual(report.totalTimeSeconds, alone.totalTimeSeconds, accuracy: 1e-6 * alone.totalTimeSeconds, "\(fidelity)")
            XCTAssertEqual(report.downtimeSeconds, alone.downtimeSeconds, accuracy: 1e-6, "\(fidelity)")
            XCTAssertEqual(outcome.finishSeconds, report.totalTimeSeconds, accuracy: 1e-9)
        }
    }

    func testGuestsAtOnceShareTheUplink() throws {
        let guests = (0 ..< 4).map { guest("idle-\($0)", memoryGiB: 2, seed: UInt64($0)) }
        let alone = try EvacuationSimulator.run(setting([guests[0]]), schedule: .init(order: [0], concurrency: 1, destinations: [0]),
                                                fidelity: .fluid).finishSeconds
        let together = try EvacuationSimulator.run(setting(guests), schedule: .init(order: [0, 1, 2, 3], concurrency: 4, destinations: [0, 0, 0, 0]),
                                                   fidelity: .fluid)
        XCTAssertEqual(together.guests.count, 4)
        // Four idle guests at once: each gets a quarter of the link, so each takes about four
        // times as long as one alone, and all end at about the same time.
        for moved in together.guests {
            XCTAssertEqual(moved.report.totalTimeSeconds, 4 * alone, accuracy: 0.05 * 4 * alone)
            XCTAssertEqual(moved.startSeconds, 0)
        }
        // Half the uplink: twice as long again.
        let halfLink = try EvacuationSimulator.run(setting(guests, uplink: tenGigabit / 2),
                                                   schedule: .init(order: [0, 1, 2, 3], concurrency: 4, destinations: [0, 0, 0, 0]), fidelity: .fluid)
        XCTAssertEqual(halfLink.finishSeconds, 2 * together.finishSeconds, accuracy: 0.05 * together.finishSeconds)
    }

    func testTheScheduleSaysWhoStartsWhenAndHowManyAtOnce() throws {
        let guests = [guest("a", memoryGiB: 1), guest("b", memoryGiB: 2), guest("c", memoryGiB: 1)]
        let outcome = try EvacuationSimulator.run(setting(guests), schedule: .init(order: [2, 0, 1], concurrency: 1, destinations: [0, 0, 0]),
                                                  fidelity: .fluid)
        let byGuest = Dictionary(uniqueKeysWithValues: outcome.guests.map { ($0.guest, $0) })
        XCTAssertEqual(byGuest[2]!.startSeconds, 0)
        XCTAssertEqual(byGuest[0]!.startSeconds, byGuest[2]!.endSeconds, accuracy: 1e-12)
        XCTAssertEqual(byGuest[1]!.startSeconds, byGuest[0]!.endSeconds, accuracy: 1e-12)
        XCTAssertEqual(outcome.finishSeconds, byGuest[1]!.endSeconds)
        for moved in outcome.guests {
            XCTAssertEqual(moved.report.outcome, .converged)
            let pausedAt = try XCTUnwrap(moved.pausedAtSeconds)
            XCTAssertEqual(moved.endSeconds - pausedAt, moved.report.downtimeSeconds, accuracy: 1e-9)
        }
    }

    func testABadScheduleIsRefusedWithWhatIsWrong() {
        let guests = [guest("a", memoryGiB: 1), guest("b", memoryGiB: 1)]
        XCTAssertThrowsError(try EvacuationSimulator.run(setting(guests), schedule: .init(order: [0, 0], concurrency: 1, destinations: [0, 0]),
                                                         fidelity: .fluid)) { error in
            XCTAssertTrue("\(error)".contains("every guest exactly once"), "\(error)")
        }
        XCTAssertThrowsError(try EvacuationSimulator.run(setting(guests), schedule: .init(order: [0, 1], concurrency: 0, destinations: [0, 0]),
                                                         fidelity: .fluid)) { error in
            XCTAssertTrue("\(error)".contains("concurrency"), "\(error)")
        }
        XCTAssertThrowsError(try EvacuationSimulator.run(setting(guests), schedule: .init(order: [0, 1], concurrency: 1, destinations: [0, 3]),
                                                         fidelity: .fluid)) { error in
            XCTAssertTrue("\(error)".contains("destinations"), "\(error)")
        }
    }

    func testTheTimeLimitCutsMigrationsShortAndNamesTheGuestsThatNeverStarted() throws {
        let guests = (0 ..< 5).map { guest("g\($0)", memoryGiB: 4, seed: UInt64($0)) }
        var limited = setting(guests)
        limited.maxSimulatedSeconds = 5
        // 4 GiB at 10 Gbit/s takes about 3.4 s: the first ends, the second is cut at 5 s.
        let outcome = try EvacuationSimulator.run(limited, schedule: .init(order: [0, 1, 2, 3, 4], concurrency: 1, destinations: [0, 0, 0, 0, 0]),
                                                  fidelity: .fluid)
        XCTAssertEqual(outcome.notStarted, [2, 3, 4])
        XCTAssertEqual(outcome.unfinished, [])
        XCTAssertEqual(outcome.guests.map(\.guest), [0, 1])
        XCTAssertEqual(outcome.guests[0].report.outcome, .converged)
        XCTAssertEqual(outcome.guests[1].report.outcome, .aborted)
        XCTAssertTrue(outcome.guests[1].report.reason.contains("plan.maxSeconds"), outcome.guests[1].report.reason)
        XCTAssertEqual(outcome.guests[1].endSeconds, 5, accuracy: 0.01, "cut short at the limit")
    }

    func testSendersCompeteForTheSourceCores() throws {
        // One sender moves at most 2.5 Gbit/s; four at once on four cores each keep that pace,
        // on two cores they share 5 Gbit/s and take twice as long; the link (10 Gbit/s) is
        // never the bottleneck.
        let guests = (0 ..< 4).map { guest("idle-\($0)", memoryGiB: 1, seed: UInt64($0)) }
        func finish(cores: Int) throws -> Double {
            var host = setting(guests)
            host.migrationCores = cores
            host.coreBytesPerSecond = tenGigabit / 4
            return try EvacuationSimulator.run(host, schedule: .init(order: [0, 1, 2, 3], concurrency: 4, destinations: [0, 0, 0, 0]),
                                               fidelity: .fluid).finishSeconds
        }
        let fourCores = try finish(cores: 4), twoCores = try finish(cores: 2)
        XCTAssertEqual(fourCores, Double(1 << 30) / (tenGigabit / 4), accuracy: 0.1 * fourCores)
        XCTAssertEqual(twoCores, 2 * fourCores, accuracy: 0.1 * fourCores)
    }
}
