import Foundation
import MigrationScenario
import MigrationSimulation
import XCTest

/// Host files: guests from scenario files, inline keys and counts; every bad input refused with
/// the file and the key named.
final class EvacuationHostFileTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("livemig-hostfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try """
        name: web
        guest: { memory: 4GiB }
        workload: { kind: uniform, workingSet: 1GiB, rate: 1000 }
        link: { bandwidth: 1Gbit/s, failAt: 3s }
        policy: { name: xen4 }
        """.write(to: directory.appendingPathComponent("web.yaml"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func load(_ text: String) throws -> EvacuationHostFile {
        let path = directory.appendingPathComponent("host.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try EvacuationHostFile.load(path: path)
    }

    private let header = """
    source: { uplink: 10Gbit/s, migrationCores: 2, coreRate: 4Gbit/s }
    destinations:
      - { name: b, bandwidth: 10Gbit/s, memory: 64GiB, address: 127.0.0.1:7001 }
      - { name: c, bandwidth: 5Gbit/s, memory: 16GiB }
    limits: { downtime: 200ms, finishBy: 5min }

    """

    func testGuestsComeFromScenarioFilesInlineKeysAndCounts() throws {
        let host = try load(header + """
        guests:
          - { scenario: web.yaml, count: 3 }
          - name: db
            scenario: web.yaml
            guest: { memory: 8GiB }
            workload: { rate: 5000 }
            destination: c
          - { name: spare, guest: { memory: 1GiB } }
        """)
        let setting = host.setting
        XCTAssertEqual(setting.guests.map(\.name), ["web-1", "web-2", "web-3", "db", "spare"])
        XCTAssertEqual(setting.uplinkBytesPerSecond, 1.25e9)
        XCTAssertEqual(setting.migrationCores, 2)
        XCTAssertEqual(setting.coreBytesPerSecond, 5e8)
        XCTAssertEqual(setting.downtimeLimitSeconds, 0.2)
        XCTAssertEqual(host.finishBySeconds, 300)
        XCTAssertEqual(host.addresses, ["127.0.0.1:7001", nil])
        XCTAssertEqual(setting.destinations.map(\.memoryBytes), [64 << 30, 16 << 30])
        // Inline keys merge over the file's: the memory and rate change, the working set stays.
        let db = setting.guests[3]
        XCTAssertEqual(db.config.guestMemoryBytes, 8 << 30)
        XCTAssertEqual(db.config.workload, .uniform(workingSetPages: 262_144, ratePagesPerSecond: 5000))
        XCTAssertEqual(db.pinnedDestination, 1)
        XCTAssertEqual(setting.guests[0].config.workload, .uniform(workingSetPages: 262_144, ratePagesPerSecond: 1000))
        // The link is the destination's: the scenario's failure injection does not carry over.
        XCTAssertNil(db.config.linkFailureAtSeconds)
        // Each guest writes its own stream: the copies of a template get different seeds.
        XCTAssertEqual(Set(setting.guests.map(\.config.seed)).count, 5)
        XCTAssertEqual(setting.guests[4].config.workload, .idle)
    }

    func testBadHostFilesAreRefusedNamingTheKey() throws {
        let cases: [(String, String)] = [
            (header + "guests: []", "guests: is required"),
            (header + "guests:\n  - { scenario: missing.yaml }", "guests[0].scenario"),
            (header + "guests:\n  - { scenario: web.yaml, count: 0 }", "guests[0].count"),
            (header + "guests:\n  - { scenario: web.yaml, destination: z }", "'z' is not one of the destinations (b, c)"),
            (header + "guests:\n  - { scenario: web.yaml, colour: red }", "guests[0].colour: unknown key"),
            (header + "guests:\n  - { name: a, guest: { memory: 1GiB } }\n  - { name: a, guest: { memory: 1GiB } }", "'a' is listed twice"),
            (header + "guests:\n  - { guest: { memory: lots } }", "guest.memory"),
            ("destinations: [{ name: b, bandwidth: 1Gbit/s, memory: 1GiB }]\nlimits: { downtime: 1s }\nguests: [{ guest: { memory: 1GiB } }]",
             "source.uplink: is required"),
            ("source: { uplink: 1Gbit/s }\nlimits: { downtime: 1s }\nguests: [{ guest: { memory: 1GiB } }]", "destinations: is required"),
            ("source: { uplink: 1Gbit/s }\ndestinations: [{ name: b, bandwidth: 1Gbit/s, memory: 1GiB }]\nguests: [{ guest: { memory: 1GiB } }]",
             "limits.downtime: is required"),
            (header.replacingOccurrences(of: "migrationCores: 2", with: "migrationCores: 0") + "guests: [{ guest: { memory: 1GiB } }]",
             "source.migrationCores"),
            (header + "plan: { budget: -3 }\nguests: [{ guest: { memory: 1GiB } }]", "plan.budget"),
            (header + "sauce: 1\nguests: [{ guest: { memory: 1GiB } }]", "sauce: unknown key"),
            (header + "guests: [{ guest: { memory: 1GiB }, link: { failAt: 3s } }]", "guests[0].link.failAt: the link is the destination's"),
            (header + "guests: [{ guest: { memory: 1GiB }, seed: 4 }]", "guests[0].seed: unknown key"),
            (header + "guests: [{ guest: { memory: 1GiB }, simulation: { maxSeconds: 1s } }]", "guests[0].simulation: unknown key"),
            (header.replacingOccurrences(of: "memory: 16GiB", with: "memory: 0GiB") + "guests: [{ guest: { memory: 1GiB } }]",
             "destinations[1].memory: must be greater than 0"),
            (header.replacingOccurrences(of: "bandwidth: 5Gbit/s", with: "bandwidth: 5Gbit/s, latency: -1ms") + "guests: [{ guest: { memory: 1GiB } }]",
             "destinations[1].latency"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try load(text), expected) { error in
                XCTAssertTrue("\(error)".contains(expected), "expected '\(expected)' in: \(error)")
                XCTAssertTrue("\(error)".contains("host.yaml"), "the file is named: \(error)")
            }
        }
    }
}
