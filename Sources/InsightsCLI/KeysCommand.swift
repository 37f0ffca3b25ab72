import ArgumentParser
import Foundation
import InsightsServer
import Logging

/// `insights keys new`: makes an API key and prints the config line for it.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage API keys (docs/security.md).",
        subcommands: [New.self]
    )

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random API key and the line to put in INSIGHTS_API_KEYS or the keys file."
        )

        @Option(help: "Comma-separated scopes: ingest, read, admin.")
        var scopes: String

        @Option(help: "Comma-separated agent ids the key may touch, or * for every agent.")
        var agents: String

        @Option(help: "A name for logs and error messages (default: derived from the key's digest).")
        var name: String?

        @Option(help: "Ingest limit in events per second (0 = unlimited; default: the server's --default-ingest-rate).")
        var rate: String?

        @Option(help: "Ingest burst in events (default: twice the rate).")
        var burst: String?

        func run() throws {
            let secret = Self.newSecret()
            var line = "key:\(secret) scopes=\(scopes) agents=\(agents)"
            if let name { line += " name=\(name)" }
            if let rate { line += " rate=\(rate)" }
            if let burst { line += " burst=\(burst)" }
            let key: APIKey
            do {
                let parsed = try APIKeyStore.parse(line, source: "options", allowPlaintext: true)
                key = parsed[0]
            } catch {
                throw ValidationError(error.description)
            }
            print("""
                API key (give it to the client; it is not stored anywhere and cannot be shown again):
                  \(secret)
                Config line (INSIGHTS_API_KEYS or the keys file; only the SHA-256 of the key is kept):
                  \(key.configLine)
                Clients send it as:  Authorization: Bearer \(secret)
                """)
        }

        /// 32 random bytes from the system's CSPRNG (getrandom / /dev/urandom), base64url without padding, prefixed `ins_`.
        static func newSecret() -> String {
            var rng = SystemRandomNumberGenerator()
            let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
            let b64 = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            return "ins_" + b64
        }
    }
}

/// The API key options of `serve` and `run`, and the bind check.
struct AuthOptions: ParsableArguments {
    @Option(help: "File of API keys, one `sha256:<hex> scopes=… agents=…` entry per line (docs/security.md). Env: INSIGHTS_API_KEYS_FILE. Keys may also be given in INSIGHTS_API_KEYS.")
    var apiKeysFile: String = ProcessInfo.processInfo.environment["INSIGHTS_API_KEYS_FILE"] ?? ""

    @Option(help: "Ingest events per second of keys without rate= (0 = unlimited). Env: INSIGHTS_DEFAULT_INGEST_RATE.")
    var defaultIngestRate: Double = ProcessInfo.processInfo.environment["INSIGHTS_DEFAULT_INGEST_RATE"].flatMap(Double.init)
        ?? APIKeyStore.defaultIngestRate

    @Flag(help: "Allow listening on a non-loopback address without API keys (anyone who can connect can read and write everything).")
    var insecure = false

    func validate() throws {
        guard defaultIngestRate.isFinite, defaultIngestRate >= 0 else { throw ValidationError("--default-ingest-rate must be ≥ 0") }
    }

    /// Loads the keys and applies the bind policy; exits non-zero with a clear message when either refuses.
    func keys(host: String, logger: Logger) throws -> APIKeyStore {
        let store: APIKeyStore
        do {
            store = try APIKeyStore.load(environmentValue: ProcessInfo.processInfo.environment["INSIGHTS_API_KEYS"],
                                         file: apiKeysFile.isEmpty ? nil : apiKeysFile, defaultRate: defaultIngestRate)
        } catch {
            Self.fail("invalid API key configuration: \(error)")
        }
        switch BindPolicy.decide(host: host, keysConfigured: !store.isEmpty, insecure: insecure) {
        case .authenticated:
            logger.info("API keys required", metadata: ["keys": "\(store.keys.count)"])
        case .loopbackWithoutKeys:
            logger.notice("no API keys configured: open to local clients only (loopback)")
        case .insecure(let warning):
            logger.warning("\(warning)")
        case .refused(let message):
            Self.fail(message)
        }
        return store
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        Foundation.exit(2)
    }
}
