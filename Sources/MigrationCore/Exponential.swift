/// e^x and e^x - 1 in Swift alone: the engine core links no C library (the simulator drives it,
/// and it must stay free of I/O and platform code), and the stdlib has no exponential. Range
/// reduction x = k ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor series, 2^k by scaling the
/// exponent; e^x - 1 for small x by its own series, so that nothing cancels. Relative error
/// about 1e-15, against libm's in the tests; the core needs it for estimates, not for bits.
enum Exponential {
    /// ln 2 in two parts: the high part has trailing zero bits, so k x high is exact.
    private static let ln2High = 6.93147180369123816490e-01
    private static let ln2Low = 1.90821492927058770002e-10

    static func exp(_ x: Double) -> Double {
        guard !x.isNaN else { return x }
        if x > 709.782712893384 { return .infinity }
        if x < -745.1332191019412 { return 0 }
        let k = (x / (ln2High + ln2Low)).rounded()
        let r = (x - k * ln2High) - k * ln2Low
        // |k| <= 1075 here: the conversion cannot trap.
        return Double(sign: .plus, exponent: Int(k), significand: series(r, from: 1))
    }

    static func expMinusOne(_ x: Double) -> Double {
        guard abs(x) < 0.5 else { return exp(x) - 1 }
        return series(x, from: 0)
    }

    /// `start` + x + x^2/2! + ...: at most 30 terms, far more than |x| <= 0.5 needs.
    private static func series(_ x: Double, from start: Double) -> Double {
        var term = x
        var sum = start + x
        var n = 1.0
        for _ in 0 ..< 30 {
            n += 1
            term *= x / n
            let next = sum + term
            if next == sum { break }
            sum = next
        }
        return sum
    }
}
