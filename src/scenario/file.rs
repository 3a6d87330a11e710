//! The scenario file as written: TOML read into plain structures that keep each value's place.
//!
//! The TOML parser gives a tree of tables and values with their byte spans; this module walks it
//! by hand into the `Raw*` structures the checker reads (a derived deserializer would cost the
//! page's wasm about 190 KB more for the same result). As a derived one would, it refuses keys
//! it does not know (a typo is an error, not an ignored line), values of the wrong type, and
//! missing required keys, each with its line.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A text in every language it is written in.
pub type RawText = BTreeMap<String, String>;

pub struct RawScenario {
    pub title: RawText,
    pub summary: RawText,
    pub lab: RawLab,
    pub steps: Vec<RawStep>,
}

#[derive(Default)]
pub struct RawLab {
    pub topology: Option<Spanned<String>>,
    pub links: Option<Spanned<String>>,
    pub seed: Option<u64>,
    pub config: Vec<Spanned<String>>,
    pub setup: Vec<Spanned<String>>,
    pub ready: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
}

pub struct RawStep {
    pub text: RawText,
    pub actions: Vec<Spanned<String>>,
    pub until: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub check: Vec<Spanned<String>>,
    pub question: Option<RawQuestion>,
    pub challenge: Option<RawChallenge>,
}

pub struct RawQuestion {
    pub text: RawText,
    pub choices: Vec<RawChoice>,
    pub number: Option<Spanned<String>>,
    pub answer: Spanned<f64>,
    pub tolerance: f64,
    pub unit: Option<RawText>,
    pub explain: RawText,
}

pub struct RawChoice {
    pub text: RawText,
    pub when: Spanned<String>,
}

pub struct RawChallenge {
    pub goal: RawText,
    pub hint: RawText,
    pub when: Spanned<String>,
    pub trial: Vec<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub solution: Vec<Spanned<String>>,
}

/// A problem found while reading: where (a byte span, when known) and what.
pub struct ReadError {
    pub span: Option<Range<usize>>,
    pub message: String,
}

type Value<'i> = Spanned<DeValue<'i>>;

/// Reads a whole scenario file; the first problem found stops the reading.
pub fn read(source: &str) -> Result<RawScenario, ReadError> {
    let doc =
        DeTable::parse(source).map_err(|e| ReadError { span: e.span(), message: e.message().trim().to_string() })?;
    let top = Table::new(doc.get_ref(), doc.span(), &["title", "summary", "lab", "step"])?;
    let lab = match top.get("lab") {
        Some(v) => lab(&table(v, &["topology", "links", "seed", "config", "setup", "ready", "timeout"])?)?,
        None => RawLab::default(),
    };
    let steps = match top.get("step") {
        Some(v) => array(v)?.iter().map(step).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(RawScenario { title: text(top.need("title")?)?, summary: text(top.need("summary")?)?, lab, steps })
}

fn lab(t: &Table) -> Result<RawLab, ReadError> {
    Ok(RawLab {
        topology: t.get("topology").map(string).transpose()?,
        links: t.get("links").map(string).transpose()?,
        seed: t.get("seed").map(whole).transpose()?,
        config: t.get("config").map(strings).transpose()?.unwrap_or_default(),
        setup: t.get("setup").map(strings).transpose()?.unwrap_or_default(),
        ready: t.get("ready").map(string).transpose()?,
        timeout: t.get("timeout").map(string).transpose()?,
    })
}

fn step(v: &Value) -> Result<RawStep, ReadError> {
    let t = table(v, &["text", "do", "until", "timeout", "check", "question", "challenge"])?;
    Ok(RawStep {
        text: text(t.need("text")?)?,
        actions: t.get("do").map(strings).transpose()?.unwrap_or_default(),
        until: t.get("until").map(string).transpose()?,
        timeout: t.get("timeout").map(string).transpose()?,
        check: t.get("check").map(strings).transpose()?.unwrap_or_default(),
        question: t.get("question").map(question).transpose()?,
        challenge: t.get("challenge").map(challenge).transpose()?,
    })
}

fn question(v: &Value) -> Result<RawQuestion, ReadError> {
    let t = table(v, &["text", "choices", "number", "answer", "tolerance", "unit", "explain"])?;
    let choices = match t.get("choices") {
        Some(c) => array(c)?
            .iter()
            .map(|c| {
                let ct = table(c, &["text", "when"])?;
                Ok(RawChoice { text: text(ct.need("text")?)?, when: string(ct.need("when")?)? })
            })
            .collect::<Result<_, ReadError>>()?,
        None => Vec::new(),
    };
    let answer = t.need("answer")?;
    Ok(RawQuestion {
        text: text(t.need("text")?)?,
        choices,
        number: t.get("number").map(string).transpose()?,
        answer: Spanned::new(answer.span(), number(answer)?),
        tolerance: t.get("tolerance").map(number).transpose()?.unwrap_or(0.0),
        unit: t.get("unit").map(text).transpose()?,
        explain: text(t.need("explain")?)?,
    })
}

fn challenge(v: &Value) -> Result<RawChallenge, ReadError> {
    let t = table(v, &["goal", "hint", "when", "trial", "timeout", "solution"])?;
    Ok(RawChallenge {
        goal: text(t.need("goal")?)?,
        hint: text(t.need("hint")?)?,
        when: string(t.need("when")?)?,
        trial: t.get("trial").map(strings).transpose()?.unwrap_or_default(),
        timeout: t.get("timeout").map(string).transpose()?,
        solution: strings(t.need("solution")?)?,
    })
}

/// A table of the file, with the keys it may hold.
struct Table<'a, 'i> {
    entries: &'a DeTable<'i>,
    span: Range<usize>,
}

impl<'a, 'i> Table<'a, 'i> {
    fn new(entries: &'a DeTable<'i>, span: Range<usize>, allowed: &[&str]) -> Result<Self, ReadError> {
        for key in entries.keys() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                let expected: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
                return Err(ReadError {
                    span: Some(key.span()),
                    message: format!("unknown field `{}`, expected one of {}", key.get_ref(), expected.join(", ")),
                });
            }
        }
        Ok(Table { entries, span })
    }

    fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.entries.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v)
    }

    fn need(&self, key: &str) -> Result<&'a Value<'i>, ReadError> {
        self.get(key)
            .ok_or_else(|| ReadError { span: Some(self.span.clone()), message: format!("missing field `{key}`") })
    }
}

