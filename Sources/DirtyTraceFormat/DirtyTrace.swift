/// A recorded dirty-page trace: what a real guest dirtied between successive dirty-log reads.
/// The text format is specified in `docs/trace-format.md`; `livemig observe`
/// writes it from real guests (KVM dirty logging), and the simulator replays it.
public struct DirtyTrace: Sendable, Equatable {
    /// One dirty-log read: its time since the trace began, and the pages dirtied since the
    /// previous read.
    public struct Record: Sendable, Equatable {
        public var timeSeconds: Double
        public var pages: [Int]
        public init(timeSeconds: Double, pages: [Int]) {
            self.timeSeconds = timeSeconds
            self.pages = pages
        }
    }

    public var pageCount: Int
    public var pageSizeBytes: Int
    public var records: [Record]

    /// The time of the last record: the trace's length.
    public var durationSeconds: Double { records.last?.timeSeconds ?? 0 }

    /// Limits on what a trace file may hold.
    public static let maxPageCount = 1 << 32
    public static let maxRecords = 10_000_000
    /// Page numbers a whole trace may list, ranges expanded (2 GiB of memory as `Int`s).
    public static let maxListedPages = 1 << 28

    public init(pageCount: Int, pageSizeBytes: Int, records: [Record]) {
        self.pageCount = pageCount
        self.pageSizeBytes = pageSizeBytes
        self.records = records
    }
}

/// A trace file that cannot be read: the file, the line, and the problem.
public struct DirtyTraceError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

extension DirtyTrace {
    /// Parses the text format of `docs/trace-format.md`. `source` names the file in errors.
    public static func parse(_ text: String, source: String) throws(DirtyTraceError) -> DirtyTrace {
        var pageCount: Int?
        var pageSize = 4096
        var records: [Record] = []
        var sawMagic = false
        var lineNumber = 0
        var listed = 0
        func fail(_ problem: String) -> DirtyTraceError {
            DirtyTraceError(description: "\(source):\(lineNumber): \(problem)")
        }
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let head = fields.first else { continue }
            if !sawMagic {
                guard head == "livemig-trace", fields.count == 2, fields[1] == "1" else {
                    throw fail("expected the header 'livemig-trace 1', found '\(line)'")
                }
                sawMagic = true
                continue
            }
            switch head {
            case "pages":
                guard pageCount == nil else { throw fail("'pages' is given twice") }
                guard fields.count == 2, let value = Int(fields[1]), value > 0, value <= maxPageCount else {
                    throw fail("'pages' needs one whole number from 1 to \(maxPageCount)")
                }
                pageCount = value
            case "page-size":
                guard records.isEmpty else { throw fail("'page-size' must come before the first record") }
                guard fields.count == 2, let value = Int(fields[1]), value >= 512, value & (value - 1) == 0 else {
                    throw fail("'page-size' needs a power of two of at least 512 bytes")
                }
                pageSize = value
            default:
                guard let pages = pageCount else { throw fail("a record came before the 'pages' line") }
                guard let time = Double(head), time.isFinite, time >= 0 else {
                    throw fail("expected a time in seconds, found '\(head)'")
                }
                if let previous = records.last?.timeSeconds, time < previous {
                    throw fail("time \(time) goes back before \(previous)")
                }
                guard records.count < maxRecords else { throw fail("more than \(maxRecords) records") }
                var dirty: [Int] = []
                for field in fields.dropFirst() {
                    let bounds = field.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                    guard bounds.allSatisfy({ !$0.isEmpty }), let low = Int(bounds[0]),
                          let high = bounds.count == 2 ? Int(bounds[1]) : low, low >= 0, low <= high else {
                        throw fail("expected a page number or a range a-b, found '\(field)'")
                    }
                    guard high < pages else { throw fail("page \(high) is outside the guest's \(pages) pages") }
                    guard dirty.count + (high - low + 1) <= pages else {
                        throw fail("the record lists more pages than the guest's \(pages)")
                    }
                    listed += high - low + 1
                    guard listed <= maxListedPages else {
                        throw fail("the trace lists more than \(maxListedPages) pages in all")
                    }
                    dirty.append(contentsOf: low ... high)
                }
                records.append(Record(timeSeconds: time, pages: dirty))
            }
        }
        guard sawMagic else { throw fail("empty file: expected the header 'livemig-trace 1'") }
        guard let pages = pageCount else { throw fail("no 'pages' line") }
        return DirtyTrace(pageCount: pages, pageSizeBytes: pageSize, records: records)
    }

    /// The text format, for writing traces. Runs of consecutive pages are written as ranges
    /// `a-b` (a guest sweeping memory dirties long runs), which parse back to the same pages in
    /// the same order.
    public func formatted() -> String {
        var text = "livemig-trace 1\npages \(pageCount)\npage-size \(pageSizeBytes)\n"
        for record in records {
            text += String(record.timeSeconds)
            var index = 0
            let pages = record.pages
            while index < pages.count {
                var end = index
                while end + 1 < pages.count, pages[end + 1] == pages[end] + 1 { end += 1 }
                text += end > index ? " \(pages[index])-\(pages[end])" : " \(pages[index])"
                index = end + 1
            }
            text += "\n"
        }
        return text
    }
}
