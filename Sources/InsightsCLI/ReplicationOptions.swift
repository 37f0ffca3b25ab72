import ArgumentParser
import RedisClient

/// `--replica-acks N [--replica-ack-timeout-ms T]` of `insights serve` and `insights run`: how many
/// replicas must hold an ingested batch before it is acknowledged (docs/reliability.md, "Replication").
struct ReplicationOptions: ParsableArguments {
    @Option(help: "Replicas that must confirm each ingested batch (Redis WAIT) before ingest answers 2xx; fewer within the timeout answers 503 and the client retries (0 = the primary's reply is enough).")
    var replicaAcks: Int = 0

    @Option(help: "How long ingest waits for --replica-acks replicas, in milliseconds.")
    var replicaAckTimeoutMs: Int = 1000

    func validate() throws {
        guard replicaAcks >= 0 else { throw ValidationError("--replica-acks must be 0 or more") }
        guard (1...4000).contains(replicaAckTimeoutMs) else {
            throw ValidationError("--replica-ack-timeout-ms must be between 1 and 4000 (below the 5 s Redis command timeout)")
        }
    }

    /// nil when off.
    var replicaAcksSetting: ReplicaAcks? {
        replicaAcks > 0 ? ReplicaAcks(replicas: replicaAcks, timeoutMs: replicaAckTimeoutMs) : nil
    }
}
