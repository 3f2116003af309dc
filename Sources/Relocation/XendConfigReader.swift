import Foundation

/// Reads the relocation server's entries from an `xend-config.sxp` the way xend's
/// `XendOptionsFile` did (`tools/python/xen/xend/XendOptions.py`): the file is a sequence of
/// forms; an entry is a top-level list `(NAME VALUE …)`; the *first* list with that name counts
/// (`sxp.child_value`), later ones are ignored; an entry without a value means the default; an
/// `(@ …)` attribute list after the name is skipped (`sxp.children`).
///
/// Unknown entries are ignored, as xend ignored what it did not ask for, except names starting
/// with `livemig-`, which are livemig's own (a misspelt one is an error). A wrong value for a
/// known entry is an error naming the file, line, column, entry and problem; repeated entries and
/// entries without a value get a warning.
public enum XendConfigReader {
    public static let defaultPath = "/etc/xen/xend-config.sxp"

    /// The configuration a file holds, and the warnings reading it gave.
    public struct File: Equatable, Sendable {
        public var path: String
        public var configuration: RelocationServerConfiguration
        public var warnings: [SExpressionWarning]
    }

    public static func read(path: String) throws(RelocationConfigurationError) -> File {
        let document: SExpressionParser.Document
        do {
            document = try SExpressionParser.parseFile(atPath: path)
        } catch {
            throw RelocationConfigurationError(error.description)
        }
        return try read(document, path: path)
    }

    public static func read(_ document: SExpressionParser.Document, path: String) throws(RelocationConfigurationError) -> File {
        var configuration = RelocationServerConfiguration()
        var warnings = document.warnings
        var seen: [String: SourcePosition] = [:]
        let directory = (path as NSString).deletingLastPathComponent
        for form in document.forms {
            guard let elements = form.elements, let name = elements.first?.text else { continue }
            let rule = XendConfigEntries.rules[name]
            guard rule != nil || !name.hasPrefix(XendConfigEntries.livemigPrefix) else {
                throw RelocationConfigurationError(
                    "\(path):\(form.position.line):\(form.position.column): unknown livemig entry '\(name)' (livemig's entries: \(XendConfigEntries.livemigNames.joined(separator: ", ")))")
            }
            guard let rule else { continue }
            if let first = seen[name] {
                warnings.append(SExpressionWarning(file: path, at: form.position,
                                                   "(\(name) …) again: xend used the first one, at \(first), and so does livemig"))
                continue
            }
            seen[name] = form.position
            var values = elements.dropFirst()
            if let attributes = values.first?.elements, attributes.first?.text == "@" { values = values.dropFirst() }
            guard let value = values.first else {
                warnings.append(SExpressionWarning(file: path, at: form.position,
                                                   "(\(name)) has no value: xend used the default, and so does livemig"))
                continue
            }
            guard let text = value.text else {
                throw RelocationConfigurationError("\(path):\(value.position.line):\(value.position.column): (\(name) …): takes one value, not a list")
            }
            do {
                try rule(&configuration, XendConfigEntries.Value(text: text, directory: directory))
            } catch {
                let shown = value.wasQuoted ? "'\(text)'" : text
                throw RelocationConfigurationError("\(path):\(value.position.line):\(value.position.column): (\(name) \(shown)): \(error.description)")
            }
        }
        return File(path: path, configuration: configuration, warnings: warnings)
    }
}

/// A configuration that cannot be used, in one line naming where and why.
public struct RelocationConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
