import MigrationCore

/// What the built-in guest program does, in the simulator's vocabulary: `idle`, `uniform`,
/// `hotCold` and `sequential`, at a paced rate of page writes per second.
///
/// Written on the command line as `KIND[,key=value...]`: `idle`,
/// `uniform,workingSet=64MiB,rate=20000`, `hotCold,workingSet=256MiB,hotSet=16MiB,hotRate=20000,coldRate=500`,
/// `sequential,workingSet=128MiB,rate=50000`.
public struct GuestWorkload: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: UInt64, Sendable, CaseIterable {
        case idle = 0, uniform = 1, hotCold = 2, sequential = 3
        var name: String {
            switch self {
            case .idle: "idle"
            case .uniform: "uniform"
            case .hotCold: "hotCold"
            case .sequential: "sequential"
            }
        }
    }

    public var kind: Kind
    /// Pages the workload writes, from the start of the workload region.
    public var workingSetPages: Int
    /// hotCold: the first `hotPages` of the working set.
    public var hotPages: Int
    /// Writes per second: the whole working set (uniform, sequential) or the hot set (hotCold).
    public var ratePagesPerSecond: Int
    /// hotCold: writes per second over the rest of the working set.
    public var coldRatePagesPerSecond: Int

    public init(kind: Kind, workingSetPages: Int = 0, hotPages: Int = 0, ratePagesPerSecond: Int = 0,
                coldRatePagesPerSecond: Int = 0) {
        self.kind = kind
        self.workingSetPages = workingSetPages
        self.hotPages = hotPages
        self.ratePagesPerSecond = ratePagesPerSecond
        self.coldRatePagesPerSecond = coldRatePagesPerSecond
    }

    public static let idle = GuestWorkload(kind: .idle)
    /// Writes per second the pacing accepts (the guest's burst loop tops out well below).
    public static let maxRatePagesPerSecond = 10_000_000

    public var description: String {
        switch kind {
        case .idle: "idle"
        case .uniform, .sequential:
            "\(kind.name),workingSet=\(workingSetPages)pages,rate=\(ratePagesPerSecond)"
        case .hotCold:
            "hotCold,workingSet=\(workingSetPages)pages,hotSet=\(hotPages)pages,hotRate=\(ratePagesPerSecond),coldRate=\(coldRatePagesPerSecond)"
        }
    }

    /// Parses `KIND[,key=value...]` for a guest whose workload region holds `regionPages` pages.
    public static func parse(_ spec: String, regionPages: Int) throws(KVMError) -> GuestWorkload {
        let parts = spec.split(separator: ",").map { $0.trimmingSpaces() }
        guard let kindName = parts.first, let kind = Kind.allCases.first(where: { $0.name == kindName }) else {
            throw KVMError("--workload '\(spec)': the kind must be one of idle, uniform, hotCold, sequential")
        }
        var values: [String: String] = [:]
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw KVMError("--workload '\(spec)': '\(part)' is not key=value") }
            values[pair[0]] = pair[1]
        }
        let allowed: Set<String> = switch kind {
        case .idle: []
        case .uniform, .sequential: ["workingSet", "rate"]
        case .hotCold: ["workingSet", "hotSet", "hotRate", "coldRate"]
        }
        if let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw KVMError("--workload '\(spec)': '\(unknown)' is not a key of \(kind.name) (keys: \(allowed.sorted().joined(separator: ", ")))")
        }
        func pages(_ key: String, default fallback: Int) throws(KVMError) -> Int {
            guard let text = values[key] else { return fallback }
            guard let value = Quantities.pages(text, pageSizeBytes: GuestMemory.pageSizeBytes),
                  value == value.rounded(.down), value >= 1, value <= Double(regionPages) else {
                throw KVMError("--workload '\(spec)': \(key)=\(text) must be a whole number of pages from 1 to the \(regionPages) pages of the workload region")
            }
            return Int(value)
        }
        func rate(_ key: String, required: Bool) throws(KVMError) -> Int {
            guard let text = values[key] else {
                if required { throw KVMError("--workload '\(spec)': \(key) is required (page writes per second)") }
                return 0
            }
            guard let value = Quantities.pagesPerSecond(text, pageSizeBytes: GuestMemory.pageSizeBytes),
                  value >= 0, value <= Double(maxRatePagesPerSecond) else {
                throw KVMError("--workload '\(spec)': \(key)=\(text) must be a rate from 0 to \(maxRatePagesPerSecond) pages/s")
            }
            return Int(value.rounded())
        }
        switch kind {
        case .idle:
            return .idle
        case .uniform, .sequential:
            return GuestWorkload(kind: kind, workingSetPages: try pages("workingSet", default: regionPages),
                                 ratePagesPerSecond: try rate("rate", required: true))
        case .hotCold:
            let workingSet = try pages("workingSet", default: regionPages)
            guard values["hotSet"] != nil else { throw KVMError("--workload '\(spec)': hotSet is required") }
            let hot = try pages("hotSet", default: 0)
            guard hot < workingSet else {
                throw KVMError("--workload '\(spec)': hotSet must be smaller than workingSet")
            }
            return GuestWorkload(kind: .hotCold, workingSetPages: workingSet, hotPages: hot,
                                 ratePagesPerSecond: try rate("hotRate", required: true),
                                 coldRatePagesPerSecond: try rate("coldRate", required: false))
        }
    }
}
