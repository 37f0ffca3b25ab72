import Foundation
import InsightsModel

/// What a key may do. Scopes are independent: `admin` does not imply `read` or `ingest`.
public enum Scope: String, Sendable, CaseIterable, Comparable {
    case ingest, read, admin

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// The agents a key may touch.
public enum AgentAccess: Sendable, Equatable {
    case all
    case only(Set<String>)

    public func allows(_ agent: String) -> Bool {
        switch self {
        case .all: return true
        case .only(let set): return set.contains(agent)
        }
    }
}

/// A key's ingest rate limit.
public enum RateSetting: Sendable, Equatable {
    /// The store's default rate (no `rate=` on the line).
    case `default`
    /// `rate=0` or `rate=none`.
    case unlimited
    /// Events per second.
    case perSecond(Double)
}

/// One configured API key: only the SHA-256 digest of the secret is kept.
public struct APIKey: Sendable, Equatable {
    public var name: String
    public var digest: [UInt8]
    public var scopes: Set<Scope>
    public var agents: AgentAccess
    public var rate: RateSetting
    /// Bucket size in events (nil: twice the rate).
    public var burst: Double?

    public init(name: String, digest: [UInt8], scopes: Set<Scope>, agents: AgentAccess,
                rate: RateSetting = .default, burst: Double? = nil) {
        self.name = name
        self.digest = digest
        self.scopes = scopes
        self.agents = agents
        self.rate = rate
        self.burst = burst
    }

    /// The config line for this key (`sha256:<hex> scopes=… agents=… name=… [rate=…] [burst=…]`).
    public var configLine: String {
        var s = "sha256:\(KeyDigest.hex(digest)) scopes=\(scopes.sorted().map(\.rawValue).joined(separator: ","))"
        switch agents {
        case .all: s += " agents=*"
        case .only(let set): s += " agents=\(set.sorted().joined(separator: ","))"
        }
        s += " name=\(name)"
        switch rate {
        case .default: break
        case .unlimited: s += " rate=0"
        case .perSecond(let r): s += " rate=\(Self.number(r))"
        }
        if let burst { s += " burst=\(Self.number(burst))" }
        return s
    }

    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
}

/// A key configuration that cannot be used: the service refuses to start.
public struct KeyConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var message: String

    public init(source: String, line: Int, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    public var description: String { "\(source), entry \(line): \(message)" }
}

/// Every configured key, looked up by the digest of the presented secret.
public struct APIKeyStore: Sendable {
    public private(set) var keys: [APIKey]
    /// Ingest events per second of keys without `rate=` (0: unlimited).
    public var defaultRate: Double

    public static let defaultIngestRate: Double = 1000

    public init(keys: [APIKey] = [], defaultRate: Double = APIKeyStore.defaultIngestRate) {
        self.keys = keys
        self.defaultRate = defaultRate
    }

    /// No keys: authentication is off (the service then binds loopback only, see ``BindPolicy``).
    public var isEmpty: Bool { keys.isEmpty }

    /// The key whose digest equals SHA-256(`secret`). Every configured digest is compared, each in
    /// constant time, with no early exit, so the time taken does not depend on which key matched.
    public func authenticate(_ secret: String) -> (index: Int, key: APIKey)? {
        authenticate(secret, compare: ConstantTime.equals)
    }

    /// Same, with the comparison given (tests count its calls).
    func authenticate(_ secret: String, compare: ([UInt8], [UInt8]) -> Bool) -> (index: Int, key: APIKey)? {
        let presented = KeyDigest.digest(Array(secret.utf8))
        var found: Int?
        for (i, key) in keys.enumerated() where compare(key.digest, presented) && found == nil { found = i }
        return found.map { ($0, keys[$0]) }
    }

    /// Adds keys, refusing a digest already present.
    public mutating func add(_ more: [APIKey], source: String) throws(KeyConfigError) {
        for (i, k) in more.enumerated() {
            if let other = keys.first(where: { $0.digest == k.digest }) {
                throw KeyConfigError(source: source, line: i + 1, message: "the same key is configured twice (also as '\(other.name)')")
            }
            if keys.contains(where: { $0.name == k.name }) {
                throw KeyConfigError(source: source, line: i + 1, message: "the key name '\(k.name)' is used twice")
            }
            keys.append(k)
        }
    }

