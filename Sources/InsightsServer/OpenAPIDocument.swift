#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The OpenAPI 3.1 document of the front, served at `GET /openapi.json` (docs/api.md points here).
/// Its single source is `Resources/openapi.json`, compiled into the binary by SwiftPM
/// (`.embedInCode`), so a deployment needs no extra file. Keep it in step with the controllers;
/// `e2e/test_openapi.py` runs schemathesis against it (no 5xx, every response matches).
enum OpenAPIDocument {
    static let json = String(decoding: PackageResources.openapi_json, as: UTF8.self)
}
