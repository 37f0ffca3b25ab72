import Foundation
import Hummingbird
import InsightsModel

/// A request body as sent or gunzipped (`Content-Encoding: gzip`), for the ingest routes that take
/// compressed bodies (Segment's, OTLP's): `tooLarge` past `limit` once gunzipped, 400 for a malformed
/// gzip stream, 415 for another encoding.
enum ContentEncoding {
    static func decode(_ raw: ByteBuffer, encoding: String?, limit: Int, tooLarge: APIError) throws -> [UInt8] {
        let bytes = Array(raw.readableBytesView)
        switch encoding?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity": return bytes
        case "gzip", "x-gzip":
            do throws(Deflate.Failure) {
                return try Deflate.gunzip(bytes, limit: limit)
            } catch {
                if error.message.hasPrefix("output over") { throw tooLarge }
                throw APIError.badRequest("malformed gzip body", detail: error.message)
            }
        case let other?:
            throw APIError(.unsupportedMediaType, "unsupported content encoding",
                           detail: "Content-Encoding must be gzip or absent (got \"\(other.prefix(40))\")")
        }
    }
}
