import Relocation
import XCTest

/// The S-expression reader against xend's `sxp.py` rules: lists, atoms, both quotes, escapes,
/// comments; and each way a file can be malformed, with the line and column named.
final class SExpressionParserTests: XCTestCase {
    private func parse(_ text: String, maxDepth: Int = SExpressionParser.defaultMaxDepth) throws -> SExpressionParser.Document {
        try SExpressionParser.parse(Array(text.utf8), file: "test.sxp", maxDepth: maxDepth)
    }

    /// The texts of a document's forms, lists shown as Swift arrays.
    private func shape(_ value: SExpression) -> String {
        if let text = value.text { return text.debugDescription }
        return "[" + (value.elements ?? []).map(shape).joined(separator: ", ") + "]"
    }

    private func assertError(_ text: String, line: Int, column: Int, containing words: String,
                             maxDepth: Int = SExpressionParser.defaultMaxDepth, file: StaticString = #filePath, lineNumber: UInt = #line) {
        XCTAssertThrowsError(try parse(text, maxDepth: maxDepth), file: file, line: lineNumber) { error in
            guard let error = error as? SExpressionError else { return XCTFail("\(error)", file: file, line: lineNumber) }
            XCTAssertEqual(error.position, SourcePosition(line: line, column: column), error.description, file: file, line: lineNumber)
            XCTAssertTrue(error.description.hasPrefix("test.sxp:\(line):\(column): "), error.description, file: file, line: lineNumber)
            XCTAssertTrue(error.message.contains(words), error.description, file: file, line: lineNumber)
        }
    }

