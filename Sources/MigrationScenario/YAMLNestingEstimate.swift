/// A cheap look at YAML text before Yams parses it: how deeply it nests, estimated from
/// indentation and flow brackets, so that a file nested 10,000 levels deep is refused with a
/// clear error instead of recursing that deep. It errs on the high side (a block level counts
/// twice, since a sequence may sit at its parent key's column); `BoundedYAML` checks the real
/// depth on the composed tree afterwards, and composes on a stack sized by `indicatorCount`, so
/// a text that misleads this estimate still cannot overflow a stack.
enum YAMLNestingEstimate {
    /// Bytes that can open a collection (`[`, `{`, `-`, `?`, `:`): every nesting level needs
    /// one of its own, so the text nests at most this deep.
    static func indicatorCount(in text: String) -> Int {
        text.utf8.reduce(0) { count, byte in
            count + (byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "-")
                     || byte == UInt8(ascii: "?") || byte == UInt8(ascii: ":") ? 1 : 0)
        }
    }

    /// The estimated greatest nesting depth of `text`.
    static func levels(in text: String) -> Int {
        var scanner = Scanner()
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            scanner.scan(Array(line))
        }
        return scanner.deepest
    }

    private struct Scanner {
        var deepest = 0
        /// Columns of the block collections open above the current line.
        var columns: [Int] = []
        var flowDepth = 0
        var quote: UInt8?
        /// A block scalar (`|`, `>`): the indentation of its parent, and of its content once seen.
        var blockScalar: (parent: Int, content: Int?)?

        mutating func scan(_ line: [UInt8]) {
            let space = UInt8(ascii: " ")
            var indent = 0
            while indent < line.count, line[indent] == space { indent += 1 }
            let blank = indent == line.count || line[indent] == UInt8(ascii: "\r")
            if let scalar = blockScalar, quote == nil {
                if blank { return }
                if let content = scalar.content {
                    if indent >= content { return }
                } else if indent > scalar.parent {
                    blockScalar = (scalar.parent, indent)
                    return
                }
                blockScalar = nil
            }
            var position = 0
            if quote == nil, flowDepth == 0 {
                if blank || line[indent] == UInt8(ascii: "#") { return }
                while let last = columns.last, last >= indent { columns.removeLast() }
                columns.append(indent)
                position = indent
                // Compact collections on one line ("- - x", "- key: v", "? - x"): one column each.
                while position + 1 < line.count, [UInt8(ascii: "-"), UInt8(ascii: "?")].contains(line[position]),
                      line[position + 1] == space {
                    position += 1
                    while position < line.count, line[position] == space { position += 1 }
                    columns.append(position)
                }
            }
            scanRest(line, from: position, lineIndent: indent)
        }

        /// Quotes, comments, flow brackets and block scalar indicators in the rest of a line.
        private mutating func scanRest(_ line: [UInt8], from start: Int, lineIndent: Int) {
            var lineDeepest = flowDepth
            var tokenStart = true
            var index = start
            while index < line.count {
                let byte = line[index]
                defer { index += 1 }
                if let open = quote {
                    if open == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") {
                        index += 1
                    } else if byte == open {
                        if open == UInt8(ascii: "'"), index + 1 < line.count, line[index + 1] == open { index += 1 } else { quote = nil }
                    }
                    continue
                }
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                    continue
                case UInt8(ascii: "#") where index == 0 || line[index - 1] == UInt8(ascii: " ") || line[index - 1] == UInt8(ascii: "\t"):
                    index = line.count
                case UInt8(ascii: "'") where tokenStart, UInt8(ascii: "\"") where tokenStart:
                    quote = byte
                case UInt8(ascii: "[") where tokenStart || flowDepth > 0, UInt8(ascii: "{") where tokenStart || flowDepth > 0:
                    flowDepth += 1
                    lineDeepest = max(lineDeepest, flowDepth)
                    tokenStart = true
                case UInt8(ascii: "]") where flowDepth > 0, UInt8(ascii: "}") where flowDepth > 0:
                    flowDepth -= 1
                    tokenStart = false
                case UInt8(ascii: ","), UInt8(ascii: "?"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                    // An indicator when followed by a space (or, in flow, by anything): a
                    // node may start after it.
                    let next = index + 1 < line.count ? line[index + 1] : UInt8(ascii: " ")
                    tokenStart = flowDepth > 0 || next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == UInt8(ascii: "\r")
                        ? true : false
                case UInt8(ascii: "|") where tokenStart && flowDepth == 0, UInt8(ascii: ">") where tokenStart && flowDepth == 0:
                    blockScalar = (columns.last ?? lineIndent, nil)
                    index = line.count
                case UInt8(ascii: "&") where tokenStart, UInt8(ascii: "!") where tokenStart:
                    // A property (anchor or tag): the node itself follows after a space.
                    while index + 1 < line.count, line[index + 1] != UInt8(ascii: " ") { index += 1 }
                default:
                    tokenStart = false
                }
            }
            deepest = max(deepest, 2 * columns.count + lineDeepest + 1)
        }
    }
}
