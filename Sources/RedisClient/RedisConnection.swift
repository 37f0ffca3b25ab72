import CHiredis
#if canImport(Glibc)
import Glibc
#endif

/// One blocking hiredis connection. Owns the `redisContext` and frees it in `deinit`.
///
/// Not `Sendable`: a hiredis context is not thread-safe. ``RedisClient`` confines each
/// connection to one dedicated thread; use this type directly only from one thread.
/// After a ``RedisConnectionError`` the context is dead (`isBroken`); make a new one.
public final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// True once hiredis reported an I/O or protocol error: the connection must be replaced.
    public private(set) var isBroken = false

    /// Connects, then authenticates and selects the database if the configuration says so.
    public init(configuration: RedisConfiguration) throws {
        _ = Self.ignoreSIGPIPE
        let connectTV = Self.timeval(seconds: configuration.connectTimeout)
        let ctx: UnsafeMutablePointer<redisContext>?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            ctx = redisConnectWithTimeout(host, Int32(port), connectTV)
        case .unix(let path):
            ctx = redisConnectUnixWithTimeout(path, connectTV)
        }
        guard let ctx else { throw RedisConnectionError.connect("hiredis could not allocate a context") }
        if ctx.pointee.err != 0 {
            let message = String(cString: chiredis_errstr(ctx))
            redisFree(ctx)
            throw RedisConnectionError.connect("\(configuration.redactedDescription): \(message)")
        }
        context = ctx
        guard redisSetTimeout(ctx, Self.timeval(seconds: configuration.commandTimeout)) == REDIS_OK else {
            throw RedisConnectionError.connect("could not set the command timeout")
        }
        if let password = configuration.password {
            var auth = RedisCommand("AUTH")
            if let user = configuration.username { auth.append(user) }
            auth.append(password)
            try send(auth).get()
        }
        if configuration.database != 0 {
            try send(RedisCommand("SELECT", String(configuration.database))).get()
        }
    }

    deinit { redisFree(context) }

    /// hiredis writes with plain write(2): a write to a socket the server closed would raise
    /// SIGPIPE and kill the process. Ignoring it turns that into an EPIPE error we handle.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// Sends one command and waits for its reply. An error reply comes back as `.error`
    /// (call `.get()` to throw it); connection failures throw ``RedisConnectionError``.
    public func send(_ command: RedisCommand) throws(RedisConnectionError) -> RESPValue {
        try append(command)
        return try readReply()
    }

    /// Pipelining: writes all commands, then reads all replies, one round trip in all.
    /// Replies are in command order; error replies are `.error` values in place.
    public func pipeline(_ commands: [RedisCommand]) throws(RedisConnectionError) -> [RESPValue] {
        for c in commands { try append(c) }
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    /// Queues a command in hiredis' output buffer without sending it (pipelining, first half).
    public func append(_ command: RedisCommand) throws(RedisConnectionError) {
        guard !isBroken else { throw .io("connection is broken") }
        let status: Int32 = command.storage.withUnsafeBufferPointer { buf in
            let base = UnsafeRawPointer(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                .assumingMemoryBound(to: CChar.self)
            var argv: [UnsafePointer<CChar>?] = []
            argv.reserveCapacity(command.lengths.count)
            var offset = 0
            for n in command.lengths {
                argv.append(base + offset)
                offset += n
            }
            return command.lengths.withUnsafeBufferPointer { lens in
                argv.withUnsafeMutableBufferPointer { argvBuf in
                    redisAppendCommandArgv(context, Int32(command.lengths.count), argvBuf.baseAddress, lens.baseAddress)
                }
            }
        }
        if status != REDIS_OK { throw failure() }
    }

    /// Flushes the output buffer if needed and reads the next reply (pipelining, second half).
    public func readReply() throws(RedisConnectionError) -> RESPValue {
        guard !isBroken else { throw .io("connection is broken") }
        var reply: UnsafeMutablePointer<redisReply>?
        if chiredis_get_reply(context, &reply) != REDIS_OK || reply == nil {
            throw failure()
        }
        defer { freeReplyObject(reply) }
        return Self.convert(reply!)
    }

    private func failure() -> RedisConnectionError {
        isBroken = true
        let message = String(cString: chiredis_errstr(context))
        switch context.pointee.err {
        case REDIS_ERR_EOF: return .eof(message)
        case REDIS_ERR_PROTOCOL: return .protocolError(message)
        case REDIS_ERR_IO:
            if errno == EAGAIN || errno == EWOULDBLOCK || message.contains("temporarily unavailable") {
                return .timeout(message)
            }
            return .io(message)
        default: return .other(message)
        }
    }

    /// Copies a hiredis reply tree into Swift values (the caller frees the tree).
    static func convert(_ r: UnsafePointer<redisReply>) -> RESPValue {
        let reply = r.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(reply.str, reply.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(reply.str, reply.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(reply.str, reply.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(reply.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            var items: [RESPValue] = []
            items.reserveCapacity(Int(reply.elements))
            for i in 0..<reply.elements {
                items.append(convert(chiredis_element(r, i)))
            }
            return .array(items)
        default:
            return .error("ERR unsupported reply type \(reply.type)")
        }
    }

    private static func bytes(_ p: UnsafeMutablePointer<CChar>?, _ n: Int) -> [UInt8] {
        guard let p, n > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n).bindMemory(to: UInt8.self))
    }

    private static func timeval(seconds: Double) -> Glibc.timeval {
        let whole = Int(seconds)
        return Glibc.timeval(tv_sec: whole, tv_usec: Int(((seconds - Double(whole)) * 1_000_000).rounded()))
    }
}
