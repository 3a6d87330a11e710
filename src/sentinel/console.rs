//! A sentinel as a server: the connections it accepts (other sentinels asking
//! `SENTINEL is-master-down-by-addr`, hello messages, the learner's console) and the commands
//! it answers, worded as redis-sentinel 7.0 words its replies.

use super::*;

impl Sentinel {
    pub(super) fn serve(&mut self, conn: ConnId) {
        loop {
            let Some(ConnRole::In(query)) = self.conns.get_mut(&conn) else {
                return;
            };
            let argv = match parse_command(query) {
                Ok(Parsed::Complete(argv, used)) => {
                    query.drain(..used);
                    argv
                }
                Ok(Parsed::Incomplete) => return,
                Err(e) => {
                    self.push_send(conn, Frame::error(format!("ERR {e}")).encode());
                    self.outputs.push_back(Output::Close { conn });
                    self.conns.remove(&conn);
                    return;
                }
            };
            if argv.is_empty() {
                continue;
            }
            let reply = self.command(&argv);
            self.push_send(conn, reply.encode());
        }
    }

    /// The commands a sentinel answers here: PING, PUBLISH (hellos), and SENTINEL MYID,
    /// GET-MASTER-ADDR-BY-NAME, IS-MASTER-DOWN-BY-ADDR.
    pub fn command(&mut self, argv: &[Vec<u8>]) -> Frame {
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        let arg = |i: usize| argv.get(i).map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
        let arity = |what: &str| Frame::error(format!("ERR wrong number of arguments for '{what}' command"));
        match name.as_str() {
            "ping" => Frame::Simple("PONG".into()),
            "publish" if argv.len() == 3 => {
                if arg(1) != HELLO_CHANNEL {
                    return Frame::error("ERR Only HELLO messages are accepted by Sentinel instances.");
                }
                self.process_hello(&arg(2));
                Frame::Integer(1)
            }
            "publish" => arity("publish"),
            "sentinel" if argv.len() >= 2 => self.sentinel_command(argv),
            "sentinel" => arity("sentinel"),
            _ => crate::commands::unknown_command(argv),
        }
    }

    pub(super) fn sentinel_command(&mut self, argv: &[Vec<u8>]) -> Frame {
        let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
        let arg = |i: usize| argv.get(i).map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
        let arity = || Frame::error(format!("ERR wrong number of arguments for 'sentinel|{sub}' command"));
        match sub.as_str() {
            "myid" if argv.len() == 2 => Frame::bulk(&self.myid),
            "get-master-addr-by-name" if argv.len() == 3 => {
                if arg(2) != self.cfg.master_name {
                    return Frame::NullArray;
                }
                let (h, p) = self.master_addr();
                Frame::Array(vec![Frame::bulk(h), Frame::bulk(p.to_string())])
            }
            "is-master-down-by-addr" if argv.len() == 6 => {
                let (Ok(port), Ok(epoch)) = (arg(3).parse::<i64>(), arg(4).parse::<i64>()) else {
                    return Frame::error("ERR value is not an integer or out of range");
                };
                let ours = arg(2) == self.master.host && port == self.master.port as i64;
                let down = ours && self.master.sdown;
                let runid = arg(5);
                let (leader, leader_epoch) =
                    if ours && runid != "*" { self.vote_leader(epoch.max(0) as u64, &runid) } else { (None, 0) };
                Frame::Array(vec![
                    Frame::Integer(i64::from(down)),
                    Frame::bulk(leader.as_deref().unwrap_or("*")),
                    Frame::Integer(leader_epoch as i64),
                ])
            }
            "myid" | "get-master-addr-by-name" | "is-master-down-by-addr" => arity(),
            _ => Frame::error(format!(
                "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
                String::from_utf8_lossy(&argv[1]).chars().take(128).collect::<String>()
            )),
        }
    }
}
