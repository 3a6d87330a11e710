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

fn array(v: &JsValue, key: &str) -> Vec<JsValue> {
    js_sys::Array::from(&get(v, key)).iter().collect()
}

fn text(v: &JsValue, key: &str) -> String {
    get(v, key).as_string().unwrap_or_else(|| panic!("{key} is not a string"))
}

fn number(v: &JsValue, key: &str) -> f64 {
    get(v, key).as_f64().unwrap_or_else(|| panic!("{key} is not a number"))
}

/// The `code` of an error the facade threw.
fn code(e: JsValue) -> String {
    text(&e, "code")
}

fn ok<T>(r: Result<T, JsValue>) -> T {
    r.unwrap_or_else(|e| panic!("refused: {:?}", get(&e, "message")))
}

/// A master and `replicas` replicas of it, run for `ms`.
fn lab(seed: u32, replicas: usize, ms: f64) -> Lab {
    let mut lab = Lab::new(seed);
    ok(lab.add_node());
    for _ in 0..replicas {
        let i = ok(lab.add_node());
        assert_eq!(ok(lab.command(i, "REPLICAOF 127.0.0.1 6379")), "OK");
    }
    lab.advance(ms);
    lab
}

#[wasm_bindgen_test]
fn one_frame_holds_nodes_links_and_offsets() {
    let mut lab = lab(42, 2, 0.0);
    assert_eq!(ok(lab.command(0, "SET k v")), "OK");
    lab.advance(25_000.0);
    assert_eq!(ok(lab.command(2, "GET k")), "\"v\"");
    let frame = ok(lab.frame());
    assert_eq!(number(&frame, "nowUs"), 25_000_000.0);
    let nodes = array(&frame, "nodes");
    assert_eq!(nodes.len(), 3);
    assert_eq!(text(&nodes[1], "role"), "slave");
    assert_eq!(number(&nodes[0], "masterReplOffset"), number(&nodes[1], "slaveReplOffset"));
    assert_eq!(get(&nodes[0], "up").as_bool(), Some(true));
    let replicas = array(&nodes[0], "replicas");
    assert_eq!(replicas.len(), 2);
    assert_eq!(text(&replicas[0], "phase"), "online");
    let links = array(&frame, "links");
    assert_eq!(links.len(), 2);
    for (k, link) in links.iter().enumerate() {
        assert_eq!(number(link, "replica"), (k + 1) as f64);
        assert_eq!(number(link, "master"), 0.0, "matched by address in the engine");
        assert_eq!(text(link, "state"), "connected");
        assert_eq!(number(link, "latencyUs"), 250_000.0);
    }
    assert!(get(&frame, "groups").is_null());
    assert!(number(&frame, "horizonUs") >= 25_000_000.0);
}

#[wasm_bindgen_test]
fn events_are_typed_and_messages_carry_decoded_labels() {
    let mut lab = lab(1, 1, 0.0);
    let mut labels = Vec::new();
    for _ in 0..200 {
        lab.advance(50.0);
        for m in array(&ok(lab.frame()), "messages") {
            labels.push(text(&m, "label"));
        }
    }
    assert!(labels.iter().any(|l| l == "PING"), "{labels:?}");
    assert!(labels.iter().any(|l| l.starts_with("PSYNC ")), "{labels:?}");
    assert!(labels.iter().any(|l| l.starts_with("+FULLRESYNC ")), "{labels:?}");
    assert!(labels.iter().any(|l| l.contains("RDB ")), "{labels:?}");
    let total = lab.trace_length();
    let events: Vec<JsValue> = js_sys::Array::from(&ok(lab.events(0, total))).iter().collect();
    assert_eq!(events.len(), total);
    assert_eq!(number(&events[total - 1], "seq"), (total - 1) as f64);
    assert_eq!(js_sys::Array::from(&ok(lab.events(total, 10))).length(), 0);
    let full: Vec<&JsValue> = events
        .iter()
        .filter(|e| text(e, "type") == "log" && text(e, "text").starts_with("Full resync from master"))
        .collect();
    assert_eq!(full.len(), 1, "one full sync in the log");
    let state = events.iter().find(|e| text(e, "type") == "state" && text(e, "change") == "replState").unwrap();
    assert_eq!((text(state, "kind"), number(state, "node")), ("state".to_string(), 1.0));
    let sent = events.iter().find(|e| text(e, "type") == "sent").unwrap();
    assert_eq!(text(&get(sent, "from"), "peer"), "node");
    assert!(number(sent, "bytes") > 0.0);
    assert!(last_panic().is_none());
}

#[wasm_bindgen_test]
fn bad_input_is_an_error_with_a_code_never_a_panic() {
    let mut lab = Lab::new(3);
    ok(lab.add_node());
    assert_eq!(ok(lab.command(0, "SET \"unbalanced")), "Invalid argument(s)");
    assert!(ok(lab.command(0, "NOSUCH a b")).starts_with("(error) ERR unknown command 'NOSUCH'"));
    assert_eq!(ok(lab.command(0, "")), "");
    assert_eq!(code(lab.command(7, "PING").unwrap_err()), "no-node");
    assert_eq!(code(lab.cut(0, 0).unwrap_err()), "same-node");
    assert_eq!(code(lab.sentinel_command(0, "PING").unwrap_err()), "no-sentinel");
    for _ in 0..7 {
        ok(lab.add_node());
    }
    assert_eq!(code(lab.add_node().unwrap_err()), "too-many-nodes");
    ok(lab.remove_node(3));
    assert_eq!(ok(lab.add_node()), 3, "the free slot is taken again");
    assert_eq!(code(Lab::from_log("not a log").err().unwrap()), "bad-log");
    assert_eq!(code(lab.import_rdb(0, b"REDIS").unwrap_err()), "bad-rdb");
    lab.advance(f64::NAN);
    lab.advance(-5.0);
    assert_eq!(lab.now(), 0.0);
}

