extension String {
    /// The longest prefix of whole characters whose UTF-8 takes at most `maxBytes`: how text
    /// is cut to fit a record's limit (an abort reason, a console line) without splitting a
    /// character, which would make it invalid UTF-8 and lose all of it.
    public func prefix(utf8Bytes maxBytes: Int) -> String {
        var bytes = 0
        return String(prefix { character in
            bytes += character.utf8.count
            return bytes <= maxBytes
        })
    }
}
