//! A lab's topology taken out onto real servers: `repl-lab export` writes, for the world at a
//! moment of a run, one `redis.conf` per node (its port, `replicaof`, the replication settings
//! it changed), one `sentinel.conf` per sentinel, `start.sh` and `stop.sh` that launch and stop
//! them on loopback, and a `README.txt` of what to try. The learner then does with real Redis
//! what they did in the lab.
//!
//! Ports: node `i` listens on `port_base + i` and sentinel `j` on `sentinel_base + j`, so the
//! lab's A, B, C... keep their order. Paths in the files are relative to each node's folder, so
//! the folder works wherever it is copied; the scripts run from anywhere.

use std::fmt::Write as _;

use crate::node::commands::config::changed_settings;
use crate::sim::trace::{node_name, sentinel_name};
use crate::sim::{World, BASE_PORT};

/// One file of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// Relative to the export's folder (`A/redis.conf`, `start.sh`).
    pub path: String,
    pub contents: String,
    /// A script, to be made executable.
    pub executable: bool,
}

/// A value for a `redis.conf` line: quoted when it holds a space or is empty.
fn conf_value(v: &str) -> String {
    if v.is_empty() || v.contains(char::is_whitespace) || v.contains('"') {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// The files that start the world's nodes and sentinels on real servers.
pub fn export(world: &World, port_base: u16, sentinel_base: u16) -> Vec<File> {
    let nodes: Vec<usize> = world.present_nodes().collect();
    let port_of = |i: usize| port_base as usize + i;
    let mut files = Vec::new();
    let mut start = String::from(
        "#!/bin/sh\n# Starts the lab's nodes on loopback as real redis-server processes (see README.txt).\nset -e\ncd \"$(dirname \"$0\")\"\n",
    );
    let mut stop = String::from(
        "#!/bin/sh\n# Stops what start.sh started, by the pids the servers wrote.\ncd \"$(dirname \"$0\")\"\n",
    );
    let mut readme =
        String::from("A Redis Replication Lab topology, exported to run on real Redis (redis-server 7.0).\n\n");
    readme.push_str("./start.sh starts every server in the background; ./stop.sh stops them.\n\n");
    for &i in &nodes {
        let name = node_name(i);
        let view = world.node(i).view();
        let mut conf = String::new();
        let _ = writeln!(conf, "# Node {name} of the lab ({} in the lab).", view.role);
        let _ = writeln!(
            conf,
            "port {}\nbind 127.0.0.1\ndaemonize yes\ndir .\npidfile redis.pid\nlogfile redis.log",
            port_of(i)
        );
        conf.push_str("save \"\"\nappendonly no\nenable-debug-command local\n");
        if view.role == "slave" && view.master_port >= BASE_PORT {
            let master = (view.master_port - BASE_PORT) as usize;
            let _ = writeln!(conf, "replicaof 127.0.0.1 {}", port_of(master));
        }
        for (param, value) in changed_settings(world.node(i)) {
            let _ = writeln!(conf, "{param} {}", conf_value(&value));
        }
        files.push(File { path: format!("{name}/redis.conf"), contents: conf, executable: false });
        let _ = writeln!(start, "(cd {name} && redis-server redis.conf)");
        let _ = writeln!(start, "echo \"{name} 127.0.0.1:{}\"", port_of(i));
        let _ = writeln!(stop, "[ -f {name}/redis.pid ] && kill \"$(cat {name}/redis.pid)\" 2>/dev/null");
        let _ = writeln!(readme, "{name}: redis-cli -p {}   (try ROLE, INFO replication)", port_of(i));
    }
    for j in 0..world.sentinel_count() {
        let name = sentinel_name(j);
        let v = world.sentinel(j).view();
        let cfg = world.sentinel(j).config();
        let master = port_of(v.master_port.saturating_sub(BASE_PORT) as usize);
        let mut conf = String::new();
        let _ = writeln!(conf, "# Sentinel {name} of the lab.");
        let _ = writeln!(
            conf,
            "port {}\nbind 127.0.0.1\ndaemonize yes\ndir .\npidfile sentinel.pid\nlogfile sentinel.log",
            sentinel_base as usize + j
        );
        let _ = writeln!(conf, "sentinel monitor {} 127.0.0.1 {master} {}", cfg.master_name, cfg.quorum);
        let _ = writeln!(conf, "sentinel down-after-milliseconds {} {}", cfg.master_name, cfg.down_after_ms);
        let _ = writeln!(conf, "sentinel failover-timeout {} {}", cfg.master_name, cfg.failover_timeout_ms);
        files.push(File { path: format!("{name}/sentinel.conf"), contents: conf, executable: false });
        let _ = writeln!(start, "(cd {name} && redis-server sentinel.conf --sentinel)");
        let _ = writeln!(start, "echo \"{name} 127.0.0.1:{}\"", sentinel_base as usize + j);
        let _ = writeln!(stop, "[ -f {name}/sentinel.pid ] && kill \"$(cat {name}/sentinel.pid)\" 2>/dev/null");
        let _ = writeln!(readme, "{name}: redis-cli -p {}   (try SENTINEL masters)", sentinel_base as usize + j);
    }
    stop.push_str("exit 0\n");
    files.push(File { path: "start.sh".into(), contents: start, executable: true });
    files.push(File { path: "stop.sh".into(), contents: stop, executable: true });
    files.push(File { path: "README.txt".into(), contents: readme, executable: false });
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_with_changed_settings_becomes_conf_files() {
        let mut w = World::new(1);
        for _ in 0..3 {
            w.add_node();
        }
        w.console(0, "CONFIG SET repl-backlog-size 16kb");
        w.console(0, "CONFIG SET client-output-buffer-limit \"replica 64kb 32kb 10\"");
        w.console(1, "REPLICAOF 127.0.0.1 6379");
        w.console(2, "REPLICAOF 127.0.0.1 6380");
        let files = export(&w, 7000, 27000);
        let file = |p: &str| files.iter().find(|f| f.path == p).map(|f| f.contents.clone()).unwrap_or_default();
        let a = file("A/redis.conf");
        assert!(a.contains("port 7000\n") && !a.contains("replicaof"), "{a}");
        assert!(a.contains("repl-backlog-size 16384\n"), "{a}");
        assert!(
            a.contains("client-output-buffer-limit \"normal 0 0 0 slave 65536 32768 10 pubsub 33554432 8388608 60\"\n"),
            "{a}"
        );
        let b = file("B/redis.conf");
        assert!(b.ends_with("enable-debug-command local\nreplicaof 127.0.0.1 7000\n"), "nothing B did not change: {b}");
        assert!(file("C/redis.conf").contains("replicaof 127.0.0.1 7001\n"));
        assert!(file("start.sh").contains("(cd C && redis-server redis.conf)"));
        assert!(files.iter().filter(|f| f.executable).count() == 2);
    }
}

/// The files as one zip archive (stored, not compressed: a few kilobytes of text), scripts
/// marked executable, all under one folder `root`. The page offers it as a download.
pub fn zip(files: &[File], root: &str) -> Vec<u8> {
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    // 1980-01-01 00:00 in MS-DOS time and date: the archive does not depend on the clock.
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for f in files {
        let name = format!("{root}/{}", f.path);
        let data = f.contents.as_bytes();
        let crc = CRC32.checksum(data);
        let offset = out.len() as u32;
        let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
        let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
        // Local file header.
        le32(&mut out, 0x0403_4b50);
        for x in [20u16, 0, 0, DOS_TIME, DOS_DATE] {
            le16(&mut out, x);
        }
        for x in [crc, data.len() as u32, data.len() as u32] {
            le32(&mut out, x);
        }
        le16(&mut out, name.len() as u16);
        le16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Its central directory entry (made by Unix, so the permission bits count).
        let mode: u32 = if f.executable { 0o100_755 } else { 0o100_644 };
        le32(&mut central, 0x0201_4b50);
        for x in [(3u16 << 8) | 20, 20, 0, 0, DOS_TIME, DOS_DATE] {
            le16(&mut central, x);
        }
        for x in [crc, data.len() as u32, data.len() as u32] {
            le32(&mut central, x);
        }
        for x in [name.len() as u16, 0, 0, 0, 0] {
            le16(&mut central, x);
        }
        le32(&mut central, mode << 16);
        le32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let (start, size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for x in [0u16, 0, files.len() as u16, files.len() as u16] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod zip_tests {
    use super::*;

    /// Reads a stored zip back: (name, mode, contents) per central directory entry, checking
    /// each local header and CRC on the way.
    fn unzip(z: &[u8]) -> Vec<(String, u32, String)> {
        let u16_at = |i: usize| u16::from_le_bytes([z[i], z[i + 1]]) as usize;
        let u32_at = |i: usize| u32::from_le_bytes([z[i], z[i + 1], z[i + 2], z[i + 3]]);
        let end = z.len() - 22;
        assert_eq!(u32_at(end), 0x0605_4b50);
        let (count, mut at) = (u16_at(end + 10), u32_at(end + 16) as usize);
        let crc32 = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
        let mut out = Vec::new();
        for _ in 0..count {
            assert_eq!(u32_at(at), 0x0201_4b50);
            let (crc, size, name_len) = (u32_at(at + 16), u32_at(at + 20) as usize, u16_at(at + 28));
            let mode = u32_at(at + 38) >> 16;
            let local = u32_at(at + 42) as usize;
            let name = String::from_utf8(z[at + 46..at + 46 + name_len].to_vec()).unwrap();
            assert_eq!(u32_at(local), 0x0403_4b50);
            let data = &z[local + 30 + name_len..local + 30 + name_len + size];
            assert_eq!(crc32.checksum(data), crc);
            out.push((name, mode, String::from_utf8(data.to_vec()).unwrap()));
            at += 46 + name_len;
        }
        out
    }

    #[test]
    fn the_zip_holds_every_file_with_its_mode() {
        let mut w = World::new(2);
        w.add_node();
        w.add_node();
        w.console(1, "REPLICAOF 127.0.0.1 6379");
        let files = export(&w, 7000, 27000);
        let back = unzip(&zip(&files, "redis-lab"));
        assert_eq!(back.len(), files.len());
        for (f, (name, mode, contents)) in files.iter().zip(&back) {
            assert_eq!(name, &format!("redis-lab/{}", f.path));
            assert_eq!(*mode, if f.executable { 0o100_755 } else { 0o100_644 });
            assert_eq!(contents, &f.contents);
        }
    }
}
