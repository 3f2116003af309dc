/// The head every self-contained report shares: title and the one stylesheet, inline.
public enum HTMLPage {
    public static func head(title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(SVGPlot.escape(title))</title>
        <style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:13px}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td.l{text-align:left}.note{color:#555;font-size:13px}
        figure{display:inline-block;margin:8px}</style>
        </head><body>

        """
    }
}
