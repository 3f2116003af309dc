import Foundation
import MigrationCore
import MigrationScenario
import MigrationSimulation
import MigrationSweep

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
        /// The YAML parsed once; every run reads it again with its own overrides and draws.
        let document: ScenarioDocument

        init(_ path: String?) throws(ScenarioError) {
            guard let path else {
                (yaml, file, name, directory) = (EmbeddedScenario.yaml, "(embedded \(EmbeddedScenario.name))", EmbeddedScenario.name, ".")
                document = try ScenarioDocument(yaml: yaml, file: file)
                return
            }
            yaml = try ScenarioLoader.readText(path: path)
            file = path
            name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            let parent = (path as NSString).deletingLastPathComponent
            directory = parent.isEmpty ? "." : parent
            document = try ScenarioDocument(yaml: yaml, file: file)
        }

        /// The source at `path` (or the embedded default), its error as a `HostFailure`.
        static func open(_ path: String?) throws(HostFailure) -> Source {
            do {
                return try Source(path)
            } catch {
                throw HostFailure(error.description)
            }
        }

        /// FNV-1a of the text and the overrides, in hex: what a sweep part was computed from.
        func fingerprint(overrides: [String]) -> String {
            String(FNV1a.hash(Array(yaml.utf8) + [0] + overrides.flatMap { Array($0.utf8) + [0] }), radix: 16)
        }

        func parse(overrides: [String], drawSeed: UInt64? = nil, centreDraws: Bool = false) throws(ScenarioError) -> Scenario {
            try ScenarioLoader.parse(document: document, file: file, defaultName: name, baseDirectory: directory, overrides: overrides,
                                     drawSeed: drawSeed, centreDraws: centreDraws)
        }

        /// The scenario with `overrides`, checked, its distributions at their centre: how a
        /// sweep or a tuning checks each point before it runs (a run whose own draw the
        /// scenario refuses then fails alone). Errors name the point's overrides.
        func checked(_ overrides: [String], point: [String]) throws(HostFailure) -> Scenario {
            do {
                let scenario = try parse(overrides: overrides + point, centreDraws: true)
                try scenario.config.validate()
                return scenario
            } catch let error as ScenarioError {
                throw HostFailure(point.isEmpty ? error.description : "\(point.joined(separator: " ")): \(error.description)")
            } catch {
                throw HostFailure("\(point.joined(separator: " ")): \(error)")
            }
        }

        /// Run `seed`'s scenario: its own draws, its seed (a sweep's Monte Carlo runs).
        func drawn(_ overrides: [String], seed: UInt64) throws(HostFailure) -> SweepInput {
            do {
                let scenario = try parse(overrides: overrides, drawSeed: seed)
                var config = scenario.config
                config.seed = seed
                return SweepInput(config: config, draws: scenario.drawnValues)
            } catch {
                throw HostFailure(error.description)
            }
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