#[wasm_bindgen_test]
fn seek_back_replays_and_the_action_log_rebuilds_the_moment_it_was_shared() {
    let mut lab = lab(5, 1, 12_000.0);
    ok(lab.command(0, "SET k v"));
    lab.advance(15_000.0);
    let digest = lab.trace_digest();
    lab.seek(11_000.0);
    assert_eq!(lab.now(), 11_000.0);
    assert_eq!(ok(lab.command(1, "GET k")), "(nil)", "before the SET");
    // That console line was an action in the past: the future is dropped.
    lab.advance(16_000.0);
    assert_ne!(lab.trace_digest(), digest);
    let log = lab.action_log();
    let again = Lab::from_log(&log).unwrap_or_else(|_| panic!("log {log}"));
    assert_eq!(again.now(), lab.now(), "opened, the log shows the moment it was copied");
    assert_eq!(again.trace_digest(), lab.trace_digest());
    let history: Vec<JsValue> = js_sys::Array::from(&ok(again.console_history(1))).iter().collect();
    let lines: Vec<(String, String)> = history.iter().map(|h| (text(h, "line"), text(h, "reply"))).collect();
    assert_eq!(lines, [("REPLICAOF 127.0.0.1 6379".into(), "OK".into()), ("GET k".into(), "(nil)".into())]);
}

#[wasm_bindgen_test]
fn the_inspector_reads_info_and_pages_of_keys() {
    let mut lab = lab(8, 1, 0.0);
    ok(lab.command(0, "MSET a 1 b 2 c 3"));
    let info = ok(lab.info(1, "replication"));
    assert!(info.starts_with("# Replication\r\nrole:slave\r\n"), "{info}");
    let page = ok(lab.keys(0, 0, "", 1, 5));
    assert_eq!(number(&page, "total"), 3.0);
    let keys = array(&page, "keys");
    assert_eq!(keys.iter().map(|k| text(k, "key")).collect::<Vec<_>>(), ["\"b\"", "\"c\""]);
    assert_eq!(text(&keys[0], "type"), "string");
    assert!(lab.step(60_000.0), "something happens within a minute");
}

#[wasm_bindgen_test]
fn an_exported_dump_parses_back_with_its_keys() {
    let mut lab = Lab::new(3);
    ok(lab.add_node());
    assert_eq!(ok(lab.command(0, "SET greeting hello")), "OK");
    assert_eq!(ok(lab.command(0, "RPUSH list a b c")), "(integer) 3");
    let bytes = ok(lab.export_rdb(0));
    let parsed = ok(parse_rdb(&bytes));
    assert_eq!((parsed.keys(), parsed.version(), parsed.checksum_verified()), (2, 10, true));
    let text = parsed.describe();
    assert!(text.contains("\"greeting\"") && text.contains("\"hello\""), "{text}");
    assert_eq!(check_rdb(&bytes).ok(), Some(2));
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(parse_rdb(&bad).is_err() && check_rdb(&bad).is_err(), "a wrong checksum is refused");
}

/// A chapter played through the facade in page-sized ticks (200 ms of virtual time, the step
/// button between) reaches the same world as the headless run the tests check, with the same
/// answer verdicts; a broken file is refused with each problem and its line.
#[wasm_bindgen_test]
fn a_chapter_in_the_page_is_the_run_the_tests_checked() {
    use redis_repl_lab::scenario::{load, run::Runner};
    use redis_repl_lab::wasm::load_scenario;
    let source = include_str!("../www/scenarios/05-short-disconnect.toml");
    let scenario = load("05-short-disconnect", source).unwrap();
    let (mut runner, mut session) = Runner::start(scenario.clone()).unwrap();
    let mut lab = ok(Lab::from_scenario("05-short-disconnect", source));
    assert_eq!(text(&ok(lab.scenario()), "id"), "05-short-disconnect");
    for i in 0..scenario.steps.len() {
        runner.begin_step(&mut session, i).unwrap();
        let headless = runner.finish(&mut session).unwrap();
        ok(lab.scenario_begin(i));
        let mut ticks = 0;
        loop {
            let progress = ok(lab.scenario_progress());
            match text(&progress, "state").as_str() {
                "running" => {}
                "done" => {
                    let answer = get(&get(&progress, "report"), "answer");
                    assert_eq!(get(&answer, "agrees").as_bool(), Some(true));
                    assert_eq!(number(&get(&progress, "report"), "time"), headless.time as f64);
                    break;
                }
                other => panic!("step {i}: {other}: {:?}", get(&progress, "message")),
            }
            if ticks % 7 == 3 {
                lab.step(200.0);
            } else {
                lab.advance(200.0);
            }
            ticks += 1;
            assert!(ticks < 2_000, "step {i} never ended");
        }
        // The page's last tick went past the step's end: the headless run catches up.
        lab.advance(1_000.0);
        session.run_until((lab.now() * 1000.0).round() as u64);
    }
    assert_eq!(lab.trace_digest(), session.world().trace_digest());

    let broken = source.replace("cut A B", "cut A Q");
    let e = lab_error(Lab::from_scenario("broken", &broken));
    assert_eq!(code(e.clone()), "bad-scenario");
    let errors = array(&e, "errors");
    assert_eq!(errors.len(), 2);
    assert_eq!(text(&errors[0], "message"), "unknown node 'Q': the lab's nodes are A to B");
    assert_eq!(number(&errors[0], "line"), 27.0);
    assert_eq!(code(load_scenario("broken", &broken).unwrap_err()), "bad-scenario");
}

fn lab_error(r: Result<Lab, JsValue>) -> JsValue {
    match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}
