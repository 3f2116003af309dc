import MigrationCore
import MigrationSimulation

/// Replaces every distribution in a scenario document with one draw (Monte Carlo), before the
/// document is read: so any numeric value anywhere (a link profile's step, a policy limit, a
/// working set) may be one, and the reader checks the drawn value as if it had been written.
enum ScenarioDraws {
    /// Draws in key order (sorted), so a seed gives the same values whatever the file's layout;
    /// returns key path -> drawn text.
    /// With `centre`, every distribution takes its centre instead of a draw.
    static func draw(in document: inout [String: Any], file: String, baseDirectory: String = ".", seed: UInt64?,
                     centre: Bool = false) throws(ScenarioError) -> [String: String] {
        var found: [(path: String, distribution: ScenarioDistribution)] = []
        try collect(document, path: "", file: file, baseDirectory: baseDirectory, into: &found)
        guard !found.isEmpty else { return [:] }
        // The draws' seed from the run's, through SplitMix64's finalizer, so that no run's draws share
        // a stream with any run's simulation (a fixed XOR would, for the seed that XOR maps onto).
        let random = GSLRandom(seed: SplitMix64.mix(seed ?? documentSeed(document)))
        var drawn: [String: String] = [:]
        for (path, distribution) in found.sorted(by: { $0.path < $1.path }) {
            let value: String
            do {
                value = centre ? distribution.centre : try distribution.draw(random)
            } catch {
                throw ScenarioError("\(file): \(path): \(error.description)")
            }
            drawn[path] = value
            replace(at: path.split(separator: ".").map(String.init)[...], with: value, in: &document)
        }
        return drawn
    }

    /// The document's `seed` if it is a whole number, else the default 1 (the reader reports a
    /// bad seed itself).
    private static func documentSeed(_ document: [String: Any]) -> UInt64 {
        switch document["seed"] {
        case let value as Int where value >= 0: UInt64(value)
        case let value as UInt64: value
        case let text as String: UInt64(text) ?? 1
        default: 1
        }
    }

    private static func collect(_ value: Any, path: String, file: String, baseDirectory: String,
                                into found: inout [(path: String, distribution: ScenarioDistribution)]) throws(ScenarioError) {
        switch value {
        case let mapping as [String: Any]:
            for (key, child) in mapping { try collect(child, path: path.isEmpty ? key : "\(path).\(key)", file: file, baseDirectory: baseDirectory, into: &found) }
        case let list as [Any]:
            for (index, child) in list.enumerated() { try collect(child, path: "\(path).\(index)", file: file, baseDirectory: baseDirectory, into: &found) }
        case let text as String:
            // Text keys are never numbers: a name or description may hold "uniform(...)".
            let last = path.split(separator: ".").last.map(String.init) ?? path
            guard !["name", "description", "file"].contains(last) else { return }
            do {
                if let distribution = try ScenarioDistribution.parse(text, key: path, baseDirectory: baseDirectory) { found.append((path, distribution)) }
            } catch {
                throw ScenarioError("\(file): \(error.description)")
            }
        default:
            break
        }
    }

    /// Sets the value at a key path (list elements by index).
    private static func replace(at keys: ArraySlice<String>, with value: String, in mapping: inout [String: Any]) {
        guard let key = keys.first else { return }
        if keys.count == 1 {
            mapping[key] = value
            return
        }
        if var child = mapping[key] as? [String: Any] {
            replace(at: keys.dropFirst(), with: value, in: &child)
            mapping[key] = child
        } else if var list = mapping[key] as? [Any] {
            replace(at: keys.dropFirst(), with: value, in: &list)
            mapping[key] = list
        }
    }

    private static func replace(at keys: ArraySlice<String>, with value: String, in list: inout [Any]) {
        guard let first = keys.first, let index = Int(first), list.indices.contains(index) else { return }
        if keys.count == 1 {
            list[index] = value
        } else if var child = list[index] as? [String: Any] {
            replace(at: keys.dropFirst(), with: value, in: &child)
            list[index] = child
        } else if var child = list[index] as? [Any] {
            replace(at: keys.dropFirst(), with: value, in: &child)
            list[index] = child
        }
    }
}
