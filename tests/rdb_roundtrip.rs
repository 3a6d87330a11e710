//! Round trips of random datasets of every type, with expiries, through our RDB writer and
//! reader (and again on wasm32 under Node).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use redis_repl_lab::keyspace::{HashValue, Keyspace, SetValue, Value, ZSetValue};
use redis_repl_lab::rdb::{read_rdb, write_rdb, AuxInfo};

fn bytes(rng: &mut ChaCha8Rng) -> Vec<u8> {
    match rng.next_u32() % 5 {
        0 => (rng.next_u32() as i32).to_string().into_bytes(),
        1 => vec![b'a' + (rng.next_u32() % 26) as u8; 1 + (rng.next_u32() % 200) as usize],
        2 => (0..(rng.next_u32() % 40)).map(|_| rng.next_u32() as u8).collect(),
        3 => format!("{}", rng.next_u64()).into_bytes(),
        _ => b"".to_vec(),
    }
}

fn dataset(seed: u64) -> Keyspace {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ks = Keyspace::default();
    for i in 0..300 {
        let db = (rng.next_u32() % 16) as usize;
        let n = 1 + (rng.next_u32() % 20) as usize;
        let value = match rng.next_u32() % 5 {
            0 => Value::Str(bytes(&mut rng)),
            1 => Value::List((0..n).map(|_| bytes(&mut rng)).collect()),
            2 => {
                let mut h = HashValue::default();
                (0..n).for_each(|_| {
                    h.insert(bytes(&mut rng), bytes(&mut rng));
                });
                Value::Hash(h)
            }
            3 => {
                let mut s = SetValue::new();
                (0..n).for_each(|_| {
                    s.insert(bytes(&mut rng));
                });
                Value::Set(s)
            }
            _ => {
                let mut z = ZSetValue::default();
                (0..n).for_each(|_| {
                    let score = match rng.next_u32() % 4 {
                        0 => f64::INFINITY,
                        1 => (rng.next_u32() as i32) as f64 / 7.0,
                        _ => (rng.next_u32() % 100) as f64,
                    };
                    z.insert(bytes(&mut rng), score);
                });
                Value::ZSet(z)
            }
        };
        let key = format!("k{i}").into_bytes();
        ks.db_mut(db).set(key.clone(), value);
        if rng.next_u32() % 3 == 0 {
            ks.db_mut(db).set_expire(&key, 1_700_000_000_000 + (rng.next_u32() as i64));
        }
    }
    ks
}

#[test]
fn random_datasets_of_every_type_survive_a_round_trip() {
    for seed in 0..20 {
        let ks = dataset(seed);
        let info = AuxInfo { ctime_secs: 1, used_mem: 2, repl: Some((3, "f".repeat(40), 99)) };
        let file = read_rdb(&write_rdb(&ks, &info)).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(file.keyspace.digest(), ks.digest(), "seed {seed}");
        for (i, db) in ks.dbs() {
            for (k, v, exp) in db.entries_sorted() {
                let back = file.keyspace.db(i);
                assert_eq!(back.expire_at(k), exp, "seed {seed} key {k:?}");
                if let Value::Hash(_) | Value::List(_) = v {
                    assert_eq!(back.get_raw(k), Some(v), "order kept: seed {seed} key {k:?}");
                }
            }
        }
        assert_eq!(file.aux_int("repl-offset"), Some(99));
    }
}
