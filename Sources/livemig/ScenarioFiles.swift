import Foundation
import MigrationScenario

/// What `simulate` and `sweep` share: a scenario from a file, or the embedded default, with
/// `--set` overrides; and result files written where the user asked.
enum ScenarioFiles {
    /// Loads `path`, or the embedded default (the seed document's guest) when nil.
    static func load(_ path: String?, overrides: [String]) throws(ScenarioError) -> Scenario {
        if let path { return try ScenarioLoader.load(path: path, overrides: overrides) }
        return try ScenarioLoader.parse(yaml: EmbeddedScenario.yaml, file: "(embedded \(EmbeddedScenario.name))",
                                        defaultName: EmbeddedScenario.name, overrides: overrides)
    }

    /// Writes `text` to `path`, making its directory; an error names the option and the path.
    static func write(_ text: String, to path: String, option: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw failure("\(option): cannot write \(path): \(error.localizedDescription)")
        }
    }
}
