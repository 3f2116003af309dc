import Foundation
import MigrationScenario

/// What `simulate` and `sweep` share: a scenario from a file, or the embedded default, with
/// `--set` overrides; and result files written where the user asked.
enum ScenarioFiles {
    /// Loads `path`, or the embedded default (the seed document's guest) when nil.
    static func load(_ path: String?, overrides: [String]) throws(ScenarioError) -> Scenario {
        try Source(path).parse(overrides: overrides)
    }

    /// A scenario's text, read once, to be parsed many times (a sweep draws each run's values).
    struct Source: Sendable {
        let yaml: String
        let file: String
        let name: String
        let directory: String

        init(_ path: String?) throws(ScenarioError) {
            guard let path else {
                (yaml, file, name, directory) = (EmbeddedScenario.yaml, "(embedded \(EmbeddedScenario.name))", EmbeddedScenario.name, ".")
                return
            }
            yaml = try ScenarioLoader.readText(path: path)
            file = path
            name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            let parent = (path as NSString).deletingLastPathComponent
            directory = parent.isEmpty ? "." : parent
        }

        func parse(overrides: [String], drawSeed: UInt64? = nil) throws(ScenarioError) -> Scenario {
            try ScenarioLoader.parse(yaml: yaml, file: file, defaultName: name, baseDirectory: directory, overrides: overrides, drawSeed: drawSeed)
        }
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
