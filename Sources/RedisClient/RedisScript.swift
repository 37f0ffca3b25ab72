import Foundation

/// A Lua script known by its SHA-1, called with `EVALSHA` and reloaded on `NOSCRIPT`.
public struct RedisScript: Sendable, Equatable {
    /// A short name for logs and errors (the file name without `.lua`).
    public let name: String
    /// The Lua source.
    public let source: String
    /// SHA-1 of the source, lower-case hex: what `EVALSHA` takes.
    public let sha: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
        self.sha = SHA1.hex(source)
    }

    /// Reads `<directory>/<name>.lua`.
    public init(name: String, directory: String) throws {
        let path = (directory as NSString).appendingPathComponent("\(name).lua")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RedisConfigurationError("Lua script not found: \(path)")
        }
        self.init(name: name, source: String(decoding: data, as: UTF8.self))
    }

    /// Concatenates `<directory>/<name>.lua` for each name, in order, into one script named
    /// after the last: Redis scripts cannot include files, so shared helpers are prepended.
    public init(concatenating names: [String], directory: String) throws {
        let sources = try names.map { try RedisScript(name: $0, directory: directory).source }
        self.init(name: names.last ?? "", source: sources.joined())
    }

    /// `EVALSHA <sha> numkeys …` rewritten as `EVAL <source> numkeys …` (same keys and arguments).
    func inline(_ call: RedisCommand) -> RedisCommand {
        var command = RedisCommand("EVAL", source)
        for argument in call.arguments.dropFirst(2) { command.append(bytes: argument) }
        return command
    }

    /// The `EVALSHA` command for this script; append the arguments to it.
    public func call(keys: [String]) -> RedisCommand {
        var command = RedisCommand("EVALSHA", sha, String(keys.count))
        for k in keys { command.append(k) }
        return command
    }
}

extension RedisClient {
    /// Loads scripts into the server's script cache (`SCRIPT LOAD`), e.g. at start-up.
    public func load(_ scripts: [RedisScript]) async throws {
        let replies = try await pipeline(scripts.map { RedisCommand("SCRIPT", "LOAD", $0.source) })
        for (script, reply) in zip(scripts, replies) {
            guard let sha = try reply.get().string, sha == script.sha else {
                throw RedisCommandError(message: "ERR SCRIPT LOAD of \(script.name) returned an unexpected SHA")
            }
        }
    }

    /// Runs a script call (built with ``RedisScript/call(keys:)``). Throws error replies.
    /// If the server has forgotten the script (restart, failover, `SCRIPT FLUSH`), loads it and retries once.
    @discardableResult
    public func evaluate(_ script: RedisScript, _ command: RedisCommand) async throws -> RESPValue {
        try await evaluate(script, [command])[0].get()
    }

    /// Pipelines several calls of one script. Calls answered `NOSCRIPT` did not run, so they
    /// are re-sent on the same connection as `EVAL` with the source; other error replies stay in place.
    public func evaluate(_ script: RedisScript, _ commands: [RedisCommand]) async throws -> [RESPValue] {
        if commands.isEmpty { return [] }
        return try await withConnection { conn in
            var replies = try conn.pipeline(commands)
            let missing = replies.indices.filter {
                if case .error(let m) = replies[$0] { return m.hasPrefix("NOSCRIPT") }
                return false
            }
            if !missing.isEmpty {
                // Re-sent as EVAL with the full source, which runs the script and caches it again.
                // (SCRIPT LOAD then EVALSHA would leave a window: a SCRIPT FLUSH between the two
                // answers NOSCRIPT a second time.)
                let retried = try conn.pipeline(missing.map { script.inline(commands[$0]) })
                for (i, reply) in zip(missing, retried) { replies[i] = reply }
            }
            return replies
        }
    }
}
