//! CLIENT (ID, KILL) and SHUTDOWN: the commands that act on connections and on the server's life
//! rather than on data.
//!
//! They exist so that a learner (or a test) can break a replication link on purpose exactly as
//! with a real Redis, `CLIENT KILL TYPE master` on a replica or `CLIENT KILL TYPE replica` on a
//! master, and stop a node so that it restarts from its `dump.rdb` (REDIS-REPLICATION.md §5.8).
//!
//! SHUTDOWN follows Redis 7.0's `prepareForShutdown`: a master whose replicas lag behind asks
//! them for an ACK, holds writes back and waits up to `shutdown-timeout` seconds for them to
//! catch up. Then the node finishes it itself, as `finishShutdown` does: the final RDB goes to
//! the environment as an `Output::Persist`, and on its answer ([`Node::persisted`]) the node
//! asks to exit (`Output::Exit`) or cancels. The simulator and the native server only write
//! the file and end the node; neither knows how a shutdown is decided.

use super::{flags, parse_i64, syntax_error, Command, Ctx, NodeFn, Reply};
use crate::node::replication::ReplState;
use crate::node::{ConnId, ConnKind, Micros, Node, Persisted};
use crate::resp::{encode_command, Frame};

/// Connection and life-cycle commands.
pub(super) const COMMANDS: &[Command<NodeFn>] = &[
    Command { name: "client", arity: -2, flags: flags::STALE | flags::ADMIN, handler: client },
    Command { name: "shutdown", arity: -1, flags: flags::STALE | flags::ADMIN, handler: shutdown },
];

/// What SHUTDOWN does with the dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveChoice {
    /// Save if save points are configured (a `--dir` behind TCP), as plain `SHUTDOWN` does.
    Default,
    /// `SHUTDOWN SAVE`: save even without save points.
    Save,
    /// `SHUTDOWN NOSAVE`: never save.
    NoSave,
}

/// A SHUTDOWN under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shutdown {
    /// `SAVE` / `NOSAVE` / neither.
    pub save: SaveChoice,
    /// `FORCE`: exit even if the final save fails.
    pub force: bool,
    /// Lagging replicas are waited for until then (`shutdown-timeout`); `NOW` sets it to the
    /// request time.
    pub deadline: Micros,
    /// Clients blocked in SHUTDOWN: they get an error if it fails or is aborted.
    pub clients: Vec<ConnId>,
    /// Due and being finished: the final save is with the environment.
    pub finishing: bool,
}

/// Redis's client types, as CLIENT KILL TYPE names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientType {
    Normal,
    Master,
    Replica,
    PubSub,
}

fn client_type_by_name(name: &[u8]) -> Option<ClientType> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(ClientType::Normal),
        b"master" => Some(ClientType::Master),
        b"replica" | b"slave" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::PubSub),
        _ => None,
    }
}

/// The filters of `CLIENT KILL`.
#[derive(Default)]
struct KillFilter {
    addr: Option<String>,
    laddr: Option<String>,
    kind: Option<ClientType>,
    id: Option<ConnId>,
    skipme: bool,
}

fn client(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let sub = argv[1].to_ascii_lowercase();
    match (sub.as_slice(), argv.len()) {
        (b"id", 2) => Ok(Some(Frame::Integer(ctx.conn as i64))),
        (b"kill", n) if n >= 3 => client_kill(node, ctx, argv),
        (b"id" | b"kill", _) => Err(super::wrong_arity(&format!("client|{}", String::from_utf8_lossy(&sub)))),
        _ => Err(Frame::error(format!(
            "ERR unknown subcommand '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&argv[1])
        ))),
    }
}

