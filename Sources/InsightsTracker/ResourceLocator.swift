import Foundation

/// Finds the project's data directories (`web/`) at run time. (The Lua scripts are compiled in:
/// `LuaScripts` in lua/LuaScripts.swift.)
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
