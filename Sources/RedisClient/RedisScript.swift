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
    /// The last (main) script's shebang line (`#!lua`, which must be a script's first line) is
    /// moved to the front.
    public init(concatenating names: [String], directory: String) throws {
        var sources = try names.map { try RedisScript(name: $0, directory: directory).source }
        var shebang = ""
        if let main = sources.last, main.hasPrefix("#!") {
            let end = main.firstIndex(of: "\n").map { main.index(after: $0) } ?? main.endIndex
            shebang = String(main[..<end])
            sources[sources.count - 1] = String(main[end...])
        }
        self.init(name: names.last ?? "", source: shebang + sources.joined())
    }

    /// `EVALSHA <sha> numkeys …` rewritten as `EVAL <source> numkeys …` (same keys and arguments).
    func inline(_ call: RedisCommand) -> RedisCommand {
        call.replacingHead(with: ["EVAL", source], dropping: 2)
    }

    /// The `EVALSHA` command for this script; append the arguments to it.
    public func call(keys: [String]) -> RedisCommand {
        var command = RedisCommand("EVALSHA", sha, String(keys.count))
        for k in keys { command.append(key: k) }
        return command
    }
}
