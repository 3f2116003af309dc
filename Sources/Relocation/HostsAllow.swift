/// `xend-relocation-hosts-allow` applied as xend applied it.
///
/// xend (`tools/python/xen/xend/server/relocate.py`, `listenRelocation`) split the entry on
/// single spaces and compiled each piece with Python's `re.compile`; an empty entry meant no
/// check at all. For each connection (`tools/python/xen/web/connection.py`, `hostAllowed`,
/// called by `tcp.py`'s `TCPListener.acceptConnection` before any byte is read) it took the
/// peer's fully qualified name, `socket.getfqdn(address)` (a reverse lookup; the address itself
/// when that fails), and allowed the peer if any pattern `re.match`ed the name or the address;
/// otherwise it logged "Rejected connection from ADDRESS (NAME)" and closed the socket.
///
/// `re.match` anchors a pattern at the start of the text only: `10\.0\.` allows `10.0.0.7`,
/// `^host$` only `host`, `example\.org` does *not* allow `www.example.org` (write
/// `.*\.example\.org$` or `^.*\.example\.org$`).
///
/// Here each pattern is a Swift `Regex`, tried with `prefixMatch(in:)` (anchored at the start
/// only, like `re.match`), with Unicode-scalar matching and ASCII-only `\d \w \s` (as Python 2's
/// `re` on byte strings). Differences from Python's `re` that remain:
///
/// - `$` matches only at the very end here; Python's also before a final newline (addresses and
///   names have none). `\Z` is the reverse: Python's only at the very end, Swift's also before
///   a final newline.
/// - Lookbehind (`(?<=…)`, `(?<!…)`) does not compile here; such a pattern is refused.
/// - Swift accepts a few things Python 2 refused (possessive `a++`, atomic groups); patterns
///   valid in both mean the same for addresses and host names.
///
/// Deliberate difference: xend's `split(" ")` turned two spaces in a row, or a leading or
/// trailing space, into an empty pattern, which matches every host and silently allowed
/// everyone. That is refused here with an error naming the place.
public struct HostsAllow: Equatable, @unchecked Sendable {
    /// One pattern: as written, and compiled.
    public struct Pattern: @unchecked Sendable {
        public let source: String
        let regex: Regex<AnyRegexOutput>
    }

    public let patterns: [Pattern]

    /// No check: every peer is allowed (xend's empty entry).
    public static let everyone = HostsAllow(patterns: [])

    public var allowsEveryone: Bool { patterns.isEmpty }

    private init(patterns: [Pattern]) {
        self.patterns = patterns
    }

    /// Compiles the entry: space-separated regular expressions; empty allows everyone. The
    /// error names the pattern and the problem (the caller adds where it was written).
    public init(parsing entry: String) throws(HostsAllowError) {
        guard !entry.isEmpty else {
            self.init(patterns: [])
            return
        }
        var compiled: [Pattern] = []
        for piece in entry.split(separator: " ", omittingEmptySubsequences: false) {
            guard !piece.isEmpty else {
                throw HostsAllowError(pattern: "", problem: "an empty pattern (two spaces in a row, or a space at the start or end): xend read it as a pattern that allows every host; remove the extra space, or give '' to allow everyone on purpose")
            }
            do {
                let regex = try Regex(String(piece)).matchingSemantics(.unicodeScalar).asciiOnlyCharacterClasses()
                compiled.append(Pattern(source: String(piece), regex: regex))
            } catch {
                throw HostsAllowError(pattern: String(piece), problem: "not a regular expression: \(error)")
            }
        }
        self.init(patterns: compiled)
    }

    /// Whether any pattern matches the start of `text`.
    public func matches(_ text: String) -> Bool {
        patterns.contains { (try? $0.regex.prefixMatch(in: text)) != nil }
    }

    /// The decision for a peer at `address` (numeric). `name` gives its fully qualified name
    /// (see `PeerName`); it is asked for only when the decision needs it, which is when the list
    /// is not empty and the address alone matches no pattern (the decision is the same as
    /// xend's, which looked the name up first).
    public func admits(address: String, name: () -> String) -> HostsAllowDecision {
        if allowsEveryone || matches(address) { return .allowed }
        let resolved = name()
        return matches(resolved) ? .allowed : .refused(name: resolved)
    }

    public static func == (lhs: HostsAllow, rhs: HostsAllow) -> Bool {
        lhs.patterns.map(\.source) == rhs.patterns.map(\.source)
    }

    /// The entry as written (patterns joined by spaces).
    public var description: String { patterns.map(\.source).joined(separator: " ") }
}

public enum HostsAllowDecision: Equatable, Sendable {
    case allowed
    /// Refused; `name` is the fully qualified name that was tried (the address when the
    /// reverse lookup found none).
    case refused(name: String)
}

/// A hosts-allow entry that cannot be used: the pattern and why.
public struct HostsAllowError: Error, Equatable, Sendable, CustomStringConvertible {
    public var pattern: String
    public var problem: String

    public var description: String {
        pattern.isEmpty ? problem : "pattern '\(pattern)': \(problem)"
    }
}
