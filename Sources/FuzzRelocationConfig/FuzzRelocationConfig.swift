import FuzzingSupport
import Relocation

/// Fuzz target: arbitrary bytes as an xend-config.sxp: the S-expression parser, then the
/// relocation server's reading of the entries. Bad input must give a located error, never a
/// trap, hang or unbounded allocation.
func fuzzOne(_ bytes: [UInt8]) {
    guard let document = try? SExpressionParser.parse(bytes, file: "fuzz.sxp") else { return }
    _ = try? XendConfigReader.read(document, path: "fuzz.sxp")
}

@main
enum FuzzRelocationConfigMain {
    static func main() { FuzzMain.run(fuzzOne) }
}
