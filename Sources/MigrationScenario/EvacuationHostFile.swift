import Foundation
import MigrationCore
import MigrationSimulation

/// A host file (`livemig plan evacuate HOST.yaml`, schema in `docs/evacuation-format.md`): the
/// source host, its destinations, the downtime limit, and the guests to move, each a scenario
/// file, inline scenario keys, or both (inline keys over the file's), with a count for a
/// template. Unknown keys and bad values are refused with the file and the key named.
public struct EvacuationHostFile: Sendable {
    public var name: String
    public var summary: String?
    public var setting: EvacuationSetting
    /// Each destination's relocation address (`HOST:PORT`), for `--execute`.
    public var addresses: [String?]
    /// The evacuation should end by then, if the file sets a goal (`limits.finishBy`).
    public var finishBySeconds: Double?
    public var fidelity: Fidelity
    /// The most migrations at once the planner may choose (`plan.maxConcurrent`).
    public var maxConcurrent: Int?
    /// Schedules the planner may simulate (`plan.budget`).
    public var budget: Int
    public var seed: UInt64

    static let cores = InputBound("source.migrationCores", .count, from: "1", to: "4096")
    static let count = InputBound("count", .count, from: "1", to: "10000")
    /// The ranges of `plan.budget` and `plan.maxConcurrent` (and of the options that override them).
    public static let budgetRange = (from: "1", to: "1000000"), concurrentRange = (from: "1", to: "10000")
    static let budgetBound = InputBound("plan.budget", .count, from: budgetRange.from, to: budgetRange.to)
    static let concurrentBound = InputBound("plan.maxConcurrent", .count, from: concurrentRange.from, to: concurrentRange.to)
    static let memory = InputBound("memory", .bytes, from: "1", to: "1024TiB")
    /// Scenario sections a guest entry may set inline.
    /// (`simulation` is the plan's and `link` the destination's: a file's are dropped, and
    /// inline only `link.batchOverhead` is taken.)
    static let scenarioSections = ["guest", "workload", "policy", "migration", "source", "link"]

    public static func load(path: String) throws(ScenarioError) -> EvacuationHostFile {
        let document = try ScenarioLoader.mapping(path: path)
        let parent = (path as NSString).deletingLastPathComponent
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try read(document, file: path, defaultName: name, baseDirectory: parent.isEmpty ? "." : parent)
    }

    public static func read(_ document: [String: Any], file: String, defaultName: String,
                            baseDirectory: String) throws(ScenarioError) -> EvacuationHostFile {
        var top = try ScenarioSection(file: file, path: "", value: document)
        let name = top.text("name") ?? defaultName
        let summary = top.text("description")
        let seed = try top.seed() ?? 1

        let bandwidthText = "a bandwidth such as 10Gbit/s"
        var source = try top.section("source")
        _ = source.text("name")
        guard let uplink = try source.positive("uplink", expected: bandwidthText, within: ScenarioBounds.bandwidth, Quantities.bytesPerSecond) else {
            throw source.error("uplink", "is required: the source NIC's bandwidth (e.g. uplink: 10Gbit/s)")
        }
        let cores = try source.wholeNumber("migrationCores", within: cores) ?? 4
        // One core moving pages for one migration: 16 Gbit/s is a memcpy-bound sender with no
        // encryption; TLS halves it or worse.
        let coreRate = try source.positive("coreRate", expected: bandwidthText, within: ScenarioBounds.bandwidth, Quantities.bytesPerSecond) ?? 2e9
        try source.rejectUnknownKeys()

        var destinations: [EvacuationSetting.Destination] = []
        var addresses: [String?] = []
        guard let list = top.raw("destinations") as? [Any], !list.isEmpty else {
            throw top.error("destinations", "is required: a list of {name, bandwidth, memory} (at least one)")
        }
        for (index, item) in list.enumerated() {
            var entry = try ScenarioSection(file: file, path: "destinations[\(index)]", value: item)
            let destinationName = entry.text("name") ?? "destination-\(index + 1)"
            guard !destinations.contains(where: { $0.name == destinationName }) else {
                throw entry.error("name", "'\(destinationName)' is named twice")
            }
            guard let bandwidth = try entry.positive("bandwidth", expected: bandwidthText, within: ScenarioBounds.bandwidth,
                                                     Quantities.bytesPerSecond) else {
                throw entry.error("bandwidth", "is required: the link from the source to it")
            }
            let latency = try entry.nonNegative("latency", expected: "a duration such as 0.1ms", within: ScenarioBounds.duration,
                                                Quantities.seconds) ?? 0.0002
            guard let memory = try entry.positive("memory", expected: "a size such as 256GiB", within: Self.memory, Quantities.bytes) else {
                throw entry.error("memory", "is required: the guest memory it can take")
            }
            addresses.append(entry.text("address"))
            try entry.rejectUnknownKeys()
            destinations.append(EvacuationSetting.Destination(
                name: destinationName, bandwidthBytesPerSecond: bandwidth, latencySeconds: latency,
                memoryBytes: try entry.whole("memory", memory, unit: "bytes")))
        }

        var limits = try top.section("limits")
        guard let downtime = try limits.positive("downtime", expected: "a duration such as 300ms", within: ScenarioBounds.duration,
                                                 Quantities.seconds) else {
            throw limits.error("downtime", "is required: the longest pause any guest may have (e.g. downtime: 300ms)")
        }
        let finishBy = try limits.positive("finishBy", expected: "a duration such as 10min", within: ScenarioBounds.duration, Quantities.seconds)
        try limits.rejectUnknownKeys()

        var plan = try top.section("plan")
        let fidelity = try plan.choice("fidelity", of: Fidelity.self) ?? .fluid
        let maxConcurrent = try plan.wholeNumber("maxConcurrent", within: concurrentBound)
        let budget = try plan.wholeNumber("budget", within: budgetBound) ?? 600
        let maxSeconds = try plan.positive("maxSeconds", expected: "a duration such as 1h", within: ScenarioBounds.duration,
                                           Quantities.seconds) ?? 86_400
        try plan.rejectUnknownKeys()

        guard let guestList = top.raw("guests") as? [Any], !guestList.isEmpty else {
            throw top.error("guests", "is required: a list of guests (each a scenario file and/or scenario keys, with an optional count)")
        }
        try top.rejectUnknownKeys()

        var guests: [EvacuationSetting.Guest] = []
        var names = Set<String>()
        for (index, item) in guestList.enumerated() {
            let entryPath = "guests[\(index)]"
            let fileGuests = try readGuests(item, path: entryPath, file: file, baseDirectory: baseDirectory,
                                            uplink: uplink, destinations: destinations, seed: seed, firstIndex: guests.count)
            for guest in fileGuests where !names.insert(guest.name).inserted {
                throw ScenarioError("\(file): \(entryPath).name: a guest named '\(guest.name)' is listed twice")
            }
            guests += fileGuests
        }
        let setting = EvacuationSetting(guests: guests, destinations: destinations, uplinkBytesPerSecond: uplink,
                                        migrationCores: cores, coreBytesPerSecond: coreRate, downtimeLimitSeconds: downtime,
                                        maxSimulatedSeconds: maxSeconds)
        return EvacuationHostFile(name: name, summary: summary, setting: setting, addresses: addresses, finishBySeconds: finishBy,
                                  fidelity: fidelity, maxConcurrent: maxConcurrent, budget: budget, seed: seed)
    }

