import MigrationCore
import MigrationScenario

/// What a scenario (`migrate --scenario FILE`) and `--set KEY=VALUE` say about the migration to
/// run, read by the scenario reader itself, so that the keys, units and ranges are the ones a
/// prediction of the same scenario uses: the policy with all its settings, the cap, and whether
/// it is live.
struct MigrationSettingsFromScenario {
    var policy: PolicyConfiguration
    var rateLimitBytesPerSecond: Double?
    /// Whether the migration is live, when the scenario or a `--set migration.live` said so.
    var live: Bool?
    /// Whether the cap also paces the paused round, when the scenario or a `--set` said so.
    var capsPausedRound: Bool?
    /// The connections carrying the pages (`migration.streams`), when more than one.
    var streams: Int?
    /// "zstd" or "auto" when the scenario compresses page data (`migration.compression`).
    var compression: String?
    /// Post-copy (`migration.postcopy`, `migration.postcopyAfter`), when the scenario asks for it.
    var postcopy: PostcopySwitch?

    /// The settings without a scenario file: only the `--set` keys, over xen4's defaults.
    static let baseYAML = """
        guest: {memory: 1GiB}
        link: {bandwidth: 10Gbit/s}
        policy: {name: xen4}
        """

    /// Nil when neither a scenario nor a `--set` was given.
    static func read(scenario: String?, sets: [String]) throws(HostFailure) -> MigrationSettingsFromScenario? {
        guard scenario != nil || !sets.isEmpty else { return nil }
        let parsed: Scenario
        do {
            parsed = if let scenario {
                try ScenarioFiles.load(absolutePath(scenario), overrides: sets)
            } else {
                try ScenarioLoader.parse(yaml: baseYAML, file: "--set", defaultName: "migration", overrides: sets, centreDraws: true)
            }
        } catch {
            throw HostFailure(error.description)
        }
        let saysLive = scenario != nil || sets.contains { $0.hasPrefix("migration.live=") }
        let saysCap = scenario != nil || sets.contains { $0.hasPrefix("migration.capPausedRound=") }
        return MigrationSettingsFromScenario(policy: parsed.config.policy, rateLimitBytesPerSecond: parsed.config.engine.rateLimitBytesPerSecond,
                                             live: saysLive ? parsed.config.engine.live : nil,
                                             capsPausedRound: saysCap ? parsed.config.engine.capsPausedRound : nil,
                                             streams: parsed.config.streams > 1 ? parsed.config.streams : nil,
                                             compression: parsed.config.sendsDeltas ? "xbzrle"
                                                 : ["zstd": PageCompression.always, "auto": .auto].first { $0.value == parsed.config.engine.compression }?.key,
                                             postcopy: parsed.config.engine.postcopy == .never ? nil : parsed.config.engine.postcopy)
    }
}

/// A duration option written with a unit (`300ms`, `1.5s`, `5min`) or as a bare number in the
/// option's old unit, so that scripts written for the bare form keep working.
enum DurationOption {
    enum BareUnit { case milliseconds, seconds }

    static func seconds(_ text: String, bareUnit: BareUnit, bound: InputBound) throws(InputBoundError) -> Double {
        if let bare = Double(text) {
            return try bound.check(bareUnit == .milliseconds ? bare / 1000 : bare,
                                   written: "\(text) \(bareUnit == .milliseconds ? "ms" : "s")")
        }
        guard let seconds = Quantities.seconds(text) else {
            throw InputBoundError("\(bound.name) \(text): not a duration such as 300ms or 2s; allowed \(bound.allowed)")
        }
        return try bound.check(seconds, written: text)
    }
}
