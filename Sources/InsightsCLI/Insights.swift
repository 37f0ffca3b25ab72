import ArgumentParser

@main
struct Insights: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "insights",
        abstract: "Real-time analytics for conversational AI platforms, on Redis.",
        subcommands: [RunCommand.self, ServeCommand.self, WorkerCommand.self, MigrateCommand.self, SimulateCommand.self, Bench.self, KeysCommand.self]
    )
}
