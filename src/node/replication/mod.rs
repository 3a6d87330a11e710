//! Replication: the backlog, the master side (SYNC/PSYNC, BGSAVE for replication, streaming) and
//! the replica side (handshake, transfer, loading, streaming, ACKs), following Redis 7.0.15.
//!
//! Both sides are `impl Node` blocks in `master` and `replica`: replication is not a separate
//! actor in Redis either, but code paths of one server that share its keyspace, offsets and ids.

pub mod backlog;
pub(crate) mod failover;
pub(crate) mod loading;
pub mod master;
pub(crate) mod replica;
pub(crate) mod wait;

use rand_core::Rng;

/// 40 zeros: `master_replid2` when no secondary id is set.
pub const NULL_REPLID: &str = "0000000000000000000000000000000000000000";

/// A fresh 40-hex-character id (replication id, run id, diskless EOF mark) from the node's
/// seeded generator, as Redis's `getRandomHexChars` makes them.
pub fn random_hex40(rng: &mut impl Rng) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..40).map(|_| HEX[(rng.next_u32() & 15) as usize] as char).collect()
}

/// The replica-side states of Redis's `repl_state` (REDIS-REPLICATION.md §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplState {
    /// Not a replica.
    None,
    /// Must connect; the cron tries each second.
    Connect,
    /// Connection attempt in progress.
    Connecting,
    /// PING sent.
    ReceivePingReply,
    /// About to send AUTH/REPLCONF.
    SendHandshake,
    /// AUTH sent.
    ReceiveAuthReply,
    /// REPLCONF listening-port sent.
    ReceivePortReply,
    /// REPLCONF ip-address sent.
    ReceiveIpReply,
    /// REPLCONF capa sent.
    ReceiveCapaReply,
    /// About to send PSYNC.
    SendPsync,
    /// PSYNC sent, waiting for +FULLRESYNC / +CONTINUE.
    ReceivePsyncReply,
    /// Receiving the RDB payload.
    Transfer,
    /// Streaming.
    Connected,
}

impl ReplState {
    /// The state as `ROLE` prints it.
    pub fn role_name(self) -> &'static str {
        match self {
            ReplState::None => "none",
            ReplState::Connect => "connect",
            ReplState::Connecting => "connecting",
            ReplState::Transfer => "sync",
            ReplState::Connected => "connected",
            _ => "handshake",
        }
    }

    /// Redis's enum name, for the trace.
    pub fn redis_name(self) -> &'static str {
        match self {
            ReplState::None => "REPL_STATE_NONE",
            ReplState::Connect => "REPL_STATE_CONNECT",
            ReplState::Connecting => "REPL_STATE_CONNECTING",
            ReplState::ReceivePingReply => "REPL_STATE_RECEIVE_PING_REPLY",
            ReplState::SendHandshake => "REPL_STATE_SEND_HANDSHAKE",
            ReplState::ReceiveAuthReply => "REPL_STATE_RECEIVE_AUTH_REPLY",
            ReplState::ReceivePortReply => "REPL_STATE_RECEIVE_PORT_REPLY",
            ReplState::ReceiveIpReply => "REPL_STATE_RECEIVE_IP_REPLY",
            ReplState::ReceiveCapaReply => "REPL_STATE_RECEIVE_CAPA_REPLY",
            ReplState::SendPsync => "REPL_STATE_SEND_PSYNC",
            ReplState::ReceivePsyncReply => "REPL_STATE_RECEIVE_PSYNC_REPLY",
            ReplState::Transfer => "REPL_STATE_TRANSFER",
            ReplState::Connected => "REPL_STATE_CONNECTED",
        }
    }
}

/// A replica's state as its master sees it (`client->replstate`, §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaveState {
    /// Needs a new RDB; waits for a BGSAVE to start.
    WaitBgsaveStart,
    /// The RDB is being produced; the stream is buffered for it.
    WaitBgsaveEnd,
    /// A disk RDB is being written to the socket.
    SendBulk,
    /// Streaming.
    Online,
}

impl SlaveState {
    /// The `state=` field of INFO replication.
    pub fn info_name(self) -> &'static str {
        match self {
            SlaveState::WaitBgsaveStart | SlaveState::WaitBgsaveEnd => "wait_bgsave",
            SlaveState::SendBulk => "send_bulk",
            SlaveState::Online => "online",
        }
    }

    /// Redis's name for the state (`SLAVE_STATE_WAIT_BGSAVE_START` and so on), in lower case.
    pub fn redis_name(self) -> &'static str {
        match self {
            SlaveState::WaitBgsaveStart => "wait_bgsave_start",
            SlaveState::WaitBgsaveEnd => "wait_bgsave_end",
            SlaveState::SendBulk => "send_bulk",
            SlaveState::Online => "online",
        }
    }
}

/// The replication settings of REDIS-REPLICATION.md §1 that the engine implements, with Redis's
/// defaults, plus the lab's own knob for how fast a forked child produces RDB bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplConfig {
    /// `repl-diskless-sync` (default yes).
    pub diskless_sync: bool,
    /// `repl-diskless-sync-delay` in seconds (default 5).
    pub diskless_sync_delay: u64,
    /// `repl-diskless-sync-max-replicas` (default 0).
    pub diskless_sync_max_replicas: usize,
    /// `repl-ping-replica-period` in seconds (default 10).
    pub ping_period: u64,
    /// `repl-timeout` in seconds (default 60).
    pub timeout: u64,
    /// `repl-backlog-size` in bytes (default 1 MB).
    pub backlog_size: usize,
    /// `repl-backlog-ttl` in seconds (default 3600).
    pub backlog_ttl: u64,
    /// `replica-read-only` (default yes).
    pub replica_read_only: bool,
    /// `replica-serve-stale-data` (default yes).
    pub serve_stale_data: bool,
    /// `replica-priority` (default 100).
    pub replica_priority: u64,
    /// Lab only (`lab-rdb-bytes-per-sec`): how fast the BGSAVE child produces bytes.
    pub rdb_bytes_per_sec: u64,
}

impl Default for ReplConfig {
    fn default() -> Self {
        ReplConfig {
            diskless_sync: true,
            diskless_sync_delay: 5,
            diskless_sync_max_replicas: 0,
            ping_period: 10,
            timeout: 60,
            backlog_size: 1024 * 1024,
            backlog_ttl: 3600,
            replica_read_only: true,
            serve_stale_data: true,
            replica_priority: 100,
            rdb_bytes_per_sec: 50 * 1024 * 1024,
        }
    }
}