    /// The keys of `INSIGHTS_API_KEYS` (entries separated by newlines or `;`; plaintext `key:` entries
    /// allowed) and of the keys file (one entry per line, `#` comments; digests only).
    public static func load(environmentValue: String?, file: String?, defaultRate: Double = defaultIngestRate) throws(KeyConfigError) -> APIKeyStore {
        var store = APIKeyStore(defaultRate: defaultRate)
        if let value = environmentValue, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            try store.add(try parse(value, source: "INSIGHTS_API_KEYS", allowPlaintext: true, separators: ["\n", ";"]), source: "INSIGHTS_API_KEYS")
        }
        if let file, !file.isEmpty {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw KeyConfigError(source: file, line: 0, message: "cannot read the keys file: \(error.localizedDescription)")
            }
            try store.add(try parse(text, source: file, allowPlaintext: false, separators: ["\n"]), source: file)
        }
        return store
    }

    /// Parses key entries: `sha256:<64 hex> scopes=<s,…> agents=<*|a,b> [name=<n>] [rate=<ev/s|0|none>] [burst=<n>]`,
    /// or, if `allowPlaintext`, `key:<secret>` in place of the digest (hashed here, at least 16 characters).
    /// Blank entries and `#` comments are skipped. `line` in errors counts entries from 1.
    public static func parse(_ text: String, source: String, allowPlaintext: Bool, separators: Set<Character> = ["\n"]) throws(KeyConfigError) -> [APIKey] {
        var keys: [APIKey] = []
        let entries = text.split(omittingEmptySubsequences: false, whereSeparator: { separators.contains($0) || $0 == "\r\n" })
        for (n, raw) in entries.enumerated() {
            let line = n + 1
            func fail(_ m: String) -> KeyConfigError { KeyConfigError(source: source, line: line, message: m) }
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let tokens = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = tokens.first else { continue }
            let digest: [UInt8]
            if first.hasPrefix("sha256:") {
                guard let d = Hex.decode(String(first.dropFirst(7))), d.count == 32 else {
                    throw fail("sha256: must be followed by 64 hex digits (the SHA-256 of the key; `insights keys new` prints it)")
                }
                digest = d
            } else if first.hasPrefix("key:") {
                guard allowPlaintext else {
                    throw fail("plaintext keys (key:…) are accepted only in INSIGHTS_API_KEYS; store sha256:<hex> here")
                }
                let secret = String(first.dropFirst(4))
                guard secret.count >= 16 else { throw fail("a plaintext key must have at least 16 characters") }
                digest = KeyDigest.digest(Array(secret.utf8))
            } else {
                throw fail("an entry starts with sha256:<hex>\(allowPlaintext ? " or key:<secret>" : "") (got '\(first.prefix(12))…')")
            }
            var scopes: Set<Scope>?
            var agents: AgentAccess?
            var name: String?
            var rate = RateSetting.default
            var burst: Double?
            var seen: Set<String> = []
            for token in tokens.dropFirst() {
                let kv = token.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard kv.count == 2 else { throw fail("expected name=value, got '\(token)'") }
                let (k, v) = (kv[0], kv[1])
                guard seen.insert(k).inserted else { throw fail("\(k)= is given twice") }
                switch k {
                case "scopes":
                    var set: Set<Scope> = []
                    for s in v.split(separator: ",", omittingEmptySubsequences: false) {
                        guard let scope = Scope(rawValue: String(s)) else {
                            throw fail("unknown scope '\(s)' (scopes are ingest, read, admin)")
                        }
                        set.insert(scope)
                    }
                    scopes = set
                case "agents":
                    if v == "*" {
                        agents = .all
                    } else {
                        var set: Set<String> = []
                        for a in v.split(separator: ",", omittingEmptySubsequences: false) {
                            guard isValidAgentID(a) else {
                                throw fail("invalid agent id '\(a)' in agents= (ids are [A-Za-z0-9._:@-]{1,128}; * for all agents)")
                            }
                            set.insert(String(a))
                        }
                        agents = .only(set)
                    }
                case "name":
                    guard !v.isEmpty, v.count <= 64, v.allSatisfy({ $0.isLetter || $0.isNumber || "._-@:".contains($0) }) else {
                        throw fail("name must be 1 to 64 letters, digits or ._-@: (got '\(v)')")
                    }
                    name = v
                case "rate":
                    if v == "none" || v == "0" {
                        rate = .unlimited
                    } else {
                        guard let r = Double(v), r.isFinite, r > 0 else {
                            throw fail("rate must be events per second > 0, or 0/none for unlimited (got '\(v)')")
                        }
                        rate = .perSecond(r)
                    }
                case "burst":
                    guard let b = Double(v), b.isFinite, b >= 1 else { throw fail("burst must be a number of events ≥ 1 (got '\(v)')") }
                    burst = b
                default:
                    throw fail("unknown attribute '\(k)' (known: scopes, agents, name, rate, burst)")
                }
            }
            guard let scopes, !scopes.isEmpty else { throw fail("scopes= is required (ingest, read, admin, comma-separated)") }
            guard let agents else { throw fail("agents= is required (comma-separated agent ids, or * for all)") }
            keys.append(APIKey(name: name ?? "key-" + String(KeyDigest.hex(digest).prefix(8)), digest: digest, scopes: scopes,
                               agents: agents, rate: rate, burst: burst))
        }
        return keys
    }

    /// The event model's id rule (``IdentifierRule``).
    static func isValidAgentID(_ s: some StringProtocol) -> Bool { IdentifierRule.isValid(s) }
}
