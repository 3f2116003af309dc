import ArgumentParser

/// `livemig`: plans, predicts and performs live migration of virtual machines.
@main
struct Livemig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "livemig",
        abstract: "Plan, predict and perform live migration of virtual machines, the way Xen does it.",
        subcommands: [SimulateCommand.self, SweepCommand.self, MergeCommand.self, TuneCommand.self, PlanCommand.self, GuestCommand.self, ListCommand.self, ReceiveCommand.self, MigrateCommand.self, JobCommand.self,
                      SaveCommand.self, RestoreCommand.self, ObserveCommand.self, CalibrateCommand.self, HistoryCommand.self, BenchCommand.self, XenInfoCommand.self]
    )
}
