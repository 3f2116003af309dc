/// One cell of the accuracy suite: a guest, its workload, a policy and a cap.
struct AccuracyCase: Sendable {
    var memory: String
    /// The built-in guest program's workload (`guest start --workload`).
    var workload: String
    var policy: String
    /// `migrate --bandwidth`, or nil for none.
    var cap: String?

    var label: String { "\(workload) \(memory) \(policy) \(cap ?? "uncapped")" }

    /// Four cells that cover the write models and the policies: about a minute.
    static let quick: [AccuracyCase] = [
        AccuracyCase(memory: "128M", workload: "idle", policy: "xen4", cap: nil),
        AccuracyCase(memory: "128M", workload: "uniform,workingSet=16MiB,rate=5000", policy: "xen3", cap: "1Gbit/s"),
        AccuracyCase(memory: "128M", workload: "hotCold,workingSet=16MiB,hotSet=1MiB,hotRate=20000,coldRate=500", policy: "qemu", cap: "1Gbit/s"),
        AccuracyCase(memory: "128M", workload: "sequential,workingSet=16MiB,rate=20000", policy: "xen4", cap: "2Gbit/s"),
    ]

    /// The uncapped cell the full suite migrates eight times without a prediction, for the
    /// run-to-run spread of an uncapped migration's time.
    static let repeated = AccuracyCase(memory: "256M", workload: "uniform,workingSet=32MiB,rate=20000", policy: "xen4", cap: nil)

    /// Workloads (idle, uniform at two rates, hot/cold, a sweep) x the three policies x
    /// uncapped and 1 Gbit/s: 30 cells of 256 MiB guests.
    static let full: [AccuracyCase] = {
        let workloads = [
            "idle",
            "uniform,workingSet=32MiB,rate=5000",
            "uniform,workingSet=32MiB,rate=20000",
            "hotCold,workingSet=64MiB,hotSet=2MiB,hotRate=20000,coldRate=500",
            "sequential,workingSet=32MiB,rate=30000",
        ]
        return workloads.flatMap { workload in
            ["xen3", "xen4", "qemu"].flatMap { policy in
                [nil, "1Gbit/s"].map { AccuracyCase(memory: "256M", workload: workload, policy: policy, cap: $0) }
            }
        }
    }()
}
