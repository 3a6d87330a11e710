//! The run's workload: random writes of every type to whichever node is master now (as a
//! Sentinel-aware client follows the master), and now and then a write of the run's own
//! followed by `WAIT`, on a second client so that only it blocks, whose acknowledgement the
//! invariants later hold the final master to.

use super::*;

const KEYS: u64 = 12;

pub(super) fn key(g: &mut Gen) -> String {
    format!("k{}", g.below(KEYS))
}

pub(super) fn value(g: &mut Gen) -> String {
    if g.chance(4) {
        // A large value now and then, so small backlogs overflow.
        let n = g.range(500, 3000) as usize;
        let c = (b'a' + g.below(26) as u8) as char;
        std::iter::repeat_n(c, n).collect()
    } else {
        format!("v{}", g.below(1000))
    }
}

/// One write command (never MULTI/EXEC/SELECT).
pub(super) fn command(g: &mut Gen) -> String {
    let k = key(g);
    match g.below(13) {
        0 => format!("SET {k} {}", value(g)),
        1 => format!("SET {k} {} EX {}", value(g), g.range(1, 20)),
        2 => format!("INCR {k}"),
        3 => format!("LPUSH {k} {}", value(g)),
        4 => format!("RPOP {k}"),
        5 => format!("HSET {k} f{} {}", g.below(5), value(g)),
        6 => format!("SADD {k} m{}", g.below(8)),
        7 => format!("SREM {k} m{}", g.below(8)),
        8 => format!("ZADD {k} {} m{}", g.below(100), g.below(8)),
        9 => format!("DEL {k}"),
        10 => format!("EXPIRE {k} {}", g.range(1, 30)),
        11 => format!("PEXPIRE {k} {}", g.range(100, 5000)),
        _ => format!("SET {k} {}", value(g)),
    }
}

/// One write on the master: a command, a MULTI block, or a SELECT.
pub(super) fn write(g: &mut Gen) -> Vec<String> {
    match g.below(20) {
        0..=1 => {
            let mut v = vec!["MULTI".to_string()];
            for _ in 0..g.range(1, 4) {
                v.push(command(g));
            }
            v.push("EXEC".into());
            v
        }
        2 => vec![format!("SELECT {}", g.below(3))],
        _ => vec![command(g)],
    }
}

impl Run {
    pub(super) fn console(&mut self, i: usize, line: &str) -> String {
        // Replies that a pause delayed would otherwise be taken for this command's.
        self.w.console_late_replies(i);
        self.w.console(i, line)
    }

    /// Reads the replies that reached node `i`'s waiter, giving each WAIT's to its write; a
    /// waiter whose connection is gone (a crash, a restart) gets no more.
    pub(super) fn take_waiter_replies(&mut self, i: usize) {
        let Some(conn) = self.waiters[i] else { return };
        let (replies, open) = self.w.client_replies(i, conn);
        for reply in replies {
            if let (Some(Some(k)), Frame::Integer(n)) = (self.pending[i].pop_front(), reply) {
                self.waited[k].acked = Some(n as u64);
            }
        }
        if !open {
            self.waiters[i] = None;
            self.pending[i].clear();
        }
    }

    /// Writes a key of the run's own on the master, then waits for the replicas connected to
    /// it, on the master's waiter connection.
    pub(super) fn waited_write(&mut self) {
        let m = self.current_master();
        if !self.w.is_up(m) {
            return;
        }
        let wanted = self.w.node(m).view().replicas.iter().filter(|r| r.state == "online").count();
        if wanted == 0 {
            return;
        }
        self.take_waiter_replies(m);
        let conn = match self.waiters[m] {
            Some(c) => c,
            None => *self.waiters[m].insert(self.w.open_reading_client(m)),
        };
        let k = self.waited.len();
        let key = format!("w:{k}");
        self.waited.push(WaitedWrite { key: key.clone(), node: m, at: self.w.now(), wanted, acked: None });
        let mut bytes = Vec::new();
        let (k_text, wanted_text) = (k.to_string(), wanted.to_string());
        encode_command_into(&[b"SET".as_slice(), key.as_bytes(), k_text.as_bytes()], &mut bytes);
        encode_command_into(&[b"WAIT".as_slice(), wanted_text.as_bytes(), b"500"], &mut bytes);
        self.pending[m].extend([None, Some(k)]);
        self.w.client_send(m, conn, &bytes);
    }
}
