import CGSL
import MigrationCore

/// Random numbers for the simulator, from GSL's MT19937 generator (`gsl_rng_mt19937`).
/// One seed reproduces a run exactly; one generator per simulation, used from one thread.
public final class GSLRandom {
    private let rng: UnsafeMutablePointer<gsl_rng>
    public let seed: UInt64

    public init(seed: UInt64) {
        guard let rng = livemig_gsl_rng_new_mt19937(seed) else {
            fatalError("GSL could not allocate a random number generator")
        }
        self.rng = rng
        self.seed = seed
    }

    deinit { gsl_rng_free(rng) }

    /// Uniform on [0, 1).
    @inline(__always)
    public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// Uniform integer on 0 ..< upperBound (upperBound <= 2^32).
    @inline(__always)
    public func uniformInt(below upperBound: Int) -> Int {
        precondition(upperBound > 0 && upperBound <= 1 << 32, "uniformInt bound out of range")
        return Int(gsl_rng_uniform_int(rng, UInt(upperBound)))
    }

    /// Normal with mean 0 and standard deviation `sd` (`gsl_ran_gaussian`).
    public func gaussian(sd: Double) -> Double { gsl_ran_gaussian(rng, sd) }

    /// Lognormal whose logarithm has mean `zeta` and standard deviation `sigma` (`gsl_ran_lognormal`).
    public func lognormal(zeta: Double, sigma: Double) -> Double { gsl_ran_lognormal(rng, zeta, sigma) }

    /// Uniform on [low, high) (`gsl_ran_flat`).
    public func flat(low: Double, high: Double) -> Double { gsl_ran_flat(rng, low, high) }

    /// A Poisson-distributed count with the given mean (`gsl_ran_poisson`). Means above 2^31
    /// use the normal approximation, which GSL's integer return type could not hold.
    public func poisson(mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        if mean < 2_000_000_000 { return Int(gsl_ran_poisson(rng, mean)) }
        return CheckedConversion.clampedInt(mean + gsl_ran_gaussian(rng, mean.squareRoot()), to: 0 ... Int.max)
    }
}

/// Sampling from a fixed discrete distribution with Walker's alias method
/// (`gsl_ran_discrete_preproc` / `gsl_ran_discrete`): O(1) per draw.
public final class GSLDiscreteDistribution {
    private let table: UnsafeMutablePointer<gsl_ran_discrete_t>
    public let count: Int

    /// `weights` need not sum to 1; they must be non-negative and not all zero.
    public init?(weights: [Double]) {
        guard !weights.isEmpty, weights.allSatisfy({ $0 >= 0 }), weights.contains(where: { $0 > 0 }) else { return nil }
        guard let table = weights.withUnsafeBufferPointer({ gsl_ran_discrete_preproc($0.count, $0.baseAddress) }) else {
            return nil
        }
        self.table = table
        count = weights.count
    }

    deinit { gsl_ran_discrete_free(table) }

    @inline(__always)
    public func sample(_ random: GSLRandom) -> Int { random.sampleDiscrete(table) }
}

extension GSLRandom {
    @inline(__always)
    fileprivate func sampleDiscrete(_ table: UnsafeMutablePointer<gsl_ran_discrete_t>) -> Int {
        Int(gsl_ran_discrete(rng, table))
    }
}
