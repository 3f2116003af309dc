import Foundation
import MigrationCore
import MigrationSimulation

/// Reads scenario files (YAML, schema in `docs/scenario-format.md`) into simulation settings.
/// Unknown keys and bad values are rejected with the file, the key and the problem named.
public enum ScenarioLoader {
    /// A scenario file's text, read within the size bound (for parsing it many times).
    public static func readText(path: String) throws(ScenarioError) -> String {
        try BoundedYAML.read(path: path)
    }

    /// Loads a scenario file, applying `key=value` overrides (`link.bandwidth=10Gbit/s`).
    public static func load(path: String, overrides: [String] = [], drawSeed: UInt64? = nil) throws(ScenarioError) -> Scenario {
        let text = try BoundedYAML.read(path: path)
        let parent = (path as NSString).deletingLastPathComponent
        let directory = parent.isEmpty ? "." : parent
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try parse(yaml: text, file: path, defaultName: name, baseDirectory: directory, overrides: overrides, drawSeed: drawSeed)
    }

    /// Parses scenario text; `file` names it in errors, `baseDirectory` anchors relative paths.
    /// Values that are distributions (`ScenarioDistribution`) are drawn with `drawSeed`, or
    /// with the scenario's own seed when nil (a sweep passes each run's seed); with
    /// `centreDraws`, each takes its centre (how a sweep checks its points before it runs).
    public static func parse(yaml: String, file: String, defaultName: String, baseDirectory: String = ".",
                             overrides: [String] = [], drawSeed: UInt64? = nil, centreDraws: Bool = false) throws(ScenarioError) -> Scenario {
        try parse(document: ScenarioDocument(yaml: yaml, file: file), file: file, defaultName: defaultName, baseDirectory: baseDirectory,
                  overrides: overrides, drawSeed: drawSeed, centreDraws: centreDraws)
    }

    /// `parse(yaml:...)` on text already parsed: a sweep parses its scenario's YAML once and
    /// reads it again for every run's overrides and draws.
    public static func parse(document parsed: ScenarioDocument, file: String, defaultName: String, baseDirectory: String = ".",
                             overrides: [String] = [], drawSeed: UInt64? = nil, centreDraws: Bool = false) throws(ScenarioError) -> Scenario {
        var document = parsed.mapping
        for override in overrides { try apply(override: override, to: &document, file: file) }
        return try read(document: document, file: file, defaultName: defaultName, baseDirectory: baseDirectory,
                        drawSeed: drawSeed, centreDraws: centreDraws)
    }

    /// Reads a scenario document already parsed (a host file's guest entry, merged over the
    /// scenario file it names); draws its distributions as `parse` does.
    public static func read(document: [String: Any], file: String, defaultName: String, baseDirectory: String = ".",
                            drawSeed: UInt64? = nil, centreDraws: Bool = false) throws(ScenarioError) -> Scenario {
        var document = document
        let drawn = try ScenarioDraws.draw(in: &document, file: file, baseDirectory: baseDirectory, seed: drawSeed, centre: centreDraws)
        var reader = ScenarioReader(file: file, baseDirectory: baseDirectory)
        var scenario = try reader.read(document, defaultName: defaultName)
        scenario.drawnValues = drawn
        return scenario
    }

    /// A YAML file's top-level mapping, read within the size bound.
    public static func mapping(path: String) throws(ScenarioError) -> [String: Any] {
        try mapping(yaml: BoundedYAML.read(path: path), file: path)
    }

    static func mapping(yaml: String, file: String) throws(ScenarioError) -> [String: Any] {
        let loaded = try BoundedYAML.load(yaml, source: file) { problem throws(ScenarioError) in
            throw ScenarioError("\(file): not valid YAML: \(problem)")
        }
        switch loaded {
        case nil: return [:]
        case let mapping as [String: Any]: return mapping
        default: throw ScenarioError("\(file): the file must be a mapping of keys to values")
        }
    }

    /// Sets `a.b.c=value` in the document; the value is read as YAML (`3`, `true`, `1Gbit/s`).
    static func apply(override: String, to document: inout [String: Any], file: String) throws(ScenarioError) {
        guard let equals = override.firstIndex(of: "=") else {
            throw ScenarioError("--set \(override): expected key=value, e.g. link.bandwidth=10Gbit/s")
        }
        let keys = override[..<equals].split(separator: ".").map(String.init)
        let text = String(override[override.index(after: equals)...])
        guard !keys.isEmpty, keys.allSatisfy({ !$0.isEmpty }) else {
            throw ScenarioError("--set \(override): the key is empty")
        }
        let value = try BoundedYAML.load(text, source: "--set \(override)") { _ in text } ?? text
        try set(value, at: keys[...], in: &document, full: override)
    }

    private static func set(_ value: Any, at keys: ArraySlice<String>, in mapping: inout [String: Any], full: String) throws(ScenarioError) {
        let key = keys.first!
        if keys.count == 1 {
            mapping[key] = value
            return
        }
        var child: [String: Any]
        switch mapping[key] {
        case nil: child = [:]
        case let existing as [String: Any]: child = existing
        default: throw ScenarioError("--set \(full): '\(key)' is not a mapping in the scenario")
        }
        try set(value, at: keys.dropFirst(), in: &child, full: full)
        mapping[key] = child
    }
}

/// A scenario file's YAML, parsed once into Swift values (dictionaries, arrays, strings,
/// numbers) and never changed after: each reading copies the mapping before it applies
/// overrides and draws, so one document may be read from many threads at once (hence
/// `@unchecked Sendable`: `Any` hides that the values are immutable value types).
public struct ScenarioDocument: @unchecked Sendable {
    let mapping: [String: Any]

    public init(yaml: String, file: String) throws(ScenarioError) {
        mapping = try ScenarioLoader.mapping(yaml: yaml, file: file)
    }
}
