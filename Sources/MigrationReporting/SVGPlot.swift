import Foundation
import MigrationCore

/// A small line plot as inline SVG, for the self-contained HTML reports (no script, no
/// network): shaded bands, lines with points, vertical error bars, axes with ticks and labels.
/// X is numeric (a varied value) or categorical (its labels evenly spaced).
public struct SVGPlot {
    public struct Series {
        public var name: String
        public var color: String
        public var ys: [Double]
        /// Optional [low, high] per point, drawn as error bars.
        public var errorBars: [[Double]]?
        /// Points joined by a line (false: markers only, a scatter).
        public var joined: Bool
        /// Its own x values (a scatter), instead of the plot's.
        public var xs: [Double]?
        public init(name: String, color: String, ys: [Double], errorBars: [[Double]]? = nil, joined: Bool = true, xs: [Double]? = nil) {
            self.name = name
            self.color = color
            self.ys = ys
            self.errorBars = errorBars
            self.joined = joined
            self.xs = xs
        }
    }

    public struct Band {
        public var name: String
        public var color: String
        public var lows: [Double]
        public var highs: [Double]
        public init(name: String, color: String, lows: [Double], highs: [Double]) {
            self.name = name
            self.color = color
            self.lows = lows
            self.highs = highs
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// X positions: numbers when every label is one (with the same unit), else the labels' order.
    public var xLabels: [String]
    public var series: [Series] = []
    public var bands: [Band] = []
    /// Fixed y range (e.g. 0...1 for a probability); else from the data, from 0.
    public var yRange: ClosedRange<Double>?
    /// A numeric x axis with five ticks (for scatters whose series carry their own x), instead
    /// of one label per x position.
    public var numericX = false

    let width = 640.0, height = 320.0
    let left = 70.0, right = 45.0, top = 50.0, bottom = 52.0

    public init(title: String, xLabel: String, yLabel: String, xLabels: [String]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xLabels = xLabels
    }

    /// The SVG element.
    public func render() -> String {
        let xs = numericX ? series.flatMap { $0.xs ?? [] } : xPositions()
        let values = series.flatMap { $0.ys + ($0.errorBars?.flatMap { $0 } ?? []) } + bands.flatMap { $0.lows + $0.highs }
        let finite = values.filter(\.isFinite)
        let yMin = yRange?.lowerBound ?? min(0, finite.min() ?? 0)
        var yMax = yRange?.upperBound ?? (finite.max() ?? 1)
        if yMax <= yMin { yMax = yMin + 1 }
        let xMin = numericX ? min(0, xs.min() ?? 0) : (xs.min() ?? 0), xMax = max(xs.max() ?? 1, xMin + 1e-12)
        func px(_ x: Double) -> Double { left + (xs.count == 1 ? 0.5 : (x - xMin) / (xMax - xMin)) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - (y - yMin) / (yMax - yMin) * (height - top - bottom) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">\n"
        out += "<title>\(Self.escape(title))</title>\n"
        out += "<text x=\"\(Int(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        // Axes and ticks.
        out += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"#333\"/>\n"
        out += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"#333\"/>\n"
        for step in 0 ... 4 {
            let y = yMin + (yMax - yMin) * Double(step) / 4
            out += "<line x1=\"\(left - 4)\" y1=\"\(Self.f(py(y)))\" x2=\"\(width - right)\" y2=\"\(Self.f(py(y)))\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(left - 6)\" y=\"\(Self.f(py(y) + 4))\" text-anchor=\"end\" font-size=\"11\">\(Self.tick(y))</text>\n"
        }
        let ticks: [(Double, String)] = numericX
            ? (0 ... 4).map { step in let x = xMin + (xMax - xMin) * Double(step) / 4; return (x, Self.tick(x)) }
            : xLabels.enumerated().filter { xLabels.count <= 12 || $0.offset % max(1, xLabels.count / 10) == 0 }.map { (xs[$0.offset], $0.element) }
        for (x, label) in ticks {
            out += "<text x=\"\(Self.f(px(x)))\" y=\"\(Self.f(height - bottom + 16))\" text-anchor=\"middle\" font-size=\"11\">\(Self.escape(label))</text>\n"
        }
        out += "<text x=\"\(Int((left + width - right) / 2))\" y=\"\(Int(height - 10))\" text-anchor=\"middle\" font-size=\"12\">\(Self.escape(xLabel))</text>\n"
        out += "<text x=\"14\" y=\"\(Int((top + height - bottom) / 2))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 14 \(Int((top + height - bottom) / 2)))\">\(Self.escape(yLabel))</text>\n"
        // Bands, then lines, error bars and points.
        let sorted = xs.indices.sorted { xs[$0] < xs[$1] }
        for band in bands where band.lows.count == xs.count && band.highs.count == xs.count {
            let upper = sorted.map { "\(Self.f(px(xs[$0]))),\(Self.f(py(band.highs[$0])))" }
            let lower = sorted.reversed().map { "\(Self.f(px(xs[$0]))),\(Self.f(py(band.lows[$0])))" }
            out += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(band.color)\" fill-opacity=\"0.25\" stroke=\"none\"><title>\(Self.escape(band.name))</title></polygon>\n"
        }
        // Lines join the points in the order of x (a --vary list need not be ascending).
        for line in series {
            let lineXs = line.xs ?? xs
            guard line.ys.count == lineXs.count else { continue }
            let order = lineXs.indices.sorted { lineXs[$0] < lineXs[$1] }
            if line.joined {
                let points = order.map { "\(Self.f(px(lineXs[$0]))),\(Self.f(py(line.ys[$0])))" }
                out += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"/>\n"
            }
            for (index, (x, y)) in zip(lineXs, line.ys).enumerated() {
                if let bars = line.errorBars, bars.count == line.ys.count, bars[index].count == 2 {
                    let bar = bars[index]
                    out += "<line x1=\"\(Self.f(px(x)))\" y1=\"\(Self.f(py(bar[0])))\" x2=\"\(Self.f(px(x)))\" y2=\"\(Self.f(py(bar[1])))\" stroke=\"\(line.color)\"/>\n"
                }
                let at = numericX || !xLabels.indices.contains(index) ? Self.tick(x) : xLabels[index]
                out += "<circle cx=\"\(Self.f(px(x)))\" cy=\"\(Self.f(py(y)))\" r=\"3\" fill=\"\(line.color)\"><title>\(Self.escape(line.name)) at \(Self.escape(at)): \(Self.tick(y))</title></circle>\n"
            }
        }
        // Legend.
        var legendX = left + 8
        for (name, color) in series.map({ ($0.name, $0.color) }) + bands.map({ ($0.name, $0.color) }) {
            out += "<rect x=\"\(Self.f(legendX))\" y=\"\(Int(top - 22))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
            out += "<text x=\"\(Self.f(legendX + 14))\" y=\"\(Int(top - 13))\" font-size=\"11\">\(Self.escape(name))</text>\n"
            legendX += 24 + Double(name.count) * 6.2
        }
        return out + "</svg>\n"
    }

    /// Numbers from the labels when each is a number with one shared unit, else 0, 1, 2, ...
    func xPositions() -> [Double] {
        if let numbers = try? NumberWithUnit.splitSharingOneUnit(xLabels).values, Set(numbers).count == numbers.count {
            return numbers
        }
        return xLabels.indices.map(Double.init)
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func tick(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 100 || value == value.rounded() { return String(format: "%.0f", value) }
        return magnitude >= 1 ? String(format: "%.2f", value) : String(format: "%.3f", value)
    }

    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
