import Foundation
import RedisClient

/// The Lua scripts of this directory, compiled into the binary (SwiftPM resources, `.embedInCode`,
/// Package.swift's `InsightsScripts` target), so that a platform linking the tracker deploys one
/// binary and nothing beside it (docs/tracker.md). `INSIGHTS_LUA_DIR`, a directory holding the
/// scripts, is an explicit override (edit a script and try it without rebuilding; the benchmarks
/// run an earlier design's scripts that way).
public enum LuaScripts {
    /// The environment variable naming a directory of scripts to use instead of the embedded ones.
    public static let overrideVariable = "INSIGHTS_LUA_DIR"

    /// The override directory, or nil: the embedded scripts.
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let dir = environment[overrideVariable], !dir.isEmpty else { return nil }
        return dir
    }

    /// Every script by name (the file name without `.lua`).
    static let embedded: [String: [UInt8]] = [
        "common": PackageResources.common_lua, "ingest": PackageResources.ingest_lua, "alerts": PackageResources.alerts_lua,
        "worker_lib": PackageResources.worker_lib_lua, "worker_apply": PackageResources.worker_apply_lua,
        "worker_sweep": PackageResources.worker_sweep_lua, "worker_compact": PackageResources.worker_compact_lua,
        "worker_prune": PackageResources.worker_prune_lua,
    ]

    /// The names of the embedded scripts.
    public static var names: [String] { embedded.keys.sorted() }

    /// `names` concatenated into one script (``RedisScript/init(name:concatenating:)``): read from
    /// `directory` when given, else the embedded copies.
    public static func script(_ names: [String], directory: String?) throws -> RedisScript {
        if let directory { return try RedisScript(concatenating: names, directory: directory) }
        let sources = try names.map { name -> String in
            guard let bytes = embedded[name] else { throw RedisConfigurationError("no embedded Lua script \(name).lua") }
            return String(decoding: bytes, as: UTF8.self)
        }
        return RedisScript(name: names.last ?? "", concatenating: sources)
    }
}
