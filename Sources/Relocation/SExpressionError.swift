/// A file that cannot be read as S-expressions: the file, the line and column where reading
/// stopped (when there is one), and the problem, in one line.
public struct SExpressionError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var position: SourcePosition?
    public var message: String

    public init(file: String, at position: SourcePosition?, _ message: String) {
        self.file = file
        self.position = position
        self.message = message
    }

    public var description: String {
        guard let position else { return "\(file): \(message)" }
        return "\(file):\(position.line):\(position.column): \(message)"
    }
}

/// Something xend would have read, but probably not as the author meant (an unknown escape in a
/// string, a repeated entry): reported on stderr, not refused.
public struct SExpressionWarning: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var position: SourcePosition
    public var message: String

    public init(file: String, at position: SourcePosition, _ message: String) {
        self.file = file
        self.position = position
        self.message = message
    }

    public var description: String { "\(file):\(position.line):\(position.column): warning: \(message)" }
}
