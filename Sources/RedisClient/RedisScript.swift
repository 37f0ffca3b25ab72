import Foundation
import Synchronization

/// A Lua script called with `EVALSHA` by the SHA-1 Redis gave it, and sent with its source
/// (`EVAL`) when a node does not know it (`NOSCRIPT`: not loaded yet, a restart, a failover,
/// `SCRIPT FLUSH`). Nothing here computes SHA-1: `SCRIPT LOAD` answers it, and the client
/// remembers it the first time it loads the script (``RedisClient/load(_:)``, or after a `NOSCRIPT`).
public struct RedisScript: Sendable, Equatable {
    /// A short name for logs and errors (the file name without `.lua`).
    public let name: String
    /// The Lua source.
    public let source: String
    /// The SHA-1 `SCRIPT LOAD` answered, shared by the copies of this value.
    let digest: ScriptDigest

    /// What `EVALSHA` is sent with before the SHA-1 is known: no script has it, so the node answers
    /// `NOSCRIPT` and the call is sent again with the source (nothing ran).
    static let unknownSHA = String(repeating: "0", count: 40)

    public init(name: String, source: String) {
        self.name = name
        self.source = source
        self.digest = ScriptDigest()
    }

    /// The SHA-1 Redis knows this script by (lower-case hex), nil until the client learned it.
    public var sha: String? { digest.value }

    public static func == (a: RedisScript, b: RedisScript) -> Bool { a.name == b.name && a.source == b.source }

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
        self.init(name: names.last ?? "", concatenating: try names.map { try RedisScript(name: $0, directory: directory).source })
    }

    /// Sources concatenated in order into one script, the last one's shebang line moved to the front.
    public init(name: String, concatenating sources: [String]) {
        var sources = sources
        var shebang = ""
        if let main = sources.last, main.hasPrefix("#!") {
            let end = main.firstIndex(of: "\n").map { main.index(after: $0) } ?? main.endIndex
            shebang = String(main[..<end])
            sources[sources.count - 1] = String(main[end...])
        }
        self.init(name: name, source: shebang + sources.joined())
    }

    /// `EVALSHA <sha> numkeys …` rewritten as `EVAL <source> numkeys …` (same keys and arguments).
    func inline(_ call: RedisCommand) -> RedisCommand {
        call.replacingHead(with: ["EVAL", source], dropping: 2)
    }

    /// The `EVALSHA` command for this script; append the arguments to it.
    public func call(keys: [String]) -> RedisCommand {
        var command = RedisCommand("EVALSHA", sha ?? Self.unknownSHA, String(keys.count))
        for k in keys { command.append(key: k) }
        return command
    }
}

/// The SHA-1 of a script as `SCRIPT LOAD` answered it, learned once and read by every call.
final class ScriptDigest: Sendable {
    private let stored = Mutex<String?>(nil)

    var value: String? { stored.withLock { $0 } }

    /// Records `sha` (every node answers the same for the same source).
    func learn(_ sha: String) { stored.withLock { $0 = sha } }
}
