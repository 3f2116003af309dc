import DirtyTraceFormat
import Foundation
import MigrationCore
import Synchronization

/// The samples behind `empirical(file: PATH)`: a measured sample kept in a file instead of
/// written out. The file is either a list of values, one per line (a number with an optional
/// unit, every line the same unit; `#` starts a comment), or a dirty-page trace written by
/// `livemig observe` (docs/trace-format.md), whose samples are its intervals' dirty rates in
/// pages per second: so a workload's rate can be drawn from what the guest really did.
/// Files are read once per process (a sweep draws from them in every run); lines may end in
/// LF or CRLF.
enum EmpiricalSamples {
    /// The largest samples file read: a trace of 10,000,000 records fits.
    static let maxBytes = 512 << 20

    private static let cache = Mutex<[String: (values: [Double], unit: String)]>([:])

    /// The samples in `path` (relative to `baseDirectory`) and their unit.
    static func load(_ path: String, baseDirectory: String, key: String) throws(ScenarioError) -> (values: [Double], unit: String) {
        let resolved = path.hasPrefix("/") ? path : "\(baseDirectory)/\(path)"
        if let cached = cache.withLock({ $0[resolved] }) { return cached }
        let text: String
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: resolved)
            let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            guard size <= maxBytes else {
                throw ScenarioError("\(key): empirical(file: \(path)): \(size) bytes is over the limit of \(maxBytes >> 20) MiB")
            }
            text = try String(contentsOfFile: resolved, encoding: .utf8)
        } catch let error as ScenarioError {
            throw error
        } catch {
            throw ScenarioError("\(key): empirical(file: \(path)): cannot read \(resolved): \(error.localizedDescription)")
        }
        let samples = try parse(text, path: path, key: key)
        guard !samples.values.isEmpty else { throw ScenarioError("\(key): empirical(file: \(path)): the file holds no samples") }
        cache.withLock { $0[resolved] = samples }
        return samples
    }

    static func parse(_ text: String, path: String, key: String) throws(ScenarioError) -> (values: [Double], unit: String) {
        // Lines without comments or surrounding blanks, each with its number, split once.
        var lines: [(number: Int, text: String)] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = (raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces)
            if !line.isEmpty { lines.append((index + 1, line)) }
        }
        if lines.first?.text == "livemig-trace 1" {
            let trace: DirtyTrace
            do {
                trace = try DirtyTrace.parse(text, source: path)
            } catch {
                throw ScenarioError("\(key): empirical(file: \(path)): \(error.description)")
            }
            var previous = 0.0
            var rates: [Double] = []
            for record in trace.records {
                let interval = record.timeSeconds - previous
                previous = record.timeSeconds
                // A read at the same instant as the one before it says nothing about a rate.
                if interval > 0 { rates.append(Double(Set(record.pages).count) / interval) }
            }
            return (rates, "")
        }
        guard lines.count <= 10_000_000 else { throw ScenarioError("\(key): empirical(file: \(path)): more than 10,000,000 values") }
        do {
            return try NumberWithUnit.splitSharingOneUnit(lines.map(\.text))
        } catch {
            switch error {
            case .notANumber(let index):
                throw ScenarioError("\(key): empirical(file: \(path)): line \(lines[index].number): '\(lines[index].text)' is not a number with an optional unit")
            case .mixedUnits(let index, let units):
                throw ScenarioError("\(key): empirical(file: \(path)): line \(lines[index].number): every value needs the same unit (\(units.map { "'\($0)'" }.joined(separator: ", ")))")
            }
        }
    }
}
