/// Walks the bytes of a file and keeps the line and column of the next one (columns count
/// characters: UTF-8 continuation bytes do not move it).
struct SExpressionCursor {
    let bytes: [UInt8]
    private(set) var index = 0
    private(set) var position = SourcePosition(line: 1, column: 1)

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The next byte, or nil at the end.
    var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    /// Moves past the next byte; returns it.
    @discardableResult
    mutating func advance() -> UInt8? {
        guard let byte = next else { return nil }
        index += 1
        if byte == UInt8(ascii: "\n") {
            position.line += 1
            position.column = 1
        } else if byte & 0xC0 != 0x80 {
            position.column += 1
        }
        return byte
    }
}

/// The character classes of xend's reader (`sxp.py`: `in_space_class`, `is_separator`,
/// `in_comment_class`, `in_string_quote_class`, `in_printable_class`).
enum SExpressionSyntax {
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09 ... 0x0D).contains(byte)  // space, \t \n \v \f \r
    }

    /// Ends a bare atom (besides space and `#`); `(` and `)` among them.
    static func isSeparator(_ byte: UInt8) -> Bool {
        Array("{}()<>[]!;".utf8).contains(byte)
    }

    static func isQuote(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
    }

    /// Python's `string.printable` less the space characters (handled before).
    static func isPrintable(_ byte: UInt8) -> Bool {
        (0x21 ... 0x7E).contains(byte)
    }

    static let comment = UInt8(ascii: "#")
    static let listOpen = UInt8(ascii: "(")
    static let listClose = UInt8(ascii: ")")
    /// Control-D (end of text): xend's reader takes it, outside a string, as the end of input.
    static let endOfText: UInt8 = 0x04
}
