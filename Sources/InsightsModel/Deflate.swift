import CZlib

/// Raw deflate (RFC 1951) with a preset dictionary, over Debian's zlib: what compacted journeys
/// are stored as (``CompactJourney``). A preset dictionary matters here: a session's events are a
/// kilobyte or two, too short for deflate to learn the JSON member names the event model uses
/// before the input ends.
public enum Deflate {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { "deflate: \(message)" }
    }

    /// Compresses `input` (level 6, raw deflate) with `dictionary` preset.
    public static func compress(_ input: [UInt8], dictionary: [UInt8]) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard czlib_deflate_init_raw(&stream, 6) == Z_OK else { throw Failure(message: "deflateInit2 failed") }
        defer { deflateEnd(&stream) }
        if !dictionary.isEmpty {
            let rc = dictionary.withUnsafeBufferPointer { deflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
            guard rc == Z_OK else { throw Failure(message: "deflateSetDictionary failed (\(rc))") }
        }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 16)
        let rc: Int32 = input.withUnsafeBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
                stream.avail_in = uInt(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { throw Failure(message: "deflate did not finish (\(rc))") }
        output.removeLast(Int(stream.avail_out))
        return output
    }

    /// Decompresses raw deflate data made by ``compress(_:dictionary:)`` with the same dictionary.
    /// - Parameter limit: the most output bytes accepted (a corrupt or hostile input cannot grow without bound).
    public static func decompress(_ input: some Collection<UInt8>, dictionary: [UInt8], limit: Int = 64 << 20) throws(Failure) -> [UInt8] {
        let bytes = Array(input)
        var stream = z_stream()
        guard czlib_inflate_init_raw(&stream) == Z_OK else { throw Failure(message: "inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        if !dictionary.isEmpty {
            // A raw stream has no dictionary id to wait for: the dictionary is set before inflating.
            let rc = dictionary.withUnsafeBufferPointer { inflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
            guard rc == Z_OK else { throw Failure(message: "inflateSetDictionary failed (\(rc))") }
        }
        return try inflateAll(&stream, bytes, limit: limit)
    }

    /// Decompresses a gzip or zlib stream (the header says which).
    public static func gunzip(_ input: some Collection<UInt8>, limit: Int) throws(Failure) -> [UInt8] {
        let bytes = Array(input)
        var stream = z_stream()
        guard czlib_inflate_init_auto(&stream) == Z_OK else { throw Failure(message: "inflateInit2 failed") }
        defer { inflateEnd(&stream) }
        return try inflateAll(&stream, bytes, limit: limit)
    }

    private static func inflateAll(_ stream: inout z_stream, _ bytes: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(4096, min(limit, bytes.count * 4)))
        var rc: Int32 = Z_OK
        bytes.withUnsafeBufferPointer { inp in
            stream.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
            stream.avail_in = uInt(inp.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    rc = inflate(&stream, Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
            } while rc == Z_OK && output.count <= limit && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        if output.count > limit { throw Failure(message: "output over \(limit) bytes") }
        guard rc == Z_STREAM_END else { throw Failure(message: rc == Z_OK || rc == Z_BUF_ERROR ? "truncated input" : "corrupt input (\(rc))") }
        return output
    }
}
