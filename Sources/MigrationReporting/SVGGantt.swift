import Foundation

/// A Gantt chart as inline SVG: one row per task, each a run of coloured segments on a time
/// axis (for an evacuation: a guest's live pre-copy, then its pause), with a legend and an
/// optional vertical marker (a deadline). Self-contained: no scripts, no fonts to fetch.
public struct SVGGantt {
    public struct Segment {
        public var startSeconds: Double
        public var endSeconds: Double
        public var color: String
        /// The tooltip.
        public var title: String
        public init(startSeconds: Double, endSeconds: Double, color: String, title: String) {
            self.startSeconds = startSeconds
            self.endSeconds = endSeconds
            self.color = color
            self.title = title
        }
    }

    public struct Row {
        public var label: String
        public var segments: [Segment]
        public init(label: String, segments: [Segment]) {
            self.label = label
            self.segments = segments
        }
    }

    public var title: String
    public var rows: [Row]
    /// Colour and name of each kind of segment.
    public var legend: [(name: String, color: String)]
    /// A vertical line at this time, with its label (a goal).
    public var marker: (seconds: Double, label: String)?
    public var width = 900.0
    let left = 150.0, right = 20.0, top = 44.0, rowHeight = 20.0, bottom = 40.0

    public init(title: String, rows: [Row], legend: [(name: String, color: String)], marker: (seconds: Double, label: String)? = nil) {
        self.title = title
        self.rows = rows
        self.legend = legend
        self.marker = marker
    }

    /// The SVG element.
    public func render() -> String {
        let lastEnd = rows.flatMap { $0.segments.map(\.endSeconds) }.filter(\.isFinite).max() ?? 1
        // The axis reaches the marker only when it is near: a goal far beyond the last bar is
        // named at the right edge instead of squeezing the bars into a corner.
        let markerNear = marker.map { $0.seconds.isFinite && $0.seconds <= 1.5 * lastEnd } ?? false
        let span = max(markerNear ? max(lastEnd, marker!.seconds) : lastEnd, 1e-9)
        let height = top + Double(rows.count) * rowHeight + bottom
        func px(_ seconds: Double) -> Double { left + min(max(seconds, 0), span) / span * (width - left - right) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">\n"
        out += "<title>\(SVGPlot.escape(title))</title>\n"
        out += "<text x=\"\(Int(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(SVGPlot.escape(title))</text>\n"
        var legendX = left
        for (name, color) in legend {
            out += "<rect x=\"\(SVGPlot.f(legendX))\" y=\"26\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            out += "<text x=\"\(SVGPlot.f(legendX + 14))\" y=\"35\" font-size=\"11\">\(SVGPlot.escape(name))</text>\n"
            legendX += 24 + Double(name.count) * 6.2
        }
        let axisY = top + Double(rows.count) * rowHeight
        for step in 0 ... 5 {
            let seconds = span * Double(step) / 5
            out += "<line x1=\"\(SVGPlot.f(px(seconds)))\" y1=\"\(SVGPlot.f(top))\" x2=\"\(SVGPlot.f(px(seconds)))\" y2=\"\(SVGPlot.f(axisY + 4))\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(SVGPlot.f(px(seconds)))\" y=\"\(SVGPlot.f(axisY + 16))\" text-anchor=\"middle\" font-size=\"11\">\(SVGPlot.tick(seconds))</text>\n"
        }
        out += "<text x=\"\(Int((left + width - right) / 2))\" y=\"\(Int(height - 8))\" text-anchor=\"middle\" font-size=\"12\">time (s)</text>\n"
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowHeight
            out += "<text x=\"\(SVGPlot.f(left - 6))\" y=\"\(SVGPlot.f(y + rowHeight * 0.7))\" text-anchor=\"end\" font-size=\"11\">\(SVGPlot.escape(row.label))</text>\n"
            for segment in row.segments where segment.endSeconds.isFinite && segment.startSeconds.isFinite {
                // At least a pixel wide, so a pause of milliseconds in an hour still shows.
                let x = px(segment.startSeconds), w = max(px(segment.endSeconds) - x, 1.5)
                out += "<rect x=\"\(SVGPlot.f(x))\" y=\"\(SVGPlot.f(y + 3))\" width=\"\(SVGPlot.f(w))\" height=\"\(SVGPlot.f(rowHeight - 6))\" fill=\"\(segment.color)\"><title>\(SVGPlot.escape(segment.title))</title></rect>\n"
            }
        }
        out += "<line x1=\"\(left)\" y1=\"\(SVGPlot.f(axisY))\" x2=\"\(width - right)\" y2=\"\(SVGPlot.f(axisY))\" stroke=\"#333\"/>\n"
        if let marker, !markerNear {
            out += "<text x=\"\(SVGPlot.f(width - right))\" y=\"\(SVGPlot.f(top + 10))\" text-anchor=\"end\" font-size=\"11\" fill=\"#c00\">\(SVGPlot.escape(marker.label)), beyond the chart →</text>\n"
        } else if let marker {
            out += "<line x1=\"\(SVGPlot.f(px(marker.seconds)))\" y1=\"\(SVGPlot.f(top - 4))\" x2=\"\(SVGPlot.f(px(marker.seconds)))\" y2=\"\(SVGPlot.f(axisY))\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>"
            out += "<text x=\"\(SVGPlot.f(px(marker.seconds) - 4))\" y=\"\(SVGPlot.f(top + 10))\" text-anchor=\"end\" font-size=\"11\" fill=\"#c00\">\(SVGPlot.escape(marker.label))</text>\n"
        }
        return out + "</svg>\n"
    }
}
