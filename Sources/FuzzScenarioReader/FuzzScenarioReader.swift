import FuzzingSupport
import MigrationScenario

/// Fuzz target: arbitrary bytes as a scenario file (YAML through Yams, then the scenario
/// reader's checks of every key). Bad input must give a ScenarioError naming the problem,
/// never a trap, hang or unbounded allocation (deep nesting, alias bombs).
func fuzzOne(_ bytes: [UInt8]) {
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    _ = try? ScenarioLoader.parse(yaml: text, file: "fuzz.yaml", defaultName: "fuzz", baseDirectory: "/nonexistent")
}

@main
enum FuzzScenarioReaderMain {
    static func main() { FuzzMain.run(fuzzOne) }
}