    /// One guest entry: `count` guests named NAME-1 ... (or NAME alone), each read as a
    /// scenario: the named file's document with the entry's scenario keys merged over it.
    private static func readGuests(_ item: Any, path: String, file: String, baseDirectory: String, uplink: Double,
                                   destinations: [EvacuationSetting.Destination], seed: UInt64,
                                   firstIndex: Int) throws(ScenarioError) -> [EvacuationSetting.Guest] {
        var entry = try ScenarioSection(file: file, path: path, value: item)
        let count = try entry.wholeNumber("count", within: count) ?? 1
        var document: [String: Any] = [:]
        var scenarioFile = file
        var scenarioDirectory = baseDirectory
        var defaultName = "guest-\(firstIndex + 1)"
        if let scenarioPath = entry.text("scenario") {
            let resolved = scenarioPath.hasPrefix("/") ? scenarioPath : "\(baseDirectory)/\(scenarioPath)"
            do {
                document = try ScenarioLoader.mapping(path: resolved)
            } catch {
                throw entry.error("scenario", error.description)
            }
            scenarioFile = resolved
            scenarioDirectory = (resolved as NSString).deletingLastPathComponent
            defaultName = ((resolved as NSString).lastPathComponent as NSString).deletingPathExtension
        }
        let baseName = entry.text("name") ?? (document["name"] as? String) ?? defaultName
        var pinned: Int?
        if let destinationName = entry.text("destination") {
            guard let found = destinations.firstIndex(where: { $0.name == destinationName }) else {
                throw entry.error("destination", "'\(destinationName)' is not one of the destinations (\(destinations.map(\.name).joined(separator: ", ")))")
            }
            pinned = found
        }
        for section in scenarioSections {
            guard let inline = entry.raw(section) else { continue }
            guard let mapping = inline as? [String: Any] else { throw entry.error(section, "must be a mapping of scenario keys") }
            if section == "link", let other = mapping.keys.sorted().first(where: { $0 != "batchOverhead" }) {
                throw entry.error("link.\(other)", "the link is the destination's (destinations[]); a guest may set only link.batchOverhead")
            }
            document[section] = merged(mapping, over: document[section] as? [String: Any] ?? [:])
        }
        try entry.rejectUnknownKeys()
        // The link is the destination's; the scenario reader still wants a bandwidth.
        var link = document["link"] as? [String: Any] ?? [:]
        link.removeValue(forKey: "profile")
        link.removeValue(forKey: "failAt")
        link["bandwidth"] = "\(uplink)B/s"
        document["link"] = link
        document.removeValue(forKey: "name")
        document.removeValue(forKey: "description")

        var guests: [EvacuationSetting.Guest] = []
        for number in 1 ... count {
            let guestName = count == 1 ? baseName : "\(baseName)-\(number)"
            // Each guest its own stream of writes and draws, from the host file's seed.
            let guestSeed = SplitMix64.mix(seed &+ UInt64(firstIndex + number - 1))
            document["seed"] = guestSeed
            let scenario = try ScenarioLoader.read(document: document, file: "\(scenarioFile) (as \(file) \(path))",
                                                   defaultName: guestName, baseDirectory: scenarioDirectory, drawSeed: guestSeed)
            guests.append(EvacuationSetting.Guest(name: guestName, config: scenario.config, pinnedDestination: pinned))
        }
        return guests
    }

    /// `top` with `base`'s keys filled in where `top` has none; mappings merge key by key.
    private static func merged(_ top: [String: Any], over base: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in top {
            if let inner = value as? [String: Any], let under = base[key] as? [String: Any] {
                result[key] = merged(inner, over: under)
            } else {
                result[key] = value
            }
        }
        return result
    }
}
