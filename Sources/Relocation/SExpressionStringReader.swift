/// Reads one quoted string the way xend's `sxp.py` did (`state_string`, `state_escape`,
/// `state_octal`, `state_hex`): it ends at the quote that opened it; new lines may be inside.
/// Escapes:
///
/// - `\a \b \t \n \v \f \r \\ \' \"`: as in Python;
/// - `\x` and one or two hex digits, `\` and one to three octal digits: that byte (an octal
///   value above 255 is an error, as it was for xend);
/// - any other character after `\`: xend keeps the backslash and *drops the character*
///   (`'^.*\.example'` reads as `^.*\example`; that is why xend's sample file writes
///   `'^.*\\.example\\.org$'`). livemig reads it the same and adds a warning naming the place.
///
/// Where xend failed with a Python exception (`\x` followed by no hex digit), this is an error
/// naming the place. Escaped bytes of 128 and above are bytes, as in Python 2; the string is the
/// bytes read as UTF-8.
struct SExpressionStringReader {
    let file: String
    private(set) var warnings: [SExpressionWarning] = []

    init(file: String) {
        self.file = file
    }

    private static let simpleEscapes: [UInt8: UInt8] = [
        UInt8(ascii: "a"): 0x07, UInt8(ascii: "b"): 0x08, UInt8(ascii: "t"): 0x09, UInt8(ascii: "n"): 0x0A,
        UInt8(ascii: "v"): 0x0B, UInt8(ascii: "f"): 0x0C, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "\\"): 0x5C,
        UInt8(ascii: "'"): 0x27, UInt8(ascii: "\""): 0x22,
    ]

    /// Reads from the opening quote (the cursor's next byte) to the closing one.
    mutating func read(_ cursor: inout SExpressionCursor) throws(SExpressionError) -> String {
        let opened = cursor.position
        guard let quote = cursor.advance() else { throw unterminated(opened, cursor) }
        var bytes: [UInt8] = []
        while true {
            let position = cursor.position
            guard let byte = cursor.advance() else { throw unterminated(opened, cursor) }
            if byte == quote { break }
            if byte != UInt8(ascii: "\\") {
                bytes.append(byte)
                continue
            }
            guard let escaped = cursor.next else { throw unterminated(opened, cursor) }
            if let simple = Self.simpleEscapes[escaped] {
                cursor.advance()
                bytes.append(simple)
            } else if escaped == UInt8(ascii: "x") {
                cursor.advance()
                bytes.append(try number(&cursor, base: 16, maxDigits: 2, escapeAt: position))
            } else if (UInt8(ascii: "0") ... UInt8(ascii: "7")).contains(escaped) {
                bytes.append(try number(&cursor, base: 8, maxDigits: 3, escapeAt: position))
            } else {
                cursor.advance()
                bytes.append(UInt8(ascii: "\\"))
                let shown = escaped < 0x80 ? String(UnicodeScalar(escaped)) : "byte \(escaped)"
                warnings.append(SExpressionWarning(
                    file: file, at: position,
                    "unknown escape '\\\(shown)' in a string: xend's reader keeps the backslash and drops '\(shown)', and so does livemig (write '\\\\' for a backslash)"))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The digits of a `\x` or octal escape: as many as there are, up to `maxDigits`.
    private func number(_ cursor: inout SExpressionCursor, base: Int, maxDigits: Int,
                        escapeAt position: SourcePosition) throws(SExpressionError) -> UInt8 {
        var value = 0
        var digits = ""
        while digits.count < maxDigits, let byte = cursor.next, let digit = Self.digitValue(byte), digit < base {
            cursor.advance()
            value = value * base + digit
            digits.append(Character(UnicodeScalar(byte)))
        }
        guard !digits.isEmpty else {
            throw SExpressionError(file: file, at: position, "'\\x' must be followed by one or two hex digits")
        }
        guard value <= 0xFF else {
            throw SExpressionError(file: file, at: position, "octal escape '\\\(digits)' is out of range (more than 255)")
        }
        return UInt8(value)
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    private func unterminated(_ opened: SourcePosition, _ cursor: SExpressionCursor) -> SExpressionError {
        SExpressionError(file: file, at: cursor.position, "the file ends inside the string opened at \(opened) (a closing quote is missing)")
    }
}