fn wrong(v: &Value, want: &str) -> ReadError {
    ReadError { span: Some(v.span()), message: format!("invalid type: {}, expected {want}", v.get_ref().type_str()) }
}

fn table<'a, 'i>(v: &'a Value<'i>, allowed: &[&str]) -> Result<Table<'a, 'i>, ReadError> {
    match v.get_ref() {
        DeValue::Table(t) => Table::new(t, v.span(), allowed),
        _ => Err(wrong(v, "a table")),
    }
}

fn array<'a, 'i>(v: &'a Value<'i>) -> Result<&'a [Value<'i>], ReadError> {
    v.get_ref().as_array().map(AsRef::as_ref).ok_or_else(|| wrong(v, "an array"))
}

fn string(v: &Value) -> Result<Spanned<String>, ReadError> {
    v.get_ref().as_str().map(|s| Spanned::new(v.span(), s.to_string())).ok_or_else(|| wrong(v, "a string"))
}

fn strings(v: &Value) -> Result<Vec<Spanned<String>>, ReadError> {
    array(v)?.iter().map(string).collect()
}

fn number(v: &Value) -> Result<f64, ReadError> {
    let text = match v.get_ref() {
        DeValue::Integer(i) if i.radix() == 10 => i.as_str(),
        DeValue::Float(f) => f.as_str(),
        _ => return Err(wrong(v, "a number")),
    };
    text.replace('_', "").parse().map_err(|_| wrong(v, "a number"))
}

fn whole(v: &Value) -> Result<u64, ReadError> {
    match v.get_ref() {
        DeValue::Integer(i) if i.radix() == 10 => {
            i.as_str().replace('_', "").parse().map_err(|_| wrong(v, "a whole number"))
        }
        _ => Err(wrong(v, "a whole number")),
    }
}

/// `{ en = "...", zh-CN = "..." }`: any language tag, each a string.
fn text(v: &Value) -> Result<RawText, ReadError> {
    let DeValue::Table(t) = v.get_ref() else {
        return Err(wrong(v, "a text table such as { en = \"...\" }"));
    };
    t.iter().map(|(lang, s)| Ok((lang.get_ref().to_string(), string(s)?.into_inner()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(source: &str) -> (usize, String) {
        let e = read(source).err().expect("refused");
        let line = e.span.map_or(0, |s| source[..s.start].matches('\n').count() + 1);
        (line, e.message)
    }

    #[test]
    fn wrong_types_missing_keys_and_unknown_keys_are_refused_with_their_line() {
        let head = "title = { en = \"T\" }\nsummary = { en = \"S\" }\n";
        assert_eq!(
            problem(&format!("{head}[lab]\nseed = \"one\"\n")),
            (4, "invalid type: string, expected a whole number".into())
        );
        assert_eq!(
            problem(&format!("{head}[[step]]\ntext = {{ en = \"x\" }}\ndo = \"A: PING\"\n")),
            (5, "invalid type: string, expected an array".into())
        );
        assert_eq!(problem(&format!("{head}[[step]]\ndo = []\n")), (3, "missing field `text`".into()));
        let (line, message) = problem(&format!("{head}[lab]\ntopolgy = \"A\"\n"));
        assert_eq!(line, 4);
        assert!(message.starts_with("unknown field `topolgy`, expected one of `topology`, `links`"), "{message}");
        assert_eq!(problem("title = { en = \"T\" }\n"), (1, "missing field `summary`".into()));
        assert!(problem("title = {").1.len() > 5, "a syntax error has the parser's message");
    }

    #[test]
    fn a_file_reads_with_its_places() {
        let source = "title = { en = \"T\", zh-CN = \"题\" }\nsummary.en = \"S\"\n[lab]\nseed = 7\nsetup = [\"A: SET k v\"]\n\
                      [[step]]\ntext.en = \"x\"\n[step.question]\ntext.en = \"q\"\nnumber = \"1\"\nanswer = 1.5\nexplain.en = \"e\"\n";
        let raw = read(source).ok().expect("read");
        assert_eq!(raw.title.get("zh-CN").map(String::as_str), Some("题"));
        assert_eq!(raw.lab.seed, Some(7));
        assert_eq!(raw.lab.setup[0].get_ref(), "A: SET k v");
        assert_eq!(&source[raw.lab.setup[0].span()], "\"A: SET k v\"");
        let q = raw.steps[0].question.as_ref().expect("a question");
        assert_eq!((*q.answer.get_ref(), q.tolerance), (1.5, 0.0));
    }
}
