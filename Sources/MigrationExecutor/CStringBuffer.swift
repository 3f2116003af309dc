extension String {
    /// The UTF-8 text in a C character buffer up to its first NUL (all of it without one): for
    /// the error and name buffers that C calls fill (String(cString:) of an array is deprecated).
    init(nulTerminated buffer: some Collection<CChar>) {
        let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
        self = String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
