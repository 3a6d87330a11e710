//! The course's chapters (`www/scenarios/*.toml`), run headless from their lab to their last
//! step, natively and on wasm32: every checkpoint and answer key holds, every challenge is not
//! met by its trial alone and is met after its reference solution. Each answer key, changed to
//! a wrong one, is reported wrong by the runner, so a key that agrees is a key that was checked.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use redis_repl_lab::scenario::run::{check, AnswerResult, Runner};
use redis_repl_lab::scenario::{load, QuestionKind, Scenario};

/// Every chapter, by id (its file name), with its text: compiled in, so the wasm32 run has them.
macro_rules! chapters {
    ($($id:literal),* $(,)?) => {
        &[$(($id, include_str!(concat!("../www/scenarios/", $id, ".toml")))),*]
    };
}
const CHAPTERS: &[(&str, &str)] = chapters!["01-first-full-sync",];

fn scenario(id: &str, text: &str) -> Scenario {
    match load(id, text) {
        Ok(s) => s,
        Err(errors) => panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")),
    }
}

#[test]
fn every_chapter_runs_to_its_end_with_every_check_and_answer_key_holding() {
    for (id, text) in CHAPTERS {
        let s = scenario(id, text);
        let items = check(&s);
        let failed: Vec<String> =
            items.iter().filter(|i| !i.ok).map(|i| format!("{id}: {}: {}", i.place, i.detail)).collect();
        assert!(failed.is_empty(), "{}", failed.join("\n"));
        let steps = items.iter().filter(|i| i.place.ends_with("answer")).count();
        let questions = s.steps.iter().filter(|st| st.question.is_some()).count();
        assert_eq!(steps, questions, "{id}: every question's key was checked");
        assert!(questions >= 1, "{id}: each chapter asks for at least one prediction");
    }
}

/// Each key, changed to another choice (or to a number off by more than its tolerance), is
/// reported as disagreeing with the run.
#[test]
fn a_wrong_answer_key_is_reported_wrong() {
    for (id, text) in CHAPTERS {
        let s = scenario(id, text);
        for (i, step) in s.steps.iter().enumerate() {
            let Some(q) = &step.question else { continue };
            let wrong_keys: Vec<QuestionKind> = match &q.kind {
                QuestionKind::Choice { choices, answer } => (0..choices.len())
                    .filter(|k| k != answer)
                    .map(|k| QuestionKind::Choice { choices: choices.clone(), answer: k })
                    .collect(),
                QuestionKind::Number { expr, answer, tolerance, unit } => vec![QuestionKind::Number {
                    expr: expr.clone(),
                    answer: answer + tolerance + 1.0,
                    tolerance: *tolerance,
                    unit: unit.clone(),
                }],
            };
            for kind in wrong_keys {
                let mut m = s.clone();
                if let Some(q) = m.steps[i].question.as_mut() {
                    q.kind = kind;
                }
                let mut r = Runner::new(m).unwrap();
                let mut last = None;
                for k in 0..=i {
                    r.begin_step(k).unwrap();
                    last = Some(r.finish().unwrap());
                }
                let answer = last.and_then(|rep| rep.answer).expect("the step's answer was evaluated");
                assert!(!answer.agrees(), "{id} step {}: a wrong key passed: {answer:?}", i + 1);
                if let AnswerResult::Choice { holds, .. } = &answer {
                    assert_eq!(
                        holds.iter().filter(|h| **h).count(),
                        1,
                        "{id} step {}: exactly one choice is true",
                        i + 1
                    );
                }
            }
        }
    }
}

/// Going back to a step is exact: running it again gives the same world as the first time.
#[test]
fn going_back_to_a_step_and_running_it_again_gives_the_same_run() {
    let (id, text) = CHAPTERS[0];
    let mut r = Runner::new(scenario(id, text)).unwrap();
    r.begin_step(0).unwrap();
    r.finish().unwrap();
    let t1 = r.start_of(0).unwrap();
    let digest = r.session().world().trace_digest();
    r.back_to(0).unwrap();
    assert_eq!(r.session().world().now(), t1);
    r.begin_step(0).unwrap();
    r.finish().unwrap();
    assert_eq!(r.session().world().trace_digest(), digest);
}

/// Every file in `www/scenarios` is a chapter the tests run.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn every_scenario_file_is_in_the_chapter_list() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/www/scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".toml").map(String::from))
        .collect();
    files.sort();
    let listed: Vec<String> = CHAPTERS.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(files, listed);
}

/// Every text of every chapter is in English and in Chinese.
#[test]
fn every_chapter_speaks_english_and_chinese() {
    for (id, text) in CHAPTERS {
        let s = scenario(id, text);
        for t in s.texts() {
            assert!(t.0.contains_key("en") && t.0.contains_key("zh-CN"), "{id}: {:?}", t.plain("en"));
        }
    }
}
