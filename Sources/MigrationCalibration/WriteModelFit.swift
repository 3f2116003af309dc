/// A fitted write model and what it was fitted to: the observation, the blocks of memory the
/// guest wrote, and how well the model reproduces the dirty counts seen over intervals of
/// several lengths.
public struct WriteModelFit: Sendable, Equatable {
    /// A contiguous block of dirty pages and the page writes seen in it.
    public struct Block: Sendable, Equatable {
        public var pages: Range<Int>
        public var hits: Int
    }

    /// The model's dirty count against the observed one for one interval length.
    public struct Check: Sendable, Equatable {
        public var seconds: Double
        public var observedDirtyPages: Double
        public var predictedDirtyPages: Double
        /// (predicted - observed) / observed; 0 when both are 0.
        public var relativeError: Double {
            observedDirtyPages > 0 ? (predictedDirtyPages - observedDirtyPages) / observedDirtyPages
                : (predictedDirtyPages > 0 ? 1 : 0)
        }
    }

    public var model: FittedWriteModel
    public var reads: Int
    public var observedSeconds: Double
    public var intervalSeconds: Double
    public var distinctPages: Int
    /// The blocks, the one with the most writes first.
    public var blocks: [Block]
    public var checks: [Check]

    /// The largest relative error of the model's dirty counts over the interval lengths checked.
    public var worstRelativeError: Double {
        checks.map { abs($0.relativeError) }.max() ?? 0
    }
}
