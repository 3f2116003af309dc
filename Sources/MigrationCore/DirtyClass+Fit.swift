extension RemainingMigrationEstimate.DirtyClass {
    /// The dirtying of a guest nothing describes (a firmware image), fitted to two counts of
    /// the distinct pages it dirtied since one moment: the first round's dirty log, peeked
    /// early and late in the round. Poisson writes at r pages/s over a working set of W pages
    /// leave W(1 - e^(-r t / W)) dirty after t, so the ratio q = D2 / D1 of the counts at
    /// t1 < t2 falls from t2 / t1 (nothing written twice yet: W unbounded) to 1 (W all dirty by
    /// t1); with x = r t1 / W, q = (1 - e^(-x t2 / t1)) / (1 - e^(-x)), solved for x by
    /// bisection, then W = D1 / (1 - e^(-x)). Empty when nothing was dirtied (an idle guest);
    /// W at most `guestPages`. Pure arithmetic, for the progress display's first round.
    public static func fitted(early: (seconds: Double, pages: Double), late: (seconds: Double, pages: Double),
                              guestPages: Double) -> [Self] {
        let (t1, d1) = early, (t2, d2) = late
        guard t1 > 0, t2 > t1, t1.isFinite, t2.isFinite, d1.isFinite, d2.isFinite, guestPages > 0 else { return [] }
        guard d2 > 0 else { return [] }
        guard d1 > 0 else {
            // Nothing by t1, some by t2: writes began in between; their rate over the rest.
            return [Self(pages: guestPages, writesPerSecond: d2 / (t2 - t1))]
        }
        let k = t2 / t1
        let q = d2 / d1
        let x: Double
        if q >= k * (1 - 1e-9) {
            // As fast as linear: no page written twice that the counts show.
            return [Self(pages: guestPages, writesPerSecond: d2 / t2)]
        } else if q <= 1 + 1e-9 {
            x = 20  // every page dirty by t1: a small working set written fast
        } else {
            func ratio(_ x: Double) -> Double { Exponential.expMinusOne(-x * k) / Exponential.expMinusOne(-x) }
            var low = 1e-9, high = 50.0
            for _ in 0 ..< 100 {
                let middle = (low + high) / 2
                if ratio(middle) > q { low = middle } else { high = middle }
            }
            x = (low + high) / 2
        }
        let unbounded = d1 / -Exponential.expMinusOne(-x)
        guard unbounded < guestPages else {
            // More than memory: all of it, at the rate that dirties the late count there.
            guard d2 < guestPages else { return [Self(pages: guestPages, writesPerSecond: d2 / t2)] }
            return [Self(pages: guestPages, writesPerSecond: exponentForShare(d2 / guestPages) * guestPages / t2)]
        }
        let workingSet = max(d2, unbounded)
        return [Self(pages: workingSet, writesPerSecond: x * workingSet / t1)]
    }

    /// The y >= 0 with 1 - e^(-y) = `share` (0 <= share < 1), by bisection: -ln(1 - share)
    /// without a C library in the core.
    static func exponentForShare(_ share: Double) -> Double {
        var low = 0.0, high = 50.0
        for _ in 0 ..< 100 {
            let middle = (low + high) / 2
            if -Exponential.expMinusOne(-middle) < share { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}
