import Foundation

/// Finds the project's data directories (`lua/`, `web/`) at run time.
///
/// Order: the environment variable when set (and then only it: a wrong explicit path is not
/// silently replaced by another), else `./<name>`, then the `<name>/` of the source tree this
/// binary was built from (development and tests), then `/usr/share/insights/<name>` (images).
public enum ResourceLocator {
    public static func candidates(_ name: String, environmentVariable: String,
                                  environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        if let dir = environment[environmentVariable], !dir.isEmpty { return [dir] }
        let source = URL(fileURLWithPath: #filePath)  // <repo>/Sources/InsightsTracker/ScriptLocator.swift
        let repo = source.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        return [FileManager.default.currentDirectoryPath + "/" + name, repo + "/" + name, "/usr/share/insights/" + name]
    }

    /// The first candidate holding `marker`, or nil.
    public static func directory(_ name: String, environmentVariable: String, marker: String,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        candidates(name, environmentVariable: environmentVariable, environment: environment)
            .first { FileManager.default.fileExists(atPath: $0 + "/" + marker) }
    }
}

/// Finds the project's `lua/` directory (``ResourceLocator``, `INSIGHTS_LUA_DIR`).
public enum ScriptLocator {
    public static func luaDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        ResourceLocator.directory("lua", environmentVariable: "INSIGHTS_LUA_DIR", marker: "ingest.lua", environment: environment)
            ?? ResourceLocator.candidates("lua", environmentVariable: "INSIGHTS_LUA_DIR", environment: environment)[0]
    }
}
