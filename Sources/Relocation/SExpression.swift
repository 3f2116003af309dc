/// One value read from an S-expression file such as `xend-config.sxp`, with where it began.
///
/// xend's reader (`tools/python/xen/xend/sxp.py`) gives bare atoms and quoted strings the same
/// type (a Python string): `(xend-relocation-port 8002)` and `(xend-relocation-port '8002')` mean
/// the same. `wasQuoted` only remembers which one was written, for messages.
public struct SExpression: Equatable, Sendable {
    public enum Value: Equatable, Sendable {
        case text(String)
        case list([SExpression])
    }

    public var value: Value
    /// Where the value begins: 1-based line, and 1-based column in characters.
    public var position: SourcePosition
    public var wasQuoted: Bool

    public init(_ value: Value, at position: SourcePosition, wasQuoted: Bool = false) {
        self.value = value
        self.position = position
        self.wasQuoted = wasQuoted
    }

    /// The text of an atom or string; nil for a list.
    public var text: String? {
        if case .text(let text) = value { return text }
        return nil
    }

    /// The elements of a list; nil for an atom or string.
    public var elements: [SExpression]? {
        if case .list(let elements) = value { return elements }
        return nil
    }
}

/// A place in a source file: 1-based line and column (the column counts characters, so a
/// multi-byte UTF-8 character is one column).
public struct SourcePosition: Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}
