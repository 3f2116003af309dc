import Foundation

/// Reads S-expression files the way xend read `xend-config.sxp` (`tools/python/xen/xend/sxp.py`,
/// the `Parser` class): `#` starts a comment to the end of the line; `(` … `)` is a list;
/// `'…'` and `"…"` are strings with backslash escapes (see `SExpressionStringReader`); anything
/// else printable starts a bare atom, which runs to the next space, `#` or one of `{}()<>[]!;`.
/// A `)` with no list open, a list or string still open at the end, and a control or non-ASCII
/// character outside strings and atoms are errors, as they were for xend.
///
/// Beyond xend: the file's size and the lists' nesting depth are bounded (a configuration file
/// is a few kilobytes and three lists deep), and errors name the line and column.
public enum SExpressionParser {
    public static let defaultMaxBytes = 1 << 20
    public static let defaultMaxDepth = 64

    /// What a file holds: its top-level values in order, and what xend would have read
    /// differently from what the author probably meant.
    public struct Document: Equatable, Sendable {
        public var forms: [SExpression]
        public var warnings: [SExpressionWarning]
    }

    /// Reads the file at `path`; refuses one larger than `maxBytes` before reading it all.
    public static func parseFile(atPath path: String, maxBytes: Int = defaultMaxBytes,
                                 maxDepth: Int = defaultMaxDepth) throws(SExpressionError) -> Document {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SExpressionError(file: path, at: nil, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw SExpressionError(file: path, at: nil, "cannot read: \(error.localizedDescription)")
        }
        guard data.count <= maxBytes else {
            throw SExpressionError(file: path, at: nil, "larger than \(maxBytes) bytes, the most a configuration file may have")
        }
        return try parse(Array(data), file: path, maxDepth: maxDepth)
    }

    /// Reads `bytes`; `file` names them in errors.
    public static func parse(_ bytes: [UInt8], file: String, maxDepth: Int = defaultMaxDepth) throws(SExpressionError) -> Document {
        var cursor = SExpressionCursor(bytes)
        var warnings: [SExpressionWarning] = []
        var topLevel: [SExpression] = []
        // The lists being read, innermost last: their elements so far and where each opened.
        var open: [(elements: [SExpression], position: SourcePosition)] = []

        func append(_ value: SExpression) {
            if open.isEmpty { topLevel.append(value) } else { open[open.count - 1].elements.append(value) }
        }
        func error(_ message: String, at position: SourcePosition? = nil) -> SExpressionError {
            SExpressionError(file: file, at: position ?? cursor.position, message)
        }

        while let byte = cursor.next {
            let position = cursor.position
            if SExpressionSyntax.isSpace(byte) {
                cursor.advance()
            } else if byte == SExpressionSyntax.comment {
                while let skipped = cursor.next, skipped != UInt8(ascii: "\n") { cursor.advance() }
            } else if byte == SExpressionSyntax.listOpen {
                guard open.count < maxDepth else { throw error("lists nested deeper than \(maxDepth)") }
                cursor.advance()
                open.append(([], position))
            } else if byte == SExpressionSyntax.listClose {
                guard let list = open.popLast() else { throw error("')' closes no list") }
                cursor.advance()
                append(SExpression(.list(list.elements), at: list.position))
            } else if SExpressionSyntax.isQuote(byte) {
                var reader = SExpressionStringReader(file: file)
                let text = try reader.read(&cursor)
                warnings += reader.warnings
                append(SExpression(.text(text), at: position, wasQuoted: true))
            } else if byte == SExpressionSyntax.endOfText {
                break
            } else if SExpressionSyntax.isPrintable(byte) {
                append(SExpression(.text(readAtom(&cursor)), at: position))
            } else {
                throw error("invalid character (code \(byte)) outside a string")
            }
        }
        if let innermost = open.last {
            throw error("the file ends inside the list opened at \(innermost.position) (a ')' is missing)")
        }
        return Document(forms: topLevel, warnings: warnings)
    }

    /// A bare atom: its first byte whatever it is (xend's `begin_atom`), then up to the next
    /// space, `#` or separator.
    private static func readAtom(_ cursor: inout SExpressionCursor) -> String {
        var bytes: [UInt8] = []
        if let first = cursor.advance() { bytes.append(first) }
        while let byte = cursor.next, !SExpressionSyntax.isSpace(byte), !SExpressionSyntax.isSeparator(byte),
              byte != SExpressionSyntax.comment {
            bytes.append(byte)
            cursor.advance()
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
