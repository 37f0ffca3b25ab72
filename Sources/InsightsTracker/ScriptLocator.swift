import Foundation

/// Finds the project's `lua/` directory.
///
/// Order: `INSIGHTS_LUA_DIR`, then `./lua`, then the `lua/` of the source tree this
/// binary was built from (development and tests), then `/usr/share/insights/lua` (images).
public enum ScriptLocator {
    public static func luaDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        var candidates: [String] = []
        if let dir = environment["INSIGHTS_LUA_DIR"], !dir.isEmpty { candidates.append(dir) }
        candidates.append(FileManager.default.currentDirectoryPath + "/lua")
        let source = URL(fileURLWithPath: #filePath)  // <repo>/Sources/InsightsTracker/ScriptLocator.swift
        candidates.append(source.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/lua")
        candidates.append("/usr/share/insights/lua")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/ingest.lua") } ?? candidates[0]
    }
}
