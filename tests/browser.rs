//! The wasm facade in a real browser: the `Lab` object the page drives, run by
//! `wasm-pack test --headless --chrome` in Debian's Chromium.

#![cfg(target_arch = "wasm32")]

use redis_repl_lab::wasm::{check_rdb, last_panic, parse_rdb, Lab};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(key)).expect("field")
}

#[wasm_bindgen_test]
fn lab_replicates_a_set_and_reports_state() {
    let mut lab = Lab::new(42);
    assert_eq!(lab.add_node(), 0);
    assert_eq!(lab.add_node(), 1);
    assert_eq!(lab.command(1, "REPLICAOF 127.0.0.1 6379"), "OK");
    assert_eq!(lab.command(0, "SET k v"), "OK");
    let before = lab.version();
    lab.advance(3_000.0);
    assert!(lab.version() > before);
    let flying = lab.in_flight().unwrap();
    let state = lab.node_state(1).unwrap();
    assert_eq!(get(&state, "role").as_string().as_deref(), Some("slave"));
    lab.advance(20_000.0);
    assert_eq!(lab.command(1, "GET k"), "\"v\"");
    let m = lab.node_state(0).unwrap();
    let r = lab.node_state(1).unwrap();
    assert_eq!(get(&m, "masterReplOffset").as_f64(), get(&r, "slaveReplOffset").as_f64());
    assert_eq!(get(&r, "linkStatus").as_string().as_deref(), Some("up"));
    let replicas = js_sys::Array::from(&get(&m, "replicas"));
    assert_eq!(replicas.length(), 1);
    assert_eq!(get(&replicas.get(0), "state").as_string().as_deref(), Some("online"));
    let events = js_sys::Array::from(&lab.drain_events().unwrap());
    let texts: Vec<String> =
        events.iter().filter_map(|e| get(&e, "text").as_string()).filter(|t| t.contains("Full resync")).collect();
    assert_eq!(texts.len(), 1, "one full sync in the log");
    assert!(js_sys::Array::is_array(&flying));
    assert!(lab.node_state(9).is_err(), "a bad index is an error, not a panic");
}

#[wasm_bindgen_test]
fn messages_in_flight_carry_decoded_labels() {
    let mut lab = Lab::new(1);
    lab.add_node();
    lab.add_node();
    lab.command(1, "REPLICAOF 127.0.0.1 6379");
    let mut labels = Vec::new();
    for _ in 0..200 {
        lab.advance(50.0);
        for m in js_sys::Array::from(&lab.in_flight().unwrap()).iter() {
            labels.push(get(&m, "label").as_string().unwrap_or_default());
        }
    }
    assert!(labels.iter().any(|l| l == "PING"), "{labels:?}");
    assert!(labels.iter().any(|l| l.starts_with("PSYNC ")), "{labels:?}");
    assert!(labels.iter().any(|l| l.starts_with("+FULLRESYNC ")), "{labels:?}");
    assert!(labels.iter().any(|l| l.contains("RDB ")), "{labels:?}");
    assert!(last_panic().is_none());
}

#[wasm_bindgen_test]
fn console_input_is_never_a_panic() {
    let mut lab = Lab::new(3);
    lab.add_node();
    assert_eq!(lab.command(0, "SET \"unbalanced"), "Invalid argument(s)");
    assert!(lab.command(0, "NOSUCH a b").starts_with("(error) ERR unknown command 'NOSUCH'"));
    assert_eq!(lab.command(0, "GET"), "(error) ERR wrong number of arguments for 'get' command");
    assert_eq!(lab.command(0, ""), "");
    assert_eq!(lab.command(7, "PING"), "(error) ERR no such node 7");
    lab.advance(f64::NAN);
    lab.advance(-5.0);
    assert_eq!(lab.now(), 0.0);
}

#[wasm_bindgen_test]
fn seek_back_replays_and_the_action_log_rebuilds_the_run() {
    let mut lab = Lab::new(5);
    lab.add_node();
    lab.add_node();
    lab.command(1, "REPLICAOF 127.0.0.1 6379");
    lab.advance(12_000.0);
    lab.command(0, "SET k v");
    lab.advance(15_000.0);
    let digest = lab.trace_digest();
    lab.seek(11_000.0);
    assert_eq!(lab.now(), 11_000.0);
    assert_eq!(lab.command(1, "GET k"), "(nil)", "before the SET");
    // That console line was an action in the past: the future is dropped.
    lab.advance(16_000.0);
    assert_ne!(lab.trace_digest(), digest);
    let log = lab.action_log();
    let mut again = Lab::from_log(&log).unwrap_or_else(|_| panic!("log {log}"));
    again.seek(lab.now());
    assert_eq!(again.trace_digest(), lab.trace_digest());
    assert!(Lab::from_log("not a log").is_err());
}

#[wasm_bindgen_test]
fn an_exported_dump_parses_back_with_its_keys() {
    let mut lab = Lab::new(3);
    lab.add_node();
    assert_eq!(lab.command(0, "SET greeting hello"), "OK");
    assert_eq!(lab.command(0, "RPUSH list a b c"), "(integer) 3");
    let bytes = lab.export_rdb(0).unwrap_or_else(|_| panic!("export failed"));
    let parsed = parse_rdb(&bytes).unwrap_or_else(|_| panic!("our own dump must parse"));
    assert_eq!((parsed.keys(), parsed.version(), parsed.checksum_verified()), (2, 10, true));
    let text = parsed.describe();
    assert!(text.contains("\"greeting\"") && text.contains("\"hello\""), "{text}");
    assert_eq!(check_rdb(&bytes).ok(), Some(2));
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(parse_rdb(&bad).is_err() && check_rdb(&bad).is_err(), "a wrong checksum is refused");
}