/// `CLIENT KILL ip:port` (old form: may kill the caller, `+OK` or `-ERR No such client`) and
/// `CLIENT KILL <filter> <value> ...` (new form: replies with how many were killed).
fn client_kill(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let old_form = argv.len() == 3;
    let mut f = KillFilter { skipme: !old_form, ..Default::default() };
    if old_form {
        f.addr = Some(String::from_utf8_lossy(&argv[2]).into_owned());
    } else {
        if argv.len() % 2 != 0 {
            return Err(syntax_error());
        }
        for pair in argv[2..].chunks(2) {
            let value = &pair[1];
            match pair[0].to_ascii_lowercase().as_slice() {
                b"id" => match parse_i64(value) {
                    Some(id) if id >= 1 => f.id = Some(id as ConnId),
                    _ => return Err(Frame::error("ERR client-id should be greater than 0")),
                },
                b"type" => match client_type_by_name(value) {
                    Some(t) => f.kind = Some(t),
                    None => {
                        let name = String::from_utf8_lossy(value);
                        return Err(Frame::error(format!("ERR Unknown client type '{name}'")));
                    }
                },
                b"addr" => f.addr = Some(String::from_utf8_lossy(value).into_owned()),
                b"laddr" => f.laddr = Some(String::from_utf8_lossy(value).into_owned()),
                b"user" if value == b"default" => {}
                b"user" => {
                    let name = String::from_utf8_lossy(value);
                    return Err(Frame::error(format!("ERR No such user '{name}'")));
                }
                b"skipme" => match value.to_ascii_lowercase().as_slice() {
                    b"yes" => f.skipme = true,
                    b"no" => f.skipme = false,
                    _ => return Err(syntax_error()),
                },
                _ => return Err(syntax_error()),
            }
        }
    }
    let victims: Vec<ConnId> =
        node.conns.keys().copied().filter(|&c| node.client_matches(c, &f) && !(f.skipme && c == ctx.conn)).collect();
    let killed = victims.len();
    let close_self = victims.contains(&ctx.conn);
    for c in victims.into_iter().filter(|&c| c != ctx.conn) {
        node.close(c);
    }
    let reply = match (old_form, killed) {
        (true, 0) => Frame::error("ERR No such client"),
        (true, _) => Frame::ok(),
        (false, n) => Frame::Integer(n as i64),
    };
    if close_self {
        // CLIENT_CLOSE_AFTER_REPLY: the caller reads its answer, then the connection closes.
        node.send_frame(ctx.conn, &reply);
        node.close(ctx.conn);
        return Ok(None);
    }
    Ok(Some(reply))
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`.
fn shutdown(node: &mut Node, ctx: &mut Ctx, argv: &[Vec<u8>]) -> Reply {
    let (mut save, mut nosave, mut now, mut force, mut abort) = (false, false, false, false, false);
    for a in &argv[1..] {
        match a.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" => now = true,
            b"force" => force = true,
            b"abort" => abort = true,
            _ => return Err(syntax_error()),
        }
    }
    if (abort && (save || nosave || now || force)) || (save && nosave) {
        return Err(syntax_error());
    }
    if abort {
        if node.shutdown.is_none() {
            return Err(Frame::error("ERR No shutdown in progress."));
        }
        node.cancel_shutdown();
        node.log('*', "Shutdown manually aborted.");
        return Ok(Some(Frame::ok()));
    }
    if let Some(s) = node.shutdown.as_mut() {
        // Already initiated: this client waits for the same outcome.
        s.clients.push(ctx.conn);
        return Ok(None);
    }
    let save = match (save, nosave) {
        (true, _) => SaveChoice::Save,
        (_, true) => SaveChoice::NoSave,
        _ => SaveChoice::Default,
    };
    node.log('#', "User requested shutdown...");
    let timeout_secs = node.config_text.get("shutdown-timeout").and_then(|t| t.parse::<u64>().ok()).unwrap_or(10);
    let wait = !now && timeout_secs != 0 && !node.replicas_in_sync();
    let deadline = if wait { node.now + timeout_secs * 1_000_000 } else { node.now };
    node.shutdown = Some(Shutdown { save, force, deadline, clients: vec![ctx.conn], finishing: false });
    if wait {
        if node.master.is_none() {
            // A replica feeds nothing of its own: its sub-replicas ACK what they proxied anyway.
            node.feed_stream(&encode_command(&["REPLCONF", "GETACK", "*"]));
        }
        node.log('*', "Waiting for replicas before shutting down.");
    }
    Ok(None)
}

impl Node {
    fn client_type(&self, conn: ConnId) -> Option<ClientType> {
        let c = self.conns.get(&conn)?;
        match c.kind {
            // The link is a client of ours only once the sync is done (before that it is
            // Redis's `repl_transfer_s`, not in the client list).
            ConnKind::MasterLink => {
                let linked =
                    self.master.as_ref().is_some_and(|l| l.conn == Some(conn) && l.state == ReplState::Connected);
                linked.then_some(ClientType::Master)
            }
            ConnKind::Client if c.replica.is_some() => Some(ClientType::Replica),
            ConnKind::Client => Some(ClientType::Normal),
        }
    }

    fn client_matches(&self, conn: ConnId, f: &KillFilter) -> bool {
        let Some(kind) = self.client_type(conn) else {
            return false;
        };
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        let peer = format!("{}:{}", c.peer_host, c.peer_port);
        let local = format!("{}:{}", self.cfg.host, self.cfg.port);
        f.addr.as_ref().is_none_or(|a| *a == peer)
            && f.laddr.as_ref().is_none_or(|a| *a == local && kind != ClientType::Master)
            && f.kind.is_none_or(|k| k == kind)
            && f.id.is_none_or(|id| id == conn)
    }

    /// Redis's `isReadyToShutdown`: every replica has acknowledged the whole stream.
    pub(crate) fn replicas_in_sync(&self) -> bool {
        self.replica_rows().iter().all(|r| r.3 == self.master_repl_offset)
    }

    /// Writes wait while a SHUTDOWN waits for lagging replicas (`PAUSE_DURING_SHUTDOWN`).
    pub(crate) fn shutdown_pauses_writes(&self) -> bool {
        self.shutdown.is_some() && self.shutdown_due().is_none()
    }

    /// The SHUTDOWN under way, once it is time to finish it: every replica caught up, or the
    /// `shutdown-timeout` passed.
    fn shutdown_due(&self) -> Option<&Shutdown> {
        let s = self.shutdown.as_ref()?;
        (self.now >= s.deadline || self.replicas_in_sync()).then_some(s)
    }

    /// `finishShutdown`, once the SHUTDOWN is due (checked whenever the environment polls for
    /// output): logs the lagging replicas, then hands the final RDB to the environment
    /// ([`crate::node::Output::Persist`] with `last`) or, with nothing to save, exits at once.
    pub(crate) fn finish_shutdown_if_due(&mut self) {
        if self.shutdown.as_ref().is_none_or(|s| s.finishing) || self.shutdown_due().is_none() {
            return;
        }
        if let Some(s) = self.shutdown.as_mut() {
            s.finishing = true;
        }
        let rows = self.replica_rows();
        let mut lagging = 0;
        for (i, (ip, port, state, off, lag)) in rows.iter().enumerate() {
            if *off != self.master_repl_offset {
                lagging += 1;
                let behind = self.master_repl_offset - off;
                let name = self
                    .serving
                    .replicas
                    .get(i)
                    .map(|&c| self.replica_name(c))
                    .unwrap_or_else(|| format!("{ip}:{port}"));
                let state = match state {
                    crate::node::replication::SlaveState::Online => "online",
                    crate::node::replication::SlaveState::SendBulk => "send_bulk",
                    _ => "wait_bgsave",
                };
                self.log(
                    '#',
                    format!("Lagging replica {name} reported offset {behind} behind master, lag={lag}, state={state}."),
                );
            }
        }
        if !rows.is_empty() {
            let n = rows.len();
            self.log('*', format!("{} of {n} replicas are in sync when shutting down.", n - lagging));
        }
        let save = match self.shutdown.as_ref().map(|s| s.save) {
            Some(SaveChoice::Save) => true,
            Some(SaveChoice::Default) => self.persistence.keeps_files,
            _ => false,
        };
        if save {
            self.log('*', "Saving the final RDB snapshot before exiting.");
            let data = self.rdb_snapshot();
            self.saved_to_disk(data, true);
        } else {
            self.exit();
        }
    }

    /// The environment's answer to an [`crate::node::Output::Persist`], in order. A routine save
    /// that could not be written is logged; the answer to the final save ends the SHUTDOWN: the
    /// node exits, or, the save failed without FORCE, cancels it and its clients get Redis's error.
    pub fn persisted(&mut self, answer: Persisted) {
        let last = self.persistence.unanswered.pop_front().unwrap_or(false);
        match (answer, last) {
            (Persisted::Written | Persisted::Discarded, false) => {}
            (Persisted::Failed(e), false) => self.log('#', format!("Write error saving DB on disk: {e}")),
            (Persisted::Written, true) => {
                self.log('*', "DB saved on disk");
                self.exit();
            }
            (Persisted::Discarded, true) => {
                self.log('*', "(lab) No --dir: the final RDB snapshot stays in memory and is lost.");
                self.exit();
            }
            (Persisted::Failed(e), true) => {
                self.log('#', format!("Failed saving the DB: {e}"));
                if self.shutdown.as_ref().is_some_and(|s| s.force) {
                    self.log('#', "Error trying to save the DB. Exit anyway.");
                    self.exit();
                } else {
                    self.log('#', "Error trying to save the DB, can't exit.");
                    self.log('#', "Errors trying to shut down the server. Check the logs for more information.");
                    self.cancel_shutdown();
                }
            }
        }
    }

    /// `cancelShutdown`: blocked clients get an error and writes resume.
    fn cancel_shutdown(&mut self) {
        let Some(s) = self.shutdown.take() else {
            return;
        };
        for c in s.clients {
            self.send_frame(c, &Frame::error("ERR Errors trying to SHUTDOWN. Check logs."));
        }
        for c in self.conns.keys().copied().collect::<Vec<_>>() {
            self.process_query(c);
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::node::commands::testutil::{node, run};
    use crate::node::{Node, Output, Persisted};
    use crate::resp::Frame;
    use crate::sim::World;

    #[test]
    fn client_kill_checks_its_arguments_as_redis_does() {
        let mut n = node();
        let err = |n: &mut crate::node::Node, l: &str| match run(n, l).0 {
            Frame::Error(e) => e,
            other => panic!("{l}: expected an error, got {other:?}"),
        };
        assert_eq!(err(&mut n, "CLIENT KILL TYPE nobody"), "ERR Unknown client type 'nobody'");
        assert_eq!(err(&mut n, "CLIENT KILL ID 0"), "ERR client-id should be greater than 0");
        assert_eq!(err(&mut n, "CLIENT KILL ID x"), "ERR client-id should be greater than 0");
        assert_eq!(err(&mut n, "CLIENT ID x"), "ERR wrong number of arguments for 'client|id' command");
        assert_eq!(err(&mut n, "CLIENT KILL"), "ERR wrong number of arguments for 'client|kill' command");
        assert_eq!(err(&mut n, "CLIENT KILL TYPE"), "ERR No such client");
        assert_eq!(err(&mut n, "CLIENT KILL SKIPME maybe TYPE normal"), "ERR syntax error");
        assert_eq!(err(&mut n, "CLIENT KILL TYPE normal ID"), "ERR syntax error");
        assert_eq!(err(&mut n, "CLIENT KILL USER alice"), "ERR No such user 'alice'");
        assert_eq!(err(&mut n, "CLIENT KILL 1.2.3.4:5"), "ERR No such client");
        assert_eq!(run(&mut n, "CLIENT KILL TYPE replica").0, Frame::Integer(0));
        assert_eq!(run(&mut n, "CLIENT KILL TYPE master").0, Frame::Integer(0));
        assert_eq!(err(&mut n, "CLIENT NOSUCH"), "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.");
        assert_eq!(run(&mut n, "CLIENT ID").0, Frame::Integer(1));
    }

    /// What the node asked of its environment about its life, in order: `P` a save, `L` the
    /// final save, `X` exit.
    fn life(n: &mut Node) -> String {
        std::iter::from_fn(|| n.poll_output())
            .filter_map(|o| match o {
                Output::Persist { last, .. } => Some(if last { 'L' } else { 'P' }),
                Output::Exit => Some('X'),
                _ => None,
            })
            .collect()
    }

    fn logged(n: &mut Node) -> Vec<String> {
        std::iter::from_fn(|| n.poll_log()).map(|l| l.text).collect()
    }

    #[test]
    fn shutdown_arguments_and_abort() {
        let mut n = node();
        let reply = |n: &mut Node, l: &str| run(n, l).0;
        assert_eq!(reply(&mut n, "SHUTDOWN SAVE NOSAVE"), Frame::error("ERR syntax error"));
        assert_eq!(reply(&mut n, "SHUTDOWN ABORT NOW"), Frame::error("ERR syntax error"));
        assert_eq!(reply(&mut n, "SHUTDOWN LATER"), Frame::error("ERR syntax error"));
        assert_eq!(reply(&mut n, "SHUTDOWN ABORT"), Frame::error("ERR No shutdown in progress."));
        // No replicas: due at once, no reply (the client is blocked until the process exits),
        // but aborted before the node was polled, it asks for nothing.
        assert_eq!(reply(&mut n, "SHUTDOWN NOSAVE"), Frame::Null);
        assert!(!n.shutdown_pauses_writes(), "a due shutdown holds nothing back");
        assert_eq!(reply(&mut n, "SHUTDOWN ABORT"), Frame::ok());
        assert_eq!(life(&mut n), "");
        // Plain SHUTDOWN saves where files are kept; a failed final save without FORCE cancels.
        assert_eq!(reply(&mut n, "SHUTDOWN"), Frame::Null);
        assert_eq!(life(&mut n), "L");
        n.persisted(Persisted::Failed("No space left on device".into()));
        assert!(n.shutdown.is_none());
        assert_eq!(life(&mut n), "", "no exit");
        let logs = logged(&mut n);
        assert_eq!(
            logs[logs.len() - 3..],
            [
                "Failed saving the DB: No space left on device",
                "Error trying to save the DB, can't exit.",
                "Errors trying to shut down the server. Check the logs for more information.",
            ]
        );
        // NOSAVE never saves.
        assert_eq!(reply(&mut n, "SHUTDOWN NOSAVE"), Frame::Null);
        assert_eq!(life(&mut n), "X");
        assert_eq!(logged(&mut n).last().map(String::as_str), Some("Redis is now ready to exit, bye bye..."));

        // Without files kept, plain SHUTDOWN does not save, SAVE does; FORCE exits anyway.
        let mut n = node();
        n.persistence.keeps_files = false;
        assert_eq!(reply(&mut n, "SHUTDOWN"), Frame::Null);
        assert_eq!(life(&mut n), "X");
        let mut n = node();
        n.persistence.keeps_files = false;
        assert_eq!(reply(&mut n, "SHUTDOWN SAVE FORCE"), Frame::Null);
        assert_eq!(life(&mut n), "L");
        n.persisted(Persisted::Failed("Read-only file system".into()));
        assert_eq!(life(&mut n), "X");
        assert!(logged(&mut n).contains(&"Error trying to save the DB. Exit anyway.".to_string()));
        // A routine save that could not be written is logged, and nothing else happens.
        let mut n = node();
        assert_eq!(reply(&mut n, "SAVE"), Frame::ok());
        assert_eq!(life(&mut n), "P");
        n.persisted(Persisted::Failed("Permission denied".into()));
        assert_eq!(logged(&mut n).last().map(String::as_str), Some("Write error saving DB on disk: Permission denied"));
        assert_eq!(life(&mut n), "");
    }

    #[test]
    fn shutdown_waits_for_a_lagging_replica_with_writes_held() {
        let mut w = World::new(3);
        let (m, r) = (w.add_node(), w.add_node());
        assert_eq!(w.console(r, "REPLICAOF 127.0.0.1 6379"), "OK");
        w.run_for_ms(8_000);
        assert_eq!(w.console(m, "SET k v"), "OK");
        let before = w.node(m).view().master_repl_offset;
        assert_eq!(w.console(m, "SHUTDOWN NOSAVE"), "", "the client is blocked");
        assert!(w.is_up(m), "the replica has not acknowledged SET yet");
        assert_eq!(w.node(m).view().master_repl_offset, before + 37, "REPLCONF GETACK * went into the stream");
        assert_eq!(w.console(m, "SET held 1"), "", "writes wait");
        assert_eq!(w.console(m, "PING"), "", "behind the held write, in the same client");
        w.run_for_ms(2_000);
        // Due once the replica caught up; the simulator then ends the process, as Redis exits.
        assert!(!w.is_up(m), "the master exited");
        assert_eq!(w.node(r).view().master_repl_offset, before + 37, "the replica got the GETACK too");
        assert_eq!(w.console(r, "GET k"), "\"v\"");
        assert_eq!(w.console(r, "GET held"), "(nil)", "the held write never ran: the process exited first");
    }
}
