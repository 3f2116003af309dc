import Foundation
import Yams

/// YAML read with limits, because Yams has none: its composer recurses once per nesting level
/// (10,000 levels overflowed the stack) and its constructor copies an alias's node at every use
/// (a 1 KB "billion laughs" file of nested aliases grew until the allocator failed). The text is
/// at most `maxBytes`; its nesting is estimated before Yams sees it; the composed node tree (in
/// which aliases still share their node) is walked with a budget of depth and nodes, aliases
/// counted as expanded, before anything is built from it. Every error names the source and the
/// limit. Limits: docs/scenario-format.md.
enum BoundedYAML {
    static let maxBytes = 1 << 20
    static let maxDepth = 64
    /// Values (scalars and collections) after aliases are expanded; a scenario has about 50.
    static let maxNodes = 100_000

    /// The text of the file at `path`, refusing one larger than `maxBytes` before reading it
    /// whole (a FIFO or /dev/zero is cut off at the limit, not read for ever).
    static func read(path: String) throws(ScenarioError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ScenarioError("\(path): cannot read the scenario file (\(String(cString: strerror(errno))))")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw ScenarioError("\(path): cannot read the scenario file (\(error.localizedDescription))")
        }
        guard data.count <= maxBytes else { throw ScenarioError("\(path): larger than the limit of \(maxBytes) bytes (1 MiB)") }
        guard let text = String(data: data, encoding: .utf8) else { throw ScenarioError("\(path): not UTF-8 text") }
        return text
    }

    /// The document in `text` as Yams builds it (`[String: Any]`, `[Any]`, scalars), or nil
    /// for an empty document, once it has passed every limit. Text that is not YAML gives
    /// `invalid` (a `--set` value then stands for itself), a limit exceeded gives its error.
    static func load(_ text: String, source: String, invalid: (String) throws(ScenarioError) -> Any?) throws(ScenarioError) -> Any? {
        guard text.utf8.count <= maxBytes else { throw ScenarioError("\(source): larger than the limit of \(maxBytes) bytes (1 MiB)") }
        let estimate = YAMLNestingEstimate.levels(in: text)
        guard estimate <= maxDepth else {
            throw ScenarioError("\(source): nested deeper than the limit of \(maxDepth) levels")
        }
        let composed: Node?
        do {
            composed = try compose(text)
        } catch {
            return try invalid(error.description)
        }
        guard let node = composed else { return nil }
        var budget = maxNodes
        try check(node, depth: 1, budget: &budget, source: source)
        return constructor.any(from: node)
    }

    /// Yams' constructor, except for YAML 1.1's base-60 integers (`1:30:00`): Yams multiplies
    /// their digits without an overflow check and traps on a long one (found by scripts/fuzz).
    /// Such a scalar stays text here, which every scenario key then refuses with its own error.
    private static var constructor: Constructor {
        var scalars = Constructor.defaultScalarMap
        let integer = scalars[.int]
        scalars[.int] = { scalar in scalar.string.contains(":") ? scalar.string : integer?(scalar) }
        return Constructor(scalars)
    }

    /// Yams' composer on a thread with a stack for `levelsBound` levels, the most the text can
    /// nest (one indicator character per collection): so that a text the estimate got wrong
    /// does not overflow a stack either. The stack is reserved, not touched, beyond the depth
    /// reached; it is capped at 1 GiB (262,144 levels), which only a text that both misleads
    /// the estimate and nests deeper than that could exceed.
    ///
    /// A text that cannot nest deeper than `inlineLevels` (every `--set` value, most scenario
    /// files) is composed on the caller's thread: its stack holds that many levels, and a sweep
    /// reading its overrides for every run spawns no thread per value.
    ///
    /// After the 60 s timeout the composing thread cannot be stopped (Yams has no cancel); it
    /// ends when its bounded text is done, or with the process, which for the commands that read
    /// YAML (all of them short-lived) follows the error at once.
    private static func compose(_ text: String) throws(ScenarioError) -> Node? {
        let levelsBound = YAMLNestingEstimate.indicatorCount(in: text) + 1
        if levelsBound <= inlineLevels {
            do {
                return try Yams.compose(yaml: text, .default, constructor)
            } catch {
                throw ScenarioError("\(error)")
            }
        }
        final class Outcome: @unchecked Sendable { var node: Node?; var error: String? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            do {
                // The constructor goes into every node's tag: nested values are built with it too.
                outcome.node = try Yams.compose(yaml: text, .default, constructor)
            } catch {
                outcome.error = "\(error)"
            }
            done.signal()
        }
        thread.stackSize = min(1 << 30, (1 << 20) + levelsBound * stackBytesPerLevel)
        thread.start()
        // The text is at most 1 MiB, so composing it is quick; a minute means something is wrong.
        guard done.wait(timeout: .now() + .seconds(60)) == .success else {
            throw ScenarioError("composing the YAML took more than 60 s")
        }
        if let error = outcome.error { throw ScenarioError(error) }
        return outcome.node
    }

    /// Nesting composed on the caller's thread: 64 levels of `stackBytesPerLevel` are 256 KiB,
    /// within the 512 KiB the smallest thread stack here (a secondary thread's default) has.
    static let inlineLevels = 64

    /// Stack one nesting level takes in Yams' composer (loadNode + loadSequence/loadMapping),
    /// with a wide margin over what a debug build uses.
    static let stackBytesPerLevel = 4096

    /// Walks the composed tree, aliases as the constructor will expand them, within the limits.
    private static func check(_ node: Node, depth: Int, budget: inout Int, source: String) throws(ScenarioError) {
        budget -= 1
        guard budget >= 0 else {
            throw ScenarioError("\(source): more than the limit of \(maxNodes) values (aliases counted as expanded)")
        }
        guard depth <= maxDepth else {
            throw ScenarioError("\(source): nested deeper than the limit of \(maxDepth) levels")
        }
        switch node {
        case .scalar: break
        case .sequence(let sequence):
            for child in sequence { try check(child, depth: depth + 1, budget: &budget, source: source) }
        case .mapping(let mapping):
            for (key, value) in mapping {
                // Yams' constructor traps on a key that is a list or a mapping (`? [a, b]`,
                // found by scripts/fuzz); scenario keys are names, so refuse it here.
                guard case .scalar = key else {
                    let line = key.mark.map { " (line \($0.line))" } ?? ""
                    throw ScenarioError("\(source): a key that is a list or a mapping\(line); keys are names")
                }
                try check(key, depth: depth + 1, budget: &budget, source: source)
                try check(value, depth: depth + 1, budget: &budget, source: source)
            }
        }
    }
}