    func testTheFixtureParsesWithItsNestedListsAndComments() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/xend-config.sxp").path
        let document = try SExpressionParser.parseFile(atPath: path)
        XCTAssertEqual(document.warnings, [])
        let names = document.forms.compactMap { $0.elements?.first?.text }
        XCTAssertEqual(names.count, document.forms.count, "every top-level form is a named list")
        XCTAssertEqual(names.first, "loglevel")
        XCTAssertEqual(names.last, "tools-memory-check")
        XCTAssertEqual(names.count, 34, "the fixture's 34 lines that start with '('")
        let api = try XCTUnwrap(document.forms.first { $0.elements?.first?.text == "xen-api-server" })
        XCTAssertEqual(shape(api), #"["xen-api-server", [["unix"], ["9363", "pam", "^mgmt[0-9]+\\.pool\\.example\\.net$ ^localhost$"]]]"#)
        XCTAssertEqual(api.position, SourcePosition(line: 13, column: 1))
        let hosts = try XCTUnwrap(document.forms.first { $0.elements?.first?.text == "xend-relocation-hosts-allow" })
        XCTAssertEqual(hosts.elements?[1].text, #"^10\.20\. ^xen[0-9]+\.pool\.example\.net$ ^localhost$"#)
        XCTAssertEqual(hosts.elements?[1].wasQuoted, true)
    }

    func testAtomsStringsAndListsAsXendReadThem() throws {
        let document = try parse("""
            (a b-c 8002 /var/lib/x.y) # comment (not a list
            ('' "two words" 'it''s')
            (x{y} [z] it's ;semi)
            top
            ()
            """)
        XCTAssertEqual(document.forms.map(shape), [
            #"["a", "b-c", "8002", "/var/lib/x.y"]"#,
            #"["", "two words", "it", "s"]"#,
            #"["x", "{y", "}", "[z", "]", "it\'s", ";semi"]"#,
            #""top""#,
            "[]",
        ])
        XCTAssertEqual(document.forms[1].position, SourcePosition(line: 2, column: 1))
        XCTAssertEqual(document.forms[1].elements?[1].position, SourcePosition(line: 2, column: 5))
    }

    func testEscapesAsXendReadThem() throws {
        let cases: [(String, String)] = [
            (#"'a\tb\nc'"#, "a\tb\nc"),
            (#"'\a\b\v\f\r'"#, "\u{07}\u{08}\u{0B}\u{0C}\r"),
            (#"'\\ \' \"'"#, #"\ ' ""#),
            (#"'\x41\x4a\x4Bz'"#, "AJKz"),
            (#"'\x7g'"#, "\u{07}g"),
            (#"'\101\60\0609'"#, "A0" + "09"),
            (#"'\7'"#, "\u{07}"),
            (#"'\303\251'"#, "é"),
            ("'two\nlines'", "two\nlines"),
            (#""it's""#, "it's"),
        ]
        for (written, read) in cases {
            let document = try parse(written)
            XCTAssertEqual(document.forms.first?.text, read, written)
            XCTAssertEqual(document.warnings, [], written)
        }
    }

    func testAnUnknownEscapeKeepsTheBackslashDropsTheCharacterAndWarns() throws {
        let document = try parse("(x\n  '^10\\.0')")
        XCTAssertEqual(document.forms.first?.elements?[1].text, #"^10\0"#)
        XCTAssertEqual(document.warnings.count, 1)
        XCTAssertEqual(document.warnings.first?.position, SourcePosition(line: 2, column: 7))
        XCTAssertTrue(document.warnings.first?.description.contains("test.sxp:2:7: warning: unknown escape '\\.'") ?? false,
                      document.warnings.first?.description ?? "")
    }

    func testControlDEndsTheInputOutsideAList() throws {
        let document = try parse("(a 1)\u{04}(this is not read")
        XCTAssertEqual(document.forms.map(shape), [#"["a", "1"]"#])
    }

    func testMalformedFilesNameLineAndColumn() {
        assertError("(a 1)\n(b 2))\n", line: 2, column: 6, containing: "')' closes no list")
        assertError("(a 1)\n(b\n  (c 2)\n", line: 4, column: 1, containing: "inside the list opened at line 2, column 1")
        assertError("(a 1)\n(b 'open\n", line: 3, column: 1, containing: "inside the string opened at line 2, column 4")
        assertError("(a 'ends in an escape\\", line: 1, column: 23, containing: "inside the string opened at line 1, column 4")
        assertError("(a 1)\n  (b \u{01})", line: 2, column: 6, containing: "invalid character (code 1)")
        assertError("(a é)", line: 1, column: 4, containing: "invalid character (code 195)")
        assertError("(a 'x\\xg')", line: 1, column: 6, containing: "'\\x' must be followed by one or two hex digits")
        assertError("(a\n 'é\\400')", line: 2, column: 4, containing: "octal escape '\\400' is out of range")
    }

    func testNestingDeeperThanTheLimitIsRefused() {
        let deep = String(repeating: "(", count: 10) + String(repeating: ")", count: 10)
        XCTAssertNoThrow(try parse(deep, maxDepth: 10))
        assertError("(a\n" + deep, line: 2, column: 10, containing: "lists nested deeper than 10", maxDepth: 10)
        // The default limit holds against a file of nothing but opening parentheses.
        let bomb = String(repeating: "(", count: 100_000)
        assertError(bomb, line: 1, column: SExpressionParser.defaultMaxDepth + 1, containing: "nested deeper than \(SExpressionParser.defaultMaxDepth)")
    }

    func testFilesLargerThanTheLimitAreRefusedAndMissingOnesNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sxp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("big.sxp").path
        try String(repeating: "(a 1)\n", count: 200).write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertNoThrow(try SExpressionParser.parseFile(atPath: path, maxBytes: 1200))
        XCTAssertThrowsError(try SExpressionParser.parseFile(atPath: path, maxBytes: 1199)) { error in
            XCTAssertEqual((error as? SExpressionError)?.description, "\(path): larger than 1199 bytes, the most a configuration file may have")
        }
        let missing = directory.appendingPathComponent("missing.sxp").path
        XCTAssertThrowsError(try SExpressionParser.parseFile(atPath: missing)) { error in
            XCTAssertEqual((error as? SExpressionError)?.description, "\(missing): cannot open: No such file or directory")
        }
        XCTAssertThrowsError(try SExpressionParser.parseFile(atPath: directory.path)) { error in
            XCTAssertTrue((error as? SExpressionError)?.description.hasPrefix("\(directory.path): cannot read") ?? false, "\(error)")
        }
    }
}
