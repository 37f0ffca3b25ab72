#!/usr/bin/env bash
# Regenerates otlp_traces.pb.swift from otlp_traces.proto. Run by hand after editing the .proto and
# commit both; CI never runs it (building swift-protobuf's plugin takes ~10 minutes on 2 cores).
# Needs: protoc (e.g. `pip install grpcio-tools==1.85.1`, then PROTOC="python -m grpc_tools.protoc")
# and protoc-gen-swift of swift-protobuf 1.39.0, the version Package.swift names
# (`swift build -c release --product protoc-gen-swift` in a checkout of that tag).
set -euo pipefail
cd "$(dirname "$0")"
PROTOC=${PROTOC:-protoc}
PLUGIN=${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to the protoc-gen-swift binary}
$PROTOC --plugin=protoc-gen-swift="$PLUGIN" --swift_out=. --swift_opt=Visibility=Public -I . otlp_traces.proto
